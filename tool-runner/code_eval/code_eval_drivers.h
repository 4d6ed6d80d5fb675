// The driver programs of drivers/, as compiled-in text (the definitions are
// generated from the files at build time by drivers/embed.cmake).
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_DRIVERS_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_DRIVERS_H_

#include "absl/strings/string_view.h"

namespace sagewai::code_eval::drivers {

extern const absl::string_view kPython;  // drivers/python_driver.py
extern const absl::string_view kNode;    // drivers/node_driver.js
extern const absl::string_view kBash;    // drivers/bash_driver.sh

}  // namespace sagewai::code_eval::drivers

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_DRIVERS_H_
