# The sagewai CodeEval driver for bash (4.2+), run as
# `bash --norc --noprofile -c <this> bash`.
#
# Requests arrive on fd 3: a header line "<op> <seq> <nbytes>\n" followed by
# exactly <nbytes> of payload (op "eval": the code). Events leave on fd 4,
# one JSON object per line (see python_driver.py for the shapes). The code is
# eval'd in this shell, so `cd`, variables, functions and aliases persist.
# A non-zero final status is reported as an error named ExitStatus. The
# code's fd 3 is closed; fd 4 stays open so that an `exit` can still answer.
#
# SIGINT interrupts the running code: the trap returns from the innermost
# function, and a DEBUG trap (set only then) unwinds every function above it
# up to __sagewai_run, so the rest of the cell is skipped.

__sagewai_unwind() {
  if (( ${#FUNCNAME[@]} - 1 >= __sagewai_depth )); then return 2; fi
  return 0
}

__sagewai_on_int() {
  __sagewai_interrupted=1
  shopt -s extdebug
  set -T
  trap '__sagewai_unwind' DEBUG
}

__sagewai_status() { return "$1"; }

__sagewai_run() {
  __sagewai_depth=${#FUNCNAME[@]}
  trap '__sagewai_on_int; return 130' INT
  __sagewai_status "$__sagewai_last"
  eval "$__sagewai_code" 3<&-
}

# `exit` (or `set -e`) in the code ends this shell: the cell still gets its
# answer, marked dead.
__sagewai_on_exit() {
  local rc=$?
  if [[ -n $__sagewai_in_cell ]]; then
    printf '{"ev":"done","seq":%d,"exit_code":%d,"dead":true,"error":{"name":"ExitStatus","message":"the shell exited with status %d","traceback":""}}\n' \
      "$__sagewai_seq" "$rc" "$rc" >&4
  fi
}

__sagewai_call() {
  __sagewai_interrupted=
  __sagewai_in_cell=1
  __sagewai_run
  __sagewai_last=$?
  __sagewai_in_cell=
  trap : INT
  trap - DEBUG
  set +T
  shopt -u extdebug
  if [[ -n $__sagewai_interrupted ]]; then
    __sagewai_last=130
    __sagewai_error='{"name":"Interrupted","message":"interrupted by SIGINT","traceback":""}'
  elif (( __sagewai_last != 0 )); then
    __sagewai_error="{\"name\":\"ExitStatus\",\"message\":\"exit status $__sagewai_last\",\"traceback\":\"\"}"
  else
    __sagewai_error=null
  fi
  printf '{"ev":"done","seq":%d,"exit_code":%d,"error":%s}\n' \
    "$__sagewai_seq" "$__sagewai_last" "$__sagewai_error" >&4
}

trap : INT
trap __sagewai_on_exit EXIT
__sagewai_last=0
printf '{"ev":"ready","language":"bash","version":"%s","pid":%d}\n' "${BASH_VERSION%%(*}" "$$" >&4
while :; do
  IFS=' ' read -r __sagewai_op __sagewai_seq __sagewai_len <&3
  __sagewai_rc=$?
  if (( __sagewai_rc > 128 )); then continue; fi  # a stray SIGINT between cells
  if (( __sagewai_rc != 0 )); then break; fi
  __sagewai_code=
  if (( __sagewai_len > 0 )); then
    IFS= LC_ALL=C read -r -d '' -N "$__sagewai_len" __sagewai_code <&3
  fi
  if [[ $__sagewai_op == eval ]]; then
    __sagewai_call
  else
    printf '{"ev":"done","seq":%d,"error":{"name":"ProtocolError","message":"unknown op","traceback":""}}\n' \
      "$__sagewai_seq" >&4
  fi
done
