// `sagewai-sandbox info`: what Runner.GetInfo says about a runner.
#ifndef SAGEWAI_CLI_INFO_COMMAND_H_
#define SAGEWAI_CLI_INFO_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::cli {

extern const char kInfoHelp[];

// Aligned "key: value" lines for people.
std::string FormatInfoText(const sagewai::sandbox::v1::GetInfoResponse& info,
                           const std::string& address);
// One JSON object with the proto's field names (numbers as numbers), plus
// "address"; ends with a newline.
std::string FormatInfoJson(const sagewai::sandbox::v1::GetInfoResponse& info,
                           const std::string& address);
// "250 ms", "1.5 s", "2 min 5 s", "3 h 2 min".
std::string FormatMillis(uint64_t ms);

int RunInfoCommand(const std::vector<std::string>& args);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_INFO_COMMAND_H_
