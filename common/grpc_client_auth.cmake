#The hosts' side of the session authentication over gRPC (the CLI, tests,
#benches) : challenge, proof check, per - call signing interceptor.

add_library(sagewai_grpc_client_auth STATIC "${CMAKE_CURRENT_LIST_DIR}/grpc_client_auth.cc")
    target_link_libraries(
        sagewai_grpc_client_auth PUBLIC sagewai::session_auth sagewai::proto sagewai::base)
        add_library(sagewai::grpc_client_auth ALIAS sagewai_grpc_client_auth)

            sagewai_test(grpc_client_auth_test SRCS
                         "${CMAKE_CURRENT_LIST_DIR}/grpc_client_auth_test.cc" LIBS
                             sagewai::grpc_client_auth LABELS unit)
