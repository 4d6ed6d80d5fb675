# `sagewai-sandbox fs` (put, cat, ls, stat, mkdir, rm, mv), included from
# cli/CMakeLists.txt.
if(TARGET sagewai_cli_fs)
  return()
endif()

add_library(sagewai_cli_fs STATIC "${CMAKE_CURRENT_LIST_DIR}/fs_command.cc")
target_link_libraries(sagewai_cli_fs PUBLIC
  sagewai::cli_connection sagewai::cli_util sagewai::fs sagewai::sha256 sagewai::proto
  sagewai::base)
add_library(sagewai::cli_fs ALIAS sagewai_cli_fs)
target_link_libraries(sagewai-sandbox PRIVATE sagewai::cli_fs)

sagewai_test(cli_fs_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/fs_command_test.cc"
  LIBS sagewai::cli_fs LABELS unit)
