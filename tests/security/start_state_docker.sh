#!/usr/bin/env bash
# `sagewai-sandbox start --docker THIS`: the docker CLI, except that the
# `docker run` of start gets the start state $SEC_START_STATE names:
#   user_1000     --user 1000:1000 added (Kubernetes runAsNonRoot, a worker
#                 that starts as the agent); the socket directory is given
#                 to uid 1000, as such a worker must, so that the runner can
#                 make its socket there
#   cap_drop_all  the --cap-add options left out: root with no capabilities,
#                 what the existing Sagewai worker does
# Everything else passes through unchanged.
set -euo pipefail
if [[ ${1:-} != run ]]; then exec docker "$@"; fi
args=(run)
shift
[[ ${SEC_START_STATE:-} == user_1000 ]] && args+=(--user 1000:1000)
while (($#)); do
  case ${SEC_START_STATE:-}:$1 in
    cap_drop_all:--cap-add)
      shift 2
      continue
      ;;
    user_1000:--mount)
      if [[ $2 == *",target=/run/sagewai" ]]; then
        src=${2#type=bind,source=}
        chown 1000:1000 "${src%,target=/run/sagewai}"
      fi
      ;;
    *:) ;;
  esac
  args+=("$1")
  shift
done
exec docker "${args[@]}"
