// `sagewai-sandbox validate IMAGE`: the compatibility test for sandbox images
// (the six checks of the BYO-image docs, then a few more), against a
// container started the way production starts one.
#ifndef SAGEWAI_CLI_VALIDATE_COMMAND_H_
#define SAGEWAI_CLI_VALIDATE_COMMAND_H_

#include <string>
#include <vector>

namespace sagewai::cli {

extern const char kValidateHelp[];

int RunValidateCommand(const std::vector<std::string>& args);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_VALIDATE_COMMAND_H_
