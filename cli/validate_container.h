// The container `validate` tests: the image pulled when missing, private
// temporary directories for /workspace and the runner's socket, the
// container started the production way with fresh control-plane secrets,
// the connection to its runner, and the removal of all of it at the end.
#ifndef SAGEWAI_CLI_VALIDATE_CONTAINER_H_
#define SAGEWAI_CLI_VALIDATE_CONTAINER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "cli/connection.h"
#include "cli/docker.h"
#include "cli/validate_report.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::cli {

struct ValidateOptions {
  std::string image;
  std::string runtime;
  std::string docker = "docker";
  bool keep = false;
  absl::Duration start_timeout = absl::Seconds(20);
};

// What a check may take to run in the container.
inline constexpr absl::Duration kValidateToolTimeout = absl::Seconds(30);

// Each step reports its ✓ or ✗ through `report`. The destructor cleans up
// (Cleanup()). `docker`, `report` and `interrupted` outlive this object.
class ValidateContainer {
 public:
  ValidateContainer(const ValidateOptions& options, const Docker& docker, CheckReport& report,
                    const std::atomic<bool>* interrupted)
      : options_(options), docker_(docker), report_(report), interrupted_(interrupted) {}
  ~ValidateContainer() { Cleanup(); }
  ValidateContainer(const ValidateContainer&) = delete;
  ValidateContainer& operator=(const ValidateContainer&) = delete;

  // "image pulled": pulls the image when it is not present locally.
  bool PullImage();
  // The temporary directories (mode 0700) under $TMPDIR or /tmp; false (with
  // the reason on stderr) when none could be made.
  bool MakeDirectories();
  // "container starts": docker run, then the wait for the runner to serve.
  // False when the container did not start or exited; a runner that is not
  // serving is not a failure here (serving() says so, the checks report it).
  bool Start();
  // Removes the container and the directories, or with --keep says where
  // they are. Runs once.
  void Cleanup();

  // One Bash.Run of `command` as a tool, within kValidateToolTimeout.
  grpc::Status RunTool(const std::string& command, sagewai::sandbox::v1::BashResult* result);
  // "  container log (last lines):\n" and the log's tail, or "".
  std::string Logs() const;

  const std::string& id() const { return container_; }
  const std::string& workspace_dir() const { return workspace_dir_; }
  const Connection& connection() const { return *connection_; }
  bool serving() const { return serving_; }
  const std::string& not_serving_reason() const { return not_serving_reason_; }
  // name -> value of everything a tool must not see: HOST_SECRET and the
  // control-plane variables the container was given.
  const std::map<std::string, std::string>& secrets() const { return secrets_; }

 private:
  bool Interrupted() const { return interrupted_ != nullptr && interrupted_->load(); }

  const ValidateOptions& options_;
  const Docker& docker_;
  CheckReport& report_;
  const std::atomic<bool>* interrupted_;
  std::string base_dir_;
  std::string workspace_dir_;
  std::string socket_dir_;
  std::string container_;
  std::unique_ptr<Connection> connection_;
  bool serving_ = false;
  std::string not_serving_reason_;
  std::map<std::string, std::string> secrets_;
  bool cleaned_ = false;
};

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_VALIDATE_CONTAINER_H_
