# The JSON-RPC stdio protocol of the existing Sagewai worker (included from
# tool-runner/CMakeLists.txt).

add_library(sagewai_stdio_protocol STATIC "${CMAKE_CURRENT_LIST_DIR}/stdio_protocol.cc")
target_link_libraries(sagewai_stdio_protocol PUBLIC sagewai::json_reader sagewai::base sagewai::absl)
add_library(sagewai::stdio_protocol ALIAS sagewai_stdio_protocol)

sagewai_test(stdio_protocol_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/stdio_protocol_test.cc"
  LIBS sagewai::stdio_protocol LABELS unit)
