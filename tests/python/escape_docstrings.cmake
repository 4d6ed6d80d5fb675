# grpc_python_plugin copies proto comments into docstrings verbatim, so a
# comment with a backslash ("\xNN") makes the module a SyntaxError. The only
# backslashes in a *_pb2_grpc.py are in those docstrings: double them.
# Usage: cmake -DFILE=path/x_pb2_grpc.py -P escape_docstrings.cmake
file(READ "${FILE}" _text)
string(REPLACE "\\" "\\\\" _text "${_text}")
file(WRITE "${FILE}" "${_text}")
