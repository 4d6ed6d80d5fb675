# The agent identity and the control-plane secrets: user resolution, the
# privilege drop, environment scrubbing and the secret hand-off. Shared by the
# entrypoint (static PID 1) and the tool-runner (its stdio mode repeats the
# drop because `docker exec` bypasses PID 1).
#
# The entrypoint calls only the Abseil-free functions of these modules: in a
# static binary, Debian's absl::Status drags in iostream and locale (~1 MB).

# Start-up code only: optimized for size, which the entrypoint's 1 MiB budget
# needs (about 80 KB less than -O2).
function(_sagewai_agent_module name)
  add_library(sagewai_${name} STATIC ${ARGN})
  target_include_directories(sagewai_${name} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_compile_options(sagewai_${name} PRIVATE -Os)
  add_library(sagewai::${name} ALIAS sagewai_${name})
endfunction()

_sagewai_agent_module(arg_split arg_split.cc)
_sagewai_agent_module(passwd passwd.cc)
_sagewai_agent_module(environ_scrub environ_scrub.cc)
target_link_libraries(sagewai_environ_scrub PUBLIC sagewai::absl)
_sagewai_agent_module(secret_handoff secret_handoff.cc)
target_link_libraries(sagewai_secret_handoff PUBLIC sagewai::environ_scrub sagewai::passwd
                      sagewai::base)
_sagewai_agent_module(privileges privileges.cc)
target_link_libraries(sagewai_privileges PUBLIC sagewai::passwd sagewai::base sagewai::capng)
_sagewai_agent_module(runner_identity runner_identity.cc)
target_link_libraries(sagewai_runner_identity PUBLIC sagewai::privileges)

add_library(sagewai_agent INTERFACE)
target_link_libraries(sagewai_agent INTERFACE sagewai::runner_identity sagewai::privileges
                      sagewai::passwd
                      sagewai::environ_scrub sagewai::secret_handoff sagewai::arg_split
                      sagewai::base sagewai::capng)
add_library(sagewai::agent ALIAS sagewai_agent)

sagewai_test(common_agent_test
  SRCS arg_split_test.cc passwd_test.cc environ_scrub_test.cc secret_handoff_test.cc
       privileges_test.cc
  LIBS sagewai::agent LABELS unit)
