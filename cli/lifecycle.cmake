# `sagewai-sandbox start`, `stop`, `run`, `list`, `reap`, `doctor` (the
# Docker backend) and `--sandbox ID` for every command that talks to a
# runner. Included from cli/CMakeLists.txt after its own targets.
if(TARGET sagewai_cli_lifecycle)
  return()
endif()

# Sandbox state directories and labels: what --sandbox ID resolves through,
# so the connection library (every runner subcommand) links them.
add_library(sagewai_cli_sandbox_state STATIC
  "${CMAKE_CURRENT_LIST_DIR}/sandbox_state.cc" "${CMAKE_CURRENT_LIST_DIR}/sandbox_labels.cc"
  "${CMAKE_CURRENT_LIST_DIR}/sandbox_resolve.cc")
target_link_libraries(sagewai_cli_sandbox_state PUBLIC sagewai::cli_subprocess sagewai::base sagewai::absl)
add_library(sagewai::cli_sandbox_state ALIAS sagewai_cli_sandbox_state)
target_link_libraries(sagewai_cli_connection PUBLIC sagewai::cli_sandbox_state)

# The production container start that validate and start share.
target_sources(sagewai_cli_commands PRIVATE "${CMAKE_CURRENT_LIST_DIR}/sandbox_launch.cc")

add_library(sagewai_cli_lifecycle STATIC
  "${CMAKE_CURRENT_LIST_DIR}/sandbox_options.cc" "${CMAKE_CURRENT_LIST_DIR}/sandbox_start.cc"
  "${CMAKE_CURRENT_LIST_DIR}/sandbox_commands.cc" "${CMAKE_CURRENT_LIST_DIR}/sandbox_inventory.cc"
  "${CMAKE_CURRENT_LIST_DIR}/sandbox_doctor.cc")
target_link_libraries(sagewai_cli_lifecycle PUBLIC
  sagewai::cli_commands sagewai::json_reader sagewai::proto sagewai::base)
add_library(sagewai::cli_lifecycle ALIAS sagewai_cli_lifecycle)
target_link_libraries(sagewai-sandbox PRIVATE sagewai::cli_lifecycle)

sagewai_test(cli_lifecycle_unit_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/sandbox_state_test.cc" "${CMAKE_CURRENT_LIST_DIR}/sandbox_labels_test.cc"
       "${CMAKE_CURRENT_LIST_DIR}/sandbox_start_test.cc"
  LIBS sagewai::cli_lifecycle
  LABELS unit)
