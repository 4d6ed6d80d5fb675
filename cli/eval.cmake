# `sagewai-sandbox eval` and `context` (the runner's CodeEval service).
# Included from cli/CMakeLists.txt.
if(TARGET sagewai_cli_eval)
  return()
endif()

add_library(sagewai_cli_eval STATIC "${CMAKE_CURRENT_LIST_DIR}/eval_command.cc")
target_link_libraries(sagewai_cli_eval PUBLIC
  sagewai::cli_connection sagewai::cli_util sagewai::proto sagewai::base)
add_library(sagewai::cli_eval ALIAS sagewai_cli_eval)
target_link_libraries(sagewai-sandbox PRIVATE sagewai::cli_eval)

sagewai_test(cli_eval_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/eval_command_test.cc"
  LIBS sagewai::cli_eval LABELS unit)
