# JSON reading (a strict DOM parser) on top of the writer in sagewai::base.

add_library(sagewai_json_reader STATIC "${CMAKE_CURRENT_LIST_DIR}/json_reader.cc")
target_link_libraries(sagewai_json_reader PUBLIC sagewai::base sagewai::absl)
add_library(sagewai::json_reader ALIAS sagewai_json_reader)

sagewai_test(json_reader_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/json_reader_test.cc"
  LIBS sagewai::json_reader LABELS unit)
