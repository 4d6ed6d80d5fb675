#include "common/grpc_client_auth.h"

#include <atomic>
#include <mutex>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/session_auth.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai {
namespace {

namespace sa = session_auth;
namespace v1 = ::sagewai::sandbox::v1;
using grpc::experimental::InterceptionHookPoints;

constexpr absl::string_view kRefusalPayload = "type.sagewai.dev/auth-refusal";

// Methods the runner serves without authorization: no seq is spent on them.
bool IsOpenMethod(absl::string_view method) {
  return absl::StartsWith(method, "/grpc.health.v1.Health/") ||
         absl::StartsWith(method, "/grpc.reflection.") ||
         absl::StartsWith(method, "/sagewai.sandbox.v1.Auth/");
}

class CallSigner {
 public:
  virtual ~CallSigner() = default;
  virtual std::string Authorize(absl::string_view method) = 0;
};

class HmacSigner final : public CallSigner {
 public:
  HmacSigner(sa::SessionKey key, std::string nonce)
      : key_(std::move(key)), nonce_(std::move(nonce)) {}

  std::string Authorize(absl::string_view method) override {
    const uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
    return sa::FormatAuthorization(nonce_, seq, sa::CallMac(key_, nonce_, seq, method));
  }

 private:
  const sa::SessionKey key_;
  const std::string nonce_;
  std::atomic<uint64_t> next_seq_{1};
};

class BearerSigner final : public CallSigner {
 public:
  explicit BearerSigner(absl::string_view token) : header_(absl::StrCat("Bearer ", token)) {}
  ~BearerSigner() override { sa::SecureWipe(&header_); }
  std::string Authorize(absl::string_view) override { return header_; }

 private:
  std::string header_;
};

// Filled once the runner has proved itself; until then calls carry nothing.
class SignerSlot {
 public:
  void Set(std::shared_ptr<CallSigner> signer) {
    std::lock_guard<std::mutex> lock(mu_);
    signer_ = std::move(signer);
  }
  std::shared_ptr<CallSigner> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return signer_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<CallSigner> signer_;
};

class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(std::shared_ptr<CallSigner> signer, const char* method)
      : signer_(std::move(signer)), method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* metadata = methods->GetSendInitialMetadata();
      // A caller that set its own (a test sending a crafted header) keeps it.
      if (metadata->find("authorization") == metadata->end()) {
        metadata->emplace("authorization", signer_->Authorize(method_));
      }
    }
    methods->Proceed();
  }

 private:
  std::shared_ptr<CallSigner> signer_;
  const char* method_;
};

class AuthInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(std::shared_ptr<SignerSlot> slot) : slot_(std::move(slot)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    if (info->method() == nullptr || IsOpenMethod(info->method())) return nullptr;
    std::shared_ptr<CallSigner> signer = slot_->Get();
    if (signer == nullptr) return nullptr;
    return new AuthInterceptor(std::move(signer), info->method());
  }

 private:
  std::shared_ptr<SignerSlot> slot_;
};

absl::Status Refusal(absl::StatusCode code, std::string message) {
  absl::Status status(code, std::move(message));
  status.SetPayload(kRefusalPayload, absl::Cord("1"));
  return status;
}

// What a peer sent, fit to quote: printable ASCII, bounded.
std::string Quote(absl::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return absl::StrCat("\"", out, text.size() > 40 ? "…" : "", "\"");
}

absl::Status CheckAnswer(const v1::ChallengeResponse& answer, const sa::SessionKey& key,
                         absl::string_view client_nonce, const ClientAuthOptions& options) {
  const std::string nothing_sent = "nothing secret was sent";
  if (answer.scheme() != sa::kScheme) {
    return Refusal(
        absl::StatusCode::kFailedPrecondition,
        absl::StrCat("the runner at ", options.peer, " answered the challenge with scheme ",
                     Quote(answer.scheme()), ", not ", sa::kScheme,
                     " — it is not a runner this client can authenticate; ", nothing_sent));
  }
  const std::string& proof = answer.server_proof();
  if (answer.server_nonce().size() != sa::kServerNonceSize || proof.size() != sizeof(sa::Digest) ||
      !sa::ConstantTimeEquals(proof, [&] {
        const sa::Digest d = sa::ServerProof(key, client_nonce, answer.server_nonce());
        return std::string(reinterpret_cast<const char*>(d.data()), d.size());
      }())) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   absl::StrCat("the peer at ", options.peer,
                                " could not prove it holds the session key: it is not this "
                                "sandbox's runner, or ",
                                options.token_source,
                                " is not the token the sandbox was started "
                                "with — ",
                                nothing_sent, "; check the address and the token"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsAuthRefusal(const absl::Status& status) {
  return status.GetPayload(kRefusalPayload).has_value();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> NewAuthenticatedChannel(
    const ChannelMaker& make_channel, absl::string_view token, const ClientAuthOptions& options) {
  auto slot = std::make_shared<SignerSlot>();
  InterceptorFactories interceptors;
  interceptors.push_back(std::make_unique<AuthInterceptorFactory>(slot));
  std::shared_ptr<grpc::Channel> channel = make_channel(std::move(interceptors));
  if (channel == nullptr) return absl::InternalError("could not create a gRPC channel");
  if (token.empty()) return channel;

  absl::StatusOr<std::string> client_nonce = sa::RandomBytes(sa::kClientNonceSize);
  if (!client_nonce.ok()) return client_nonce.status();
  v1::ChallengeRequest request;
  request.set_client_nonce(*client_nonce);
  v1::ChallengeResponse answer;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  context.set_wait_for_ready(options.wait_for_ready);
  const grpc::Status status = v1::Auth::NewStub(channel)->Challenge(&context, request, &answer);

  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    if (!options.allow_bearer) {
      return Refusal(
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat("the runner at ", options.peer,
                       " has no Auth.Challenge (a runner older than this client, or not a "
                       "sagewai-tool-runner): refusing to send the session token in plain, "
                       "nothing secret was sent — use an image with a current "
                       "sagewai-tool-runner, or pass --allow-bearer (SAGEWAI_ALLOW_BEARER=1) "
                       "for an old runner you trust"));
    }
    slot->Set(std::make_shared<BearerSigner>(token));
    if (options.on_bearer_fallback) options.on_bearer_fallback();
    return channel;
  }
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return Refusal(absl::StatusCode::kFailedPrecondition,
                   absl::StrCat("the runner at ", options.peer,
                                " says it has no session token, but ", options.token_source,
                                " was given: it is not the sandbox that token belongs to "
                                "(nothing secret was sent) — check the address, or give no "
                                "token to a runner started without one"));
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  sa::SessionKey key = sa::DeriveSessionKey(token);
  if (absl::Status st = CheckAnswer(answer, key, *client_nonce, options); !st.ok()) return st;
  slot->Set(std::make_shared<HmacSigner>(std::move(key), answer.server_nonce()));
  return channel;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> NewAuthenticatedChannel(
    const std::string& target, const grpc::ChannelArguments& args, absl::string_view token,
    ClientAuthOptions options) {
  if (options.peer.empty()) options.peer = target;
  return NewAuthenticatedChannel(
      [&](InterceptorFactories interceptors) {
        return grpc::experimental::CreateCustomChannelWithInterceptors(
            target, grpc::InsecureChannelCredentials(), args, std::move(interceptors));
      },
      token, options);
}

}  // namespace sagewai
