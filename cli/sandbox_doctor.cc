// `sagewai-sandbox doctor`: is this host ready for `start`? The engine and
// its version, the runtimes, cgroup limits, the image, the state directory —
// each a ✓ or a ✗ with what to do — and, with --probe, a real start, echo and
// stop.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/connection.h"
#include "cli/docker.h"
#include "cli/doctor_runtimes.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/random_hex.h"
#include "cli/sandbox_commands.h"
#include "cli/sandbox_launch.h"
#include "cli/sandbox_start.h"
#include "cli/sandbox_state.h"
#include "common/json_reader.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

const char kDoctorHelp[] =
    R"(usage: sagewai-sandbox doctor [--image IMG] [--runtime R] [--probe] [--docker PATH]

Checks what `start` needs and prints one line per check: ✓, ✗ with what to do,
or - for something optional that is missing:

  docker CLI, engine reachable and its version, runtimes (runc; runsc when
  installed), cgroup version and the memory/pids/CPU limits, storage driver
  and how --disk is enforced, the image (default sandbox-base:)" SAGEWAI_VERSION R"(),
  whether each runtime works (runc, gVisor's runsc and --runtime R: a
  `docker run --rm --runtime R IMAGE true`; for gVisor also whether the host
  can reach the runner's unix socket), the state directory and socket path
  length.

  --image IMG   the image to look for (default sandbox-base:)" SAGEWAI_VERSION R"()
  --runtime R   also check that runtime R is registered
  --probe       also start a sandbox, run `echo` in it and stop it

Exit status: 0 nothing start needs is missing; 1 something is (see the ✗
lines); 2 usage.
)";

namespace {

namespace pb = sagewai::sandbox::v1;

class Doctor {
 public:
  Doctor(std::string docker, std::string image, std::string runtime)
      : docker_binary_(std::move(docker)),
        docker_(docker_binary_),
        image_(std::move(image)),
        runtime_(std::move(runtime)) {}

  int Run(bool probe);

 private:
  void Pass(const std::string& text) { printf("✓ %s\n", text.c_str()); }
  void Note(const std::string& text) { printf("- %s\n", text.c_str()); }
  void Fail(const std::string& text, const std::string& remedy) {
    ++failed_;
    printf("✗ %s\n", text.c_str());
    if (!remedy.empty()) printf("  → %s\n", remedy.c_str());
  }

  void Say(const DoctorLine& line);
  bool CheckCli();
  bool CheckEngine();
  void CheckInfo();
  // True when the image is there (the runtime probes run it).
  bool CheckImage();
  void CheckRuntimes(bool image_present);
  // `docker run --rm --runtime RUNTIME OPTIONS… IMAGE ARG`, without a network.
  RuntimeProbe ProbeRuntime(const std::string& runtime, const std::vector<std::string>& options,
                            const std::string& arg);
  void CheckStateDir();
  void Probe();

  std::string docker_binary_;
  Docker docker_;
  std::string image_;
  std::string runtime_;
  std::vector<RuntimeEntry> runtimes_;
  std::string default_runtime_;
  int failed_ = 0;
};

void Doctor::Say(const DoctorLine& line) {
  switch (line.kind) {
    case DoctorLine::Kind::kPass:
      Pass(line.text);
      break;
    case DoctorLine::Kind::kNote:
      Note(line.text);
      break;
    case DoctorLine::Kind::kFail:
      Fail(line.text, line.remedy);
      break;
  }
}

bool Doctor::CheckCli() {
  absl::StatusOr<std::string> path = FindInPath(docker_binary_);
  if (!path.ok()) {
    Fail(absl::StrCat("docker CLI: ", path.status().message()),
         "install it (Debian: apt-get install docker.io; or Docker's docker-ce-cli), or pass "
         "--docker PATH");
    return false;
  }
  absl::StatusOr<ProcessResult> v =
      docker_.Run({"version", "--format", "{{.Client.Version}}"}, absl::Seconds(30));
  std::string version = v.ok() ? std::string(absl::StripAsciiWhitespace(LastLine(v->out))) : "";
  Pass(
      absl::StrCat("docker CLI: ", *path, version.empty() ? "" : absl::StrCat(" (", version, ")")));
  return true;
}

bool Doctor::CheckEngine() {
  absl::StatusOr<ProcessResult> r = docker_.Run(
      {"version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"}, absl::Seconds(30));
  std::vector<std::string> f;
  if (r.ok() && r->exit_code == 0) f = absl::StrSplit(absl::StripAsciiWhitespace(r->out), ' ');
  const char* host = getenv("DOCKER_HOST");
  const std::string where = host != nullptr && *host != '\0' ? host : "the default socket";
  if (f.size() < 2 || f[0].empty()) {
    std::string why = !r.ok()        ? std::string(r.status().message())
                      : r->timed_out ? "no answer within 30 s"
                                     : DockerErrorLine(r->err);
    Fail(absl::StrCat("engine at ", where, " does not answer: ", why.empty() ? "no details" : why),
         EngineDownRemedy());
    return false;
  }
  Pass(absl::StrCat("engine reachable at ", where, ": Docker ", f[0], " (API ", f[1], ")"));
  return true;
}

void Doctor::CheckInfo() {
  absl::StatusOr<ProcessResult> r = docker_.Run(
      {"info", "--format",
       "{{.Driver}}\t{{.CgroupVersion}}\t{{.CgroupDriver}}\t{{.DefaultRuntime}}\t{{.MemoryLimit}}"
       "\t{{.PidsLimit}}\t{{.CPUCfsQuota}}\t{{.NCPU}}\t{{json .SecurityOptions}}\t{{json "
       ".Runtimes}}"},
      absl::Seconds(30));
  std::vector<std::string> f;
  if (r.ok() && r->exit_code == 0) {
    f = absl::StrSplit(absl::StripTrailingAsciiWhitespace(r->out), '\t');
  }
  if (f.size() < 10) {
    Fail("docker info gave no usable answer",
         "check the engine's health (docker info) and its log");
    return;
  }
  const std::string& driver = f[0];
  const std::string& cgroup_version = f[1];
  const std::string& cgroup_driver = f[2];
  const std::string& default_runtime = f[3];
  const std::string& runtimes_json = f[9];

  // Runtimes: the keys of {"runc": {"path": "runc"}, "runsc": {...}}.
  if (absl::StatusOr<std::vector<RuntimeEntry>> parsed = ParseRuntimes(runtimes_json);
      parsed.ok()) {
    runtimes_ = *std::move(parsed);
  }
  default_runtime_ = default_runtime;
  std::vector<std::string> runtimes;
  for (const RuntimeEntry& r : runtimes_) runtimes.push_back(r.name);
  auto has = [&](const std::string& name) {
    return std::find(runtimes.begin(), runtimes.end(), name) != runtimes.end();
  };
  if (has("runc") || default_runtime == "runc") {
    Pass(absl::StrCat("runtimes: ", absl::StrJoin(runtimes, ", "), " (default ", default_runtime,
                      ")"));
  } else {
    Fail(absl::StrCat("runtimes: runc is not registered (", absl::StrJoin(runtimes, ", "), ")"),
         "install runc (Debian: runc) and restart dockerd");
  }
  const bool gvisor_registered = std::any_of(runtimes_.begin(), runtimes_.end(), IsGVisor);
  absl::StatusOr<std::string> runsc = FindInPath("runsc");
  if (!gvisor_registered && runsc.ok()) {
    Note(absl::StrCat("gVisor: ", *runsc,
                      " is installed but not registered with the engine (optional): add "
                      "{\"runtimes\": {\"runsc\": {\"path\": \"",
                      *runsc,
                      "\", \"runtimeArgs\": [\"--platform=ptrace\", \"--network=none\", "
                      "\"--host-uds=create\"]}}} to /etc/docker/daemon.json and reload dockerd "
                      "(SAGEWAI_RUNTIMES=runc,runsc scripts/ensure-docker.sh does it)"));
  } else if (!gvisor_registered) {
    Note(
        "gVisor (runsc) is not installed (optional: a stronger sandbox boundary; "
        "SAGEWAI_RUNTIMES=runc,runsc scripts/ensure-docker.sh installs and registers it for "
        "`start --runtime runsc`)");
  }
  if (!runtime_.empty() && !has(runtime_)) {
    Fail(absl::StrCat("runtime ", runtime_, " is not registered with the engine"),
         absl::StrCat("install it and register it in /etc/docker/daemon.json, then restart "
                      "dockerd; registered: ",
                      absl::StrJoin(runtimes, ", ")));
  }

  std::vector<std::string> missing;
  if (f[4] != "true") missing.push_back("memory (--mem)");
  if (f[5] != "true") missing.push_back("pids (--pids)");
  if (f[6] != "true") missing.push_back("CPU quota (--cpu)");
  const std::string cgroups = absl::StrCat(
      "cgroup v", cgroup_version.empty() ? "?" : cgroup_version, " (", cgroup_driver, " driver)");
  if (missing.empty()) {
    Pass(absl::StrCat(cgroups, ": memory, pids and CPU limits available; ", f[7], " CPUs"));
  } else {
    Fail(absl::StrCat(cgroups, ": the engine cannot enforce ", absl::StrJoin(missing, ", ")),
         "enable those cgroup controllers (cgroup v2: delegate memory, pids and cpu to the "
         "engine's cgroup; v1: mount their hierarchies, e.g. cgroup_enable=memory on the kernel "
         "command line), then restart dockerd");
  }
  if (absl::StrContains(f[8], "rootless")) {
    Note(
        "rootless engine: uid 1000 in the sandbox is a subordinate uid on the host; start opens "
        "the socket directory to it (mode 0777 inside the private 0700 state directory)");
  }
  Pass(absl::StrCat("storage driver ", driver,
                    ": --disk is enforced with a tmpfs of that size at /workspace (any driver; "
                    "--storage-opt size= would limit only the container's writable layer, which "
                    "a read-only root never writes)"));
}

bool Doctor::CheckImage() {
  absl::StatusOr<std::optional<ImageIdentity>> identity = docker_.InspectImage(image_);
  if (!identity.ok()) {
    Fail(absl::StrCat("image ", image_, ": ", identity.status().message()), "");
    return false;
  }
  if (!identity->has_value()) {
    Fail(absl::StrCat("image ", image_,
                      " is not present locally (start pulls it; without a "
                      "registry that fails)"),
         "build it: make images (or scripts/build-images.sh base); or docker pull / docker load "
         "it; or name another with --image");
    return false;
  }
  absl::StatusOr<ProcessResult> size =
      docker_.Run({"image", "inspect", "--format", "{{.Size}}", image_}, absl::Seconds(30));
  int64_t bytes = 0;
  std::string size_text;
  if (size.ok() && size->exit_code == 0 &&
      absl::SimpleAtoi(absl::StripAsciiWhitespace(size->out), &bytes)) {
    size_text = absl::StrCat(", ", FormatSize(bytes));
  }
  Pass(absl::StrCat("image ", image_, " present (", DescribeImageIdentity(**identity, image_),
                    size_text, ")"));
  return true;
}

RuntimeProbe Doctor::ProbeRuntime(const std::string& runtime,
                                  const std::vector<std::string>& options, const std::string& arg) {
  const std::string name = absl::StrCat("sagewai-doctor-", RandomHex(6));
  std::vector<std::string> args = {"run",   "--rm",      "--name", name,        "--pull",
                                   "never", "--network", "none",   "--runtime", runtime};
  args.insert(args.end(), options.begin(), options.end());
  args.insert(args.end(), {image_, arg});
  const absl::Time t0 = absl::Now();
  absl::StatusOr<ProcessResult> r = docker_.Run(args, absl::Seconds(60));
  RuntimeProbe probe;
  probe.took = absl::Now() - t0;
  if (!r.ok()) {
    probe.error = std::string(r.status().message());
    return probe;
  }
  probe.exit_code = r->exit_code;
  probe.timed_out = r->timed_out;
  probe.error = DockerErrorLine(r->err);
  if (probe.error.empty()) probe.error = LastLine(r->err);
  if (r->timed_out) docker_.Run({"rm", "-f", name}, absl::Seconds(30)).IgnoreError();
  return probe;
}

void Doctor::CheckRuntimes(bool image_present) {
  for (const RuntimeEntry& runtime : runtimes_) {
    const bool required = runtime.name == (runtime_.empty() ? default_runtime_ : runtime_);
    // runc, gVisor and the ones start would use; not the engine's aliases.
    if (runtime.name != "runc" && !IsGVisor(runtime) && !required) continue;
    std::optional<RuntimeProbe> probe, stat_probe;
    if (image_present) {
      probe = ProbeRuntime(runtime.name, {}, "true");
      if (IsGVisor(runtime) && probe->exit_code == 0) {
        stat_probe = ProbeRuntime(runtime.name, {"--entrypoint", "stat"}, "/");
      }
    }
    for (const DoctorLine& line : RuntimeLines(runtime, required, probe, stat_probe)) Say(line);
  }
}

void Doctor::CheckStateDir() {
  const std::string root = SandboxStateRoot();
  absl::Status made = MakePrivateDir(root);
  if (!made.ok() || ::access(root.c_str(), W_OK | X_OK) != 0) {
    Fail(absl::StrCat("state directory ", root, " is not writable",
                      made.ok() ? "" : absl::StrCat(": ", made.message())),
         absl::StrCat("set ", kStateRootEnv, " to a directory you can write"));
    return;
  }
  const std::string socket = PathsFor(root, NewSandboxId()).socket_path;
  if (socket.size() > 107) {
    Fail(absl::StrCat("state directory ", root, ": socket paths would be ", socket.size(),
                      " bytes, more than unix sockets allow (107)"),
         absl::StrCat("set ", kStateRootEnv, " to a shorter directory"));
    return;
  }
  Pass(absl::StrCat("state directory ", root, " (writable; socket paths ", socket.size(),
                    " bytes of 107)"));
}

void Doctor::Probe() {
  StartOptions options;
  options.image = image_;
  options.runtime = runtime_;
  options.docker = docker_binary_;
  options.start_timeout = absl::Seconds(30);
  StartedSandbox started;
  CliError error;
  if (!StartSandbox(options, /*hold=*/false, nullptr, &started, &error)) {
    Fail(absl::StrCat("probe: ", error.message), "");
    return;
  }
  absl::StatusOr<Address> address = ParseAddress(started.paths.Address());
  absl::StatusOr<Token> token = LoadToken(started.paths.token_file, nullptr);
  std::string echo = "no connection";
  absl::Duration took;
  if (address.ok() && token.ok()) {
    Connection connection(*address, *token);
    auto stub = pb::Bash::NewStub(connection.channel());
    auto context = connection.NewContext(absl::Seconds(30));
    pb::BashRequest request;
    request.set_command("echo probe");
    pb::BashResult result;
    const absl::Time t0 = absl::Now();
    grpc::Status status = stub->Run(context.get(), request, &result);
    took = absl::Now() - t0;
    echo = !status.ok()                   ? connection.Describe(status, "Bash.Run").message
           : result.stdout() != "probe\n" ? absl::StrCat("echo printed \"", result.stdout(), "\"")
                                          : "";
  }
  std::vector<std::string> said;
  absl::Status stopped = StopSandbox(docker_binary_, started.id, absl::Seconds(5), &said);
  if (!echo.empty()) {
    Fail(absl::StrCat("probe: sandbox ", started.id, " started but `echo` failed: ", echo), "");
  } else if (!stopped.ok()) {
    Fail(absl::StrCat("probe: could not stop ", started.id, ": ", stopped.message()), "");
  } else {
    Pass(
        absl::StrFormat("probe: start → SERVING %d ms after docker run (%d ms), echo %.1f ms, "
                        "stopped and removed",
                        static_cast<int>(absl::ToInt64Milliseconds(started.serving_time)),
                        static_cast<int>(absl::ToInt64Milliseconds(started.run_time)),
                        absl::ToDoubleMilliseconds(took)));
  }
}

int Doctor::Run(bool probe) {
  if (CheckCli() && CheckEngine()) {
    CheckInfo();
    CheckRuntimes(CheckImage());
    CheckStateDir();
    if (probe && failed_ == 0) Probe();
  } else {
    CheckStateDir();
  }
  if (failed_ == 0) {
    printf("OK — start has what it needs\n");
  } else {
    printf("PROBLEMS — %d check%s failed: start would fail; see the → lines\n", failed_,
           failed_ == 1 ? "" : "s");
  }
  fflush(stdout);
  return failed_ == 0 ? kExitOk : kExitCheckFailed;
}

}  // namespace

int RunDoctorCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {
      {"image", true}, {"runtime", true}, {"probe", false}, {"docker", true}, {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  if (!parsed.ok() || !parsed->positionals.empty()) {
    fprintf(stderr, "sagewai-sandbox doctor: %s (see --help)\n",
            parsed.ok() ? "unexpected argument" : std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    fputs(kDoctorHelp, stdout);
    return kExitOk;
  }
  Doctor doctor(parsed->Last("docker").value_or("docker"),
                parsed->Last("image").value_or(absl::StrCat("sandbox-base:", SAGEWAI_VERSION)),
                parsed->Last("runtime").value_or(""));
  return doctor.Run(parsed->Has("probe"));
}

}  // namespace sagewai::cli
