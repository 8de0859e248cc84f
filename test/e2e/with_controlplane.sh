#!/usr/bin/env bash
# Runs a command against a fresh local control plane (scripts/controlplane.sh): starts etcd and
# kube-apiserver in a temp dir, exports VIGIL_KUBECONFIG and VIGIL_CONTROLPLANE_DIR, runs the
# command, stops everything whatever happens, and exits with the command's status.
# Usage: test/e2e/with_controlplane.sh CMD [ARGS...]
set -uo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
CP=$ROOT/scripts/controlplane.sh
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-e2e.XXXXXX")
D=$WORK/cp
rc=1
cleanup() {
  "$CP" stop "$D" >/dev/null 2>&1
  if ((rc == 0)); then rm -rf "$WORK"; else echo "control plane logs kept in $D"; fi
}
trap cleanup EXIT
if ! "$CP" start "$D" >"$WORK/start.log" 2>&1; then
  tail -n 30 "$WORK/start.log"
  exit 1
fi
export VIGIL_KUBECONFIG=$D/kubeconfig VIGIL_CONTROLPLANE_DIR=$D
"$@"
rc=$?
exit "$rc"
