#include "tool-runner/code_eval/code_eval_protocol.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/json_reader.h"

namespace sagewai::code_eval {
namespace {

absl::StatusOr<std::string> StringMember(const json::Value& object, absl::string_view key) {
  const json::Value* v = object.Find(key);
  if (v == nullptr || !v->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("driver event: \"", key, "\" is not a string"));
  }
  return std::string(*v->AsString());
}

absl::StatusOr<uint64_t> SeqMember(const json::Value& object) {
  const json::Value* v = object.Find("seq");
  std::optional<int64_t> seq = v == nullptr ? std::nullopt : v->AsInt();
  if (!seq.has_value() || *seq < 0) {
    return absl::InvalidArgumentError("driver event: \"seq\" is not a non-negative integer");
  }
  return static_cast<uint64_t>(*seq);
}

absl::Status ParseDisplay(const json::Value& object, DriverEvent& event) {
  const json::Value* data = object.Find("data");
  if (data == nullptr || !data->is_object()) {
    return absl::InvalidArgumentError("driver event: display without a \"data\" object");
  }
  std::map<std::string, bool> base64;
  if (const json::Value* b64 = object.Find("b64"); b64 != nullptr && b64->is_array()) {
    for (const json::Value& mime : *b64->AsArray()) {
      if (mime.is_string()) base64[std::string(*mime.AsString())] = true;
    }
  }
  for (const auto& [mime, value] : *data->AsObject()) {
    if (!value.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("driver event: display data for ", mime, " is not a string"));
    }
    absl::string_view text = *value.AsString();
    if (base64.count(mime) > 0) {
      std::string bytes;
      if (!absl::Base64Unescape(text, &bytes)) {
        return absl::InvalidArgumentError(
            absl::StrCat("driver event: display data for ", mime, " is not valid base64"));
      }
      event.data[mime] = std::move(bytes);
    } else {
      event.data[mime] = std::string(text);
    }
  }
  if (const json::Value* r = object.Find("result"); r != nullptr && r->is_bool()) {
    event.is_result = *r->AsBool();
  }
  return absl::OkStatus();
}

absl::Status ParseDone(const json::Value& object, DriverEvent& event) {
  if (const json::Value* dead = object.Find("dead"); dead != nullptr && dead->is_bool()) {
    event.dead = *dead->AsBool();
  }
  const json::Value* error = object.Find("error");
  if (error == nullptr || error->is_null()) return absl::OkStatus();
  if (!error->is_object()) {
    return absl::InvalidArgumentError("driver event: \"error\" is neither null nor an object");
  }
  ErrorInfo info;
  for (auto [key, field] : {std::pair<absl::string_view, std::string*>{"name", &info.name},
                            {"message", &info.message},
                            {"traceback", &info.traceback}}) {
    if (const json::Value* v = error->Find(key); v != nullptr && v->is_string()) {
      *field = std::string(*v->AsString());
    }
  }
  if (info.name.empty()) info.name = "Error";
  event.error = std::move(info);
  return absl::OkStatus();
}

}  // namespace

std::string EncodeRequest(absl::string_view op, uint64_t seq, absl::string_view payload) {
  return absl::StrCat(op, " ", seq, " ", payload.size(), "\n", payload);
}

absl::StatusOr<DriverEvent> ParseDriverEvent(absl::string_view line) {
  auto parsed = json::Parse(line);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return absl::InvalidArgumentError("driver event: not a JSON object");
  auto ev = StringMember(*parsed, "ev");
  if (!ev.ok()) return ev.status();
  DriverEvent event;
  if (*ev == "ready") {
    event.kind = DriverEvent::Kind::kReady;
    if (auto lang = StringMember(*parsed, "language"); lang.ok()) event.language = *lang;
    if (auto version = StringMember(*parsed, "version"); version.ok()) event.version = *version;
    return event;
  }
  auto seq = SeqMember(*parsed);
  if (!seq.ok()) return seq.status();
  event.seq = *seq;
  if (*ev == "display") {
    event.kind = DriverEvent::Kind::kDisplay;
    if (absl::Status st = ParseDisplay(*parsed, event); !st.ok()) return st;
    return event;
  }
  if (*ev == "done") {
    event.kind = DriverEvent::Kind::kDone;
    if (absl::Status st = ParseDone(*parsed, event); !st.ok()) return st;
    return event;
  }
  return absl::InvalidArgumentError(absl::StrCat("driver event: unknown kind \"", *ev, "\""));
}

void LineSplitter::Feed(absl::string_view data,
                        const std::function<void(absl::string_view)>& on_line,
                        const std::function<void(size_t)>& on_overflow) {
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    const absl::string_view piece = nl == absl::string_view::npos ? data : data.substr(0, nl);
    if (discarding_) {
      discarded_ += piece.size();
    } else if (partial_.size() + piece.size() > max_line_) {
      discarding_ = true;
      discarded_ = partial_.size() + piece.size();
      std::string().swap(partial_);
    } else if (nl != absl::string_view::npos && partial_.empty()) {
      on_line(piece);  // the common case: a whole line in one read, no copy
    } else {
      partial_.append(piece.data(), piece.size());
      if (nl != absl::string_view::npos) {
        on_line(partial_);
        partial_.clear();
      }
    }
    if (nl == absl::string_view::npos) return;
    if (discarding_) {
      on_overflow(discarded_);
      discarding_ = false;
      discarded_ = 0;
    }
    data.remove_prefix(nl + 1);
  }
}

}  // namespace sagewai::code_eval
