#!/usr/bin/env bash
# Operator figures against a real kube-apiserver and etcd (scripts/controlplane.sh):
#   - time from `kubectl apply` of N SecurityRules (default 1000) to all Accepted=True and all in
#     the bundle ConfigMap;
#   - the operator's RSS with N rules;
#   - API-server requests per minute made by the operator at rest (counted from the API server's
#     audit log by user agent, over RESTSECONDS, default 60).
# Usage: bench/operator_apply_bench.sh [N]   (make bench runs it with the defaults)
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CP=$ROOT/scripts/controlplane.sh
OPERATOR=${VIGIL_OPERATOR:-$ROOT/build/vigil-operator}
N=${1:-1000}
REST=${RESTSECONDS:-60}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-op-bench.XXXXXX")
D=$WORK/cp
OP_PID=
cleanup() {
  [[ -n "$OP_PID" ]] && kill "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null
  "$CP" stop "$D" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -x "$OPERATOR" ]] || { echo "no operator binary at $OPERATOR (make build)"; exit 1; }
VIGIL_AUDIT_LOG=$D/audit.log "$CP" start "$D" >"$WORK/cp.log" 2>&1 || { tail -n 20 "$WORK/cp.log"; exit 1; }
# shellcheck disable=SC1091
source "$D/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=60s "$@"; }
K apply -f "$ROOT/crds/" >/dev/null && K wait --for=condition=Established crd --all --timeout=60s >/dev/null

"$OPERATOR" --kubeconfig "$KUBECONFIG" --namespace vigil-system --identity bench \
  --health-addr 127.0.0.1:0 --audit-addr 127.0.0.1:0 >"$WORK/operator.log" 2>&1 &
OP_PID=$!
sleep 1

for ((i = 0; i < N; ++i)); do
  ns=vigil-system
  ((i % 2)) && ns=team-$((i % 10))
  cat <<YAML
---
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: rule-$i, namespace: $ns}
spec:
  source: syscall
  condition: "open_write and container and fd.name startswith /etc/app-$i/ and not proc.name in (package_mgmt_binaries)"
  output: "Write below /etc/app-$i (file=%fd.name proc=%proc.cmdline pod=%k8s.pod.name)"
  priority: Warning
  tags: [bench, filesystem]
YAML
done >"$WORK/rules.yaml"
for t in 1 3 5 7 9; do K create namespace "team-$t" >/dev/null 2>&1; done

now_ms() { date +%s%3N; }
t0=$(now_ms)
K apply -f "$WORK/rules.yaml" >/dev/null || { echo "apply failed"; exit 1; }
t_applied=$(now_ms)
accepted=0 bundled=0
while true; do
  accepted=$(K get securityrules -A -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Accepted")].status}{"\n"}{end}' | grep -c '^True$')
  bundled=$(K -n vigil-system get configmap vigil-bundle -o jsonpath='{.data.rules\.yaml}' 2>/dev/null | grep -c '"kind":"SecurityRule"')
  ((accepted >= N && bundled >= N)) && break
  if (($(now_ms) - t0 > 600000)); then echo "timeout: $accepted accepted, $bundled in bundle"; exit 1; fi
  sleep 0.2
done
t_done=$(now_ms)
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$OP_PID/status)
hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/$OP_PID/status)

# At rest: count the operator's requests (user agent vigil/...) in the audit log over REST s.
sleep 5
before=$(grep -c '"userAgent":"vigil/' "$D/audit.log")
sleep "$REST"
after=$(grep -c '"userAgent":"vigil/' "$D/audit.log")
# The audit log has one line per request stage; count completed requests only.
rest_requests=$(tail -n +1 "$D/audit.log" | awk -v b="$before" 'index($0, "\"userAgent\":\"vigil/") {n++; if (n > b && index($0, "\"stage\":\"ResponseComplete\"")) c++} END {print c+0}')
per_minute=$(awk -v c="$rest_requests" -v s="$REST" 'BEGIN {printf "%.1f", c * 60 / s}')

echo "operator_apply_bench: $N SecurityRules (half cluster-wide, half in 5 tenant namespaces)"
printf '  kubectl apply returned after      %6d ms\n' $((t_applied - t0))
printf '  all Accepted and in the bundle at %6d ms after the apply started\n' $((t_done - t0))
printf '  operator RSS with %d rules:       %6d KiB (peak %d KiB)\n' "$N" "$rss_kb" "$hwm_kb"
printf '  operator requests at rest:        %6s per minute (%d in %ds; audit lines %d..%d)\n' "$per_minute" "$rest_requests" "$REST" "$before" "$after"
grep -E "audit|Published bundle" "$WORK/operator.log" | tail -n 2
