#include "cli/validate_command.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/docker.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/subprocess.h"
#include "cli/validate_container.h"
#include "cli/validate_probes.h"
#include "cli/validate_report.h"

namespace sagewai::cli {

const char kValidateHelp[] =
    R"(usage: sagewai-sandbox validate IMAGE [--runtime RUNTIME] [--keep]

Checks that IMAGE works as a Sagewai sandbox. Pulls it when it is not present
locally, starts it the way the worker does (--cap-drop ALL plus SETUID, SETGID
and SETPCAP, no-new-privileges, a read-only root, a noexec /tmp, --network
none, pid/memory/CPU limits, a scratch /workspace, the runner's socket in a
private host directory mounted at /run/sagewai, a random SESSION_TOKEN), talks
to the runner over that socket, and prints each check as it completes:

  ✓ image pulled (digest sha256:…)
  ✓ container starts
  ✓ sagewai-tool-runner --version → 0.1.0 (compatible)
  ✓ bash echo round-trip → 1.3 ms
  ✓ /workspace writable
  ✓ env scrub: HOST_SECRET not visible
  ✓ PID 1 is sagewai-entrypoint
  ✓ tools run unprivileged (uid 1000, CapEff 0, NoNewPrivs 1)
  ✓ a tool cannot signal the runner (kill -0 → EPERM)
  ✓ a tool cannot replace the runner's socket (unlink, rename → refused)
  ✓ stdio protocol (docker exec -i … sagewai-tool-runner) → ok in 95 ms
  ✓ docker stop → 0.2 s
  PASS — image is compatible with this SDK

The version must satisfy >=0.1,<0.2 (PEP 440; pre-releases excluded). The
env scrub fails when a tool can see HOST_SECRET (set in validate's own
environment, as on a worker host) or the values given to the container as
SESSION_TOKEN, SESSION_ID and CONTROL_PLANE_URL, in its environment,
/proc/1/environ or any /proc/*/environ. The two isolation checks run a tool
that tries to kill -0 the runner and to remove or rename over its socket
(undoing whatever it managed); they pass when the kernel refuses (EPERM,
EACCES): the runner runs as its own user `sagewai` (uid 900). When the
runner reports that tools share its uid, a line starting with ⚠ says so (a
warning, not a failure). A failed check prints ✗ and what to do. The
container and the temporary directories are always removed.

Options:
  --runtime RUNTIME  runtime for docker run, e.g. runsc (gVisor)
  --keep             keep the container running and the temporary
                     directories (skips the docker stop check)
  --docker PATH      the docker CLI (default: docker in PATH)
  --start-timeout SECONDS
                     how long the runner may take to serve (default 20)
  -h, --help         show this help

Exit status: 0 all checks passed; 1 a check failed; 2 usage error; 69 Docker
is not available; 74 temporary directories could not be made; 130 interrupted.
)";

namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted = true; }

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

bool Interrupted() { return g_interrupted.load(); }

// Docker first (the CLI, then the engine), then the image, the container and
// the probes; the container and directories are removed before the verdict.
int Validate(const ValidateOptions& options) {
  const Docker docker(options.docker, &g_interrupted);
  absl::StatusOr<std::string> docker_path = FindInPath(options.docker);
  if (!docker_path.ok()) {
    printf("✗ docker: %s\n  → install the Docker CLI and engine, or pass --docker PATH\n",
           std::string(docker_path.status().message()).c_str());
    return kExitUnavailable;
  }
  absl::StatusOr<std::string> server = docker.ServerVersion();
  if (!server.ok()) {
    printf("✗ docker: %s\n  → start the Docker daemon (or set DOCKER_HOST) and retry\n",
           std::string(server.status().message()).c_str());
    return Interrupted() ? 130 : kExitUnavailable;
  }
  CheckReport report(&g_interrupted);
  ValidateContainer container(options, docker, report, &g_interrupted);
  // The verdict comes after the clean-up, as the last line.
  auto finish = [&] {
    if (Interrupted()) {
      report.Interrupted();
      container.Cleanup();
      return 130;
    }
    container.Cleanup();
    return report.Verdict();
  };
  if (!container.PullImage() || Interrupted()) return finish();
  if (!container.MakeDirectories()) {
    fprintf(stderr, "cannot make temporary directories for the container (set TMPDIR)\n");
    container.Cleanup();
    return kExitIoErr;
  }
  if (!container.Start() || Interrupted()) return finish();
  ImageProbes(options, docker, container, report, &g_interrupted).RunAll();
  return finish();
}

}  // namespace

int RunValidateCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {{"runtime", true},
                                               {"keep", false},
                                               {"docker", true},
                                               {"start-timeout", true},
                                               {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  if (parsed.ok() && !parsed->Has("help")) {
    if (parsed->positionals.size() != 1) {
      parsed = absl::InvalidArgumentError(parsed->positionals.empty() ? "no IMAGE given"
                                                                      : "give exactly one IMAGE");
    } else if (parsed->positionals[0].empty() || parsed->positionals[0][0] == '-') {
      parsed = absl::InvalidArgumentError(
          absl::StrCat("\"", parsed->positionals[0], "\" is not an image reference"));
    } else if (std::optional<std::string> rt = parsed->Last("runtime");
               rt && (rt->empty() || (*rt)[0] == '-')) {
      parsed = absl::InvalidArgumentError(absl::StrCat("--runtime \"", *rt, "\" is not a runtime"));
    }
  }
  absl::Duration start_timeout = absl::Seconds(20);
  if (parsed.ok()) {
    if (std::optional<std::string> t = parsed->Last("start-timeout")) {
      double seconds = 0;
      if (!absl::SimpleAtod(*t, &seconds) || !(seconds > 0) || seconds > 3600) {
        parsed = absl::InvalidArgumentError(
            absl::StrCat("--start-timeout ", *t, ": expected seconds (0 < s <= 3600)"));
      } else {
        start_timeout = absl::Milliseconds(static_cast<int64_t>(seconds * 1000));
      }
    }
  }
  if (!parsed.ok()) {
    fprintf(stderr, "sagewai-sandbox validate: %s (see --help)\n",
            std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    fputs(kValidateHelp, stdout);
    return kExitOk;
  }
  ValidateOptions options;
  options.image = parsed->positionals[0];
  options.runtime = parsed->Last("runtime").value_or("");
  options.docker = parsed->Last("docker").value_or("docker");
  options.keep = parsed->Has("keep");
  options.start_timeout = start_timeout;
  InstallInterruptHandlers();
  return Validate(options);
}

}  // namespace sagewai::cli
