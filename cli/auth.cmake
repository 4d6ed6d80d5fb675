# The host's checks of whom it talks to: the peer check of unix sockets
# (cli/peer_check), the flags that set what it expects (cli/connection_policy)
# and the session authentication (common/grpc_client_auth), all part of the
# connection library every runner subcommand uses.
# Included from cli/CMakeLists.txt after its own targets.
if(TARGET cli_auth_test)
  return()
endif()

target_sources(sagewai_cli_connection PRIVATE "${CMAKE_CURRENT_LIST_DIR}/peer_check.cc"
                                              "${CMAKE_CURRENT_LIST_DIR}/connection_policy.cc")
target_link_libraries(sagewai_cli_connection PUBLIC sagewai::grpc_client_auth)

sagewai_test(cli_auth_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/peer_check_test.cc"
       "${CMAKE_CURRENT_LIST_DIR}/connection_policy_test.cc"
       "${CMAKE_CURRENT_LIST_DIR}/sandbox_resolve_test.cc"
  LIBS sagewai::cli_connection
  LABELS unit)
