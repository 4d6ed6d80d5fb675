# SHA-256 and HMAC-SHA256 (the Filesystem service's checksums, the CLI's
# upload check) and the session authentication built on them, shared by the
# runner and the hosts. No gRPC in either.

add_library(sagewai_sha256 STATIC "${CMAKE_CURRENT_LIST_DIR}/sha256.cc"
                                  "${CMAKE_CURRENT_LIST_DIR}/hmac_sha256.cc")
target_link_libraries(sagewai_sha256 PUBLIC sagewai::base)
add_library(sagewai::sha256 ALIAS sagewai_sha256)

add_library(sagewai_session_auth STATIC "${CMAKE_CURRENT_LIST_DIR}/session_auth.cc")
target_link_libraries(sagewai_session_auth PUBLIC sagewai::sha256 sagewai::base)
add_library(sagewai::session_auth ALIAS sagewai_session_auth)

sagewai_test(common_crypto_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/sha256_test.cc" "${CMAKE_CURRENT_LIST_DIR}/hmac_sha256_test.cc"
       "${CMAKE_CURRENT_LIST_DIR}/session_auth_test.cc"
  LIBS sagewai::session_auth LABELS unit)
