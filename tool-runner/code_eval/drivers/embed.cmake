# Turns the driver programs into C++ string constants (run with cmake -P).
#   -DOUT=<file.cc> -DPYTHON=<python_driver.py> -DNODE=<node_driver.js> -DBASH=<bash_driver.sh>
# The drivers are handed to interpreters as arguments at run time, so they
# never need to exist as files inside a sandbox.

set(_delim "sagewai_driver")
set(_body "// Generated from tool-runner/code_eval/drivers/ by drivers/embed.cmake; do not edit.\n")
string(APPEND _body "#include \"tool-runner/code_eval/code_eval_drivers.h\"\n\n")
string(APPEND _body "namespace sagewai::code_eval::drivers {\n\n")
foreach(_pair "kPython;${PYTHON}" "kNode;${NODE}" "kBash;${BASH}")
  list(GET _pair 0 _name)
  list(GET _pair 1 _file)
  file(READ "${_file}" _source)
  string(FIND "${_source}" ")${_delim}\"" _clash)
  if(NOT _clash EQUAL -1)
    message(FATAL_ERROR "${_file} contains the raw-string delimiter )${_delim}\"")
  endif()
  string(FIND "${_source}" "\r" _cr)
  if(NOT _cr EQUAL -1)
    message(FATAL_ERROR "${_file} has CR line endings; the drivers must use LF")
  endif()
  string(APPEND _body "static constexpr char ${_name}Text[] = R\"${_delim}(${_source})${_delim}\";\n")
  string(APPEND _body "const absl::string_view ${_name}(${_name}Text, sizeof(${_name}Text) - 1);\n\n")
endforeach()
string(APPEND _body "}  // namespace sagewai::code_eval::drivers\n")

# Rewrite only on change, so that an unchanged driver does not relink.
if(EXISTS "${OUT}")
  file(READ "${OUT}" _old)
  if(_old STREQUAL _body)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${_body}")
