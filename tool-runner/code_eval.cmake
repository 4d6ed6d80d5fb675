# CodeEval: stateful interpreters (python, node, bash) behind the gRPC
# CodeEval service and the stdio `code_eval` tool. Included from
# tool-runner/CMakeLists.txt before the runner's own targets exist, so the
# links into them are deferred to the end of that directory.

# The driver programs become C++ string constants: they reach interpreters as
# arguments and never have to exist as files in a sandbox.
set(_code_eval_drivers
  "${CMAKE_CURRENT_LIST_DIR}/drivers/python_driver.py"
  "${CMAKE_CURRENT_LIST_DIR}/drivers/node_driver.js"
  "${CMAKE_CURRENT_LIST_DIR}/drivers/bash_driver.sh")
set(_code_eval_drivers_cc "${CMAKE_CURRENT_BINARY_DIR}/code_eval_drivers.cc")
add_custom_command(
  OUTPUT "${_code_eval_drivers_cc}"
  COMMAND ${CMAKE_COMMAND} -DOUT=${_code_eval_drivers_cc}
          -DPYTHON=${CMAKE_CURRENT_LIST_DIR}/drivers/python_driver.py
          -DNODE=${CMAKE_CURRENT_LIST_DIR}/drivers/node_driver.js
          -DBASH=${CMAKE_CURRENT_LIST_DIR}/drivers/bash_driver.sh
          -P "${CMAKE_CURRENT_LIST_DIR}/drivers/embed.cmake"
  DEPENDS ${_code_eval_drivers} "${CMAKE_CURRENT_LIST_DIR}/drivers/embed.cmake"
  COMMENT "Embedding the code-eval driver programs")

# Protocol, languages, interpreters and the context manager: no gRPC server
# parts, so the unit tests link only these.
add_library(sagewai_code_eval_core STATIC
  "${CMAKE_CURRENT_LIST_DIR}/code_eval_protocol.cc"
  "${CMAKE_CURRENT_LIST_DIR}/code_eval_language.cc"
  "${CMAKE_CURRENT_LIST_DIR}/code_eval_interpreter.cc"
  "${CMAKE_CURRENT_LIST_DIR}/code_eval_manager.cc"
  "${_code_eval_drivers_cc}")
target_link_libraries(sagewai_code_eval_core PUBLIC
  sagewai::supervisor sagewai::proto sagewai::json_reader sagewai::base)
add_library(sagewai::code_eval_core ALIAS sagewai_code_eval_core)

# The gRPC service and the stdio tool; they use the runner's shared context
# (auth, limits, tool environment), and server.cc registers them, hence the
# two-way link with sagewai_runner (static libraries may do that).
add_library(sagewai_code_eval STATIC
  "${CMAKE_CURRENT_LIST_DIR}/code_eval_service.cc"
  "${CMAKE_CURRENT_LIST_DIR}/code_eval_stdio.cc")
target_link_libraries(sagewai_code_eval PUBLIC sagewai::code_eval_core sagewai_runner
                      sagewai::stdio_protocol)
add_library(sagewai::code_eval ALIAS sagewai_code_eval)

cmake_language(DEFER CALL target_link_libraries sagewai_runner PUBLIC sagewai_code_eval)
cmake_language(DEFER CALL target_link_libraries sagewai-tool-runner PRIVATE sagewai_code_eval)

sagewai_test(code_eval_unit_test
  SRCS "${CMAKE_CURRENT_LIST_DIR}/code_eval_protocol_test.cc"
       "${CMAKE_CURRENT_LIST_DIR}/code_eval_language_test.cc"
       "${CMAKE_CURRENT_LIST_DIR}/code_eval_manager_test.cc"
       "${CMAKE_CURRENT_LIST_DIR}/code_eval_stdio_test.cc"
  LIBS sagewai::code_eval LABELS unit)

# `sagewai-sandbox eval` and `context` register themselves in cli/eval.cmake.
