// The lifecycle subcommands of sagewai-sandbox (Docker backend, through the
// docker CLI): start, stop, run, list, reap — and doctor (sandbox_doctor.h).
#ifndef SAGEWAI_CLI_SANDBOX_COMMANDS_H_
#define SAGEWAI_CLI_SANDBOX_COMMANDS_H_

#include <string>
#include <vector>

namespace sagewai::cli {

extern const char kStartHelp[];
extern const char kStopHelp[];
extern const char kRunHelp[];
extern const char kListHelp[];
extern const char kReapHelp[];
extern const char kDoctorHelp[];

int RunStartCommand(const std::vector<std::string>& args);
int RunStopCommand(const std::vector<std::string>& args);
int RunRunCommand(const std::vector<std::string>& args);
int RunListCommand(const std::vector<std::string>& args);
int RunReapCommand(const std::vector<std::string>& args);
int RunDoctorCommand(const std::vector<std::string>& args);

// The help text of one of the commands above, or nullptr.
const char* LifecycleHelp(const std::string& command);

// Runs one of the commands above; false when `command` is none of them.
bool RunLifecycleCommand(const std::string& command, const std::vector<std::string>& args,
                         int* exit_code);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_COMMANDS_H_
