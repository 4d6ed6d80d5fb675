# The Filesystem service (included from tool-runner/CMakeLists.txt).
set(_sagewai_fs_dir "${CMAKE_CURRENT_LIST_DIR}")

# The operations themselves, as blocking functions, and the I/O pool.
add_library(sagewai_fs STATIC
  "${_sagewai_fs_dir}/fs_path.cc" "${_sagewai_fs_dir}/fs_tree.cc" "${_sagewai_fs_dir}/fs_ops.cc"
  "${_sagewai_fs_dir}/fs_write.cc" "${_sagewai_fs_dir}/fs_glob.cc" "${_sagewai_fs_dir}/fs_watch.cc"
  "${_sagewai_fs_dir}/fs_io_pool.cc" "${_sagewai_fs_dir}/fs_json.cc")
target_link_libraries(sagewai_fs PUBLIC sagewai::sha256 sagewai::proto sagewai::base)
add_library(sagewai::fs ALIAS sagewai_fs)

sagewai_test(fs_test
  SRCS "${_sagewai_fs_dir}/fs_path_test.cc"
       "${_sagewai_fs_dir}/fs_ops_test.cc" "${_sagewai_fs_dir}/fs_write_test.cc"
       "${_sagewai_fs_dir}/fs_glob_test.cc" "${_sagewai_fs_dir}/fs_watch_test.cc"
       "${_sagewai_fs_dir}/fs_io_pool_test.cc"
  LIBS sagewai::fs LABELS unit)

# The gRPC service and the stdio tools belong to sagewai_runner (server.cc
# and main.cc register them), which is defined after this file is included.
function(_sagewai_fs_attach_to_runner)
  target_sources(sagewai_runner PRIVATE
    "${_sagewai_fs_dir}/fs_service.cc" "${_sagewai_fs_dir}/fs_stream_calls.cc"
    "${_sagewai_fs_dir}/fs_stdio_tools.cc")
  target_link_libraries(sagewai_runner PUBLIC sagewai::fs)
  sagewai_test(fs_stdio_tools_test
    SRCS "${_sagewai_fs_dir}/fs_stdio_tools_test.cc"
    LIBS sagewai::runner LABELS unit)
endfunction()
cmake_language(DEFER CALL _sagewai_fs_attach_to_runner)
