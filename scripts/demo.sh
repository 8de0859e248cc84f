#!/usr/bin/env bash
# Vigil's story, live on one machine: a local control plane (kube-apiserver + etcd), the
# operator, and the eBPF agent for this host in cluster mode. Wires the API server's audit
# webhook to the operator's receiver, applies the sample rules and sinks, starts a pod
# (simulated: a Pod object plus a containerd-style cgroup), opens a shell with a terminal in it,
# exposes it with a NodePort Service, and shows both alerts and `kubectl get
# securityrules,nodeagents`.
# Runs until Ctrl-C, then stops everything it started.
#
# Usage: scripts/demo.sh            (root; `make demo` builds first)
# Environment: VIGIL_BUILD_DIR (default build), VIGIL_DEMO_DIR (default a fresh temp dir),
#              VIGIL_DEMO_SECONDS (stop after N seconds instead of waiting for Ctrl-C).
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${VIGIL_BUILD_DIR:-$ROOT/build}
[[ "$BUILD" == /* ]] || BUILD=$ROOT/$BUILD
CP=$ROOT/scripts/controlplane.sh
SIM=$ROOT/scripts/simulate-pod.sh
WORK=${VIGIL_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/vigil-demo.XXXXXX")}
mkdir -p "$WORK"
D=$WORK/controlplane
NODE=$(hostname | tr 'A-Z' 'a-z' | tr -c 'a-z0-9.\n-' '-')
OP_PID= AGENT_PID= POD_ID=
bold= reset=
if [[ -t 1 ]]; then bold=$(tput bold 2>/dev/null || true) reset=$(tput sgr0 2>/dev/null || true); fi

say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
cleanup() {
  trap - EXIT INT TERM
  say "Stopping (logs in $WORK)"
  [[ -n "$AGENT_PID" ]] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  [[ -n "$OP_PID" ]] && kill -TERM "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null
  [[ -n "$POD_ID" ]] && "$SIM" delete shop web-1 "$POD_ID" >/dev/null 2>&1
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  echo "demo: stopped the agent, the operator and the control plane"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

((EUID == 0)) || die "run as root: the agent loads BPF programs (sudo make demo)"
for b in vigil-operator vigil-agent; do [[ -x "$BUILD/$b" ]] || die "no $BUILD/$b (make build)"; done

say "Starting a local control plane (kube-apiserver + etcd; the first run builds them, several minutes)"
# With Vigil's audit policy; the webhook config is a placeholder until the operator has made its
# certificates (kube-apiserver needs the file at start), then replaced and the API server restarted.
"$BUILD/vigilctl" audit-config --policy-only >"$WORK/audit-policy.yaml" || die "vigilctl audit-config"
VIGIL_AUDIT_POLICY=$WORK/audit-policy.yaml VIGIL_AUDIT_WEBHOOK_CONFIG=$WORK/audit-webhook.kubeconfig \
  "$CP" start "$D" 2>&1 | sed 's/^/    /' || die "control plane failed to start (see $D)"
[[ -f "$D/env" ]] || die "control plane failed to start (see $D)"
# shellcheck disable=SC1091
source "$D/env"
export KUBECTL KUBECONFIG
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }
echo "    kubectl for this cluster: $KUBECTL --kubeconfig $KUBECONFIG"

say "Installing the CRDs and a Node object for this host ($NODE)"
K apply -f "$ROOT/crds/" | sed 's/^/    /'
K wait --for=condition=Established --timeout=60s crd --all >/dev/null
K apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: $NODE, labels: {kubernetes.io/hostname: $NODE}}
YAML

say "Starting vigil-operator and vigil-agent (eBPF, cluster mode); alerts print below"
"$BUILD/vigil-operator" --kubeconfig "$KUBECONFIG" --namespace vigil-system \
  --health-addr 127.0.0.1:0 --audit-addr 127.0.0.1:0 --audit-tls-name 127.0.0.1 \
  --alert-status-seconds 2 >"$WORK/operator.log" 2>&1 &
OP_PID=$!
"$BUILD/vigil-agent" --kubeconfig "$KUBECONFIG" --node-name "$NODE" --health-addr 127.0.0.1:0 \
  --report-seconds 1 --spool-dir "$WORK/spool" 2>"$WORK/agent.log" |
  sed -u "s/^/    ${bold}ALERT${reset} /" &
sleep 0.5
AGENT_PID=$(pgrep -n -f "vigil-agent --kubeconfig $KUBECONFIG")
echo "    operator log: $WORK/operator.log   agent log: $WORK/agent.log"
for _ in $(seq 100); do
  AUDIT_PORT=$(grep -o 'Serving the audit webhook on https://[0-9.]*:[0-9]*' "$WORK/operator.log" | sed 's/.*://')
  [[ -n "$AUDIT_PORT" ]] && break
  sleep 0.2
done
[[ -n "$AUDIT_PORT" ]] || die "the operator's audit receiver did not start (see $WORK/operator.log)"

say "Wiring the API server's audit webhook to the operator's receiver"
echo "    \$ vigilctl audit-config --from-cluster --url https://127.0.0.1:$AUDIT_PORT/k8s-audit"
"$BUILD/vigilctl" audit-config --from-cluster --kubeconfig "$KUBECONFIG" --kubeconfig-only \
  --url "https://127.0.0.1:$AUDIT_PORT/k8s-audit" --out-dir "$WORK/audit" >/dev/null \
  || die "vigilctl audit-config --from-cluster"
cp "$WORK/audit/audit-webhook.kubeconfig" "$WORK/audit-webhook.kubeconfig"
"$CP" restart-apiserver "$D" 2>&1 | sed 's/^/    /' || die "kube-apiserver did not restart"
echo "    kube-apiserver now sends its audit events to the operator (client certificate from Secret"
echo "    vigil-system/vigil-audit-tls, which the operator generated)"

say "Applying the sample rules and sinks (config/samples)"
K create namespace team-a >/dev/null 2>&1
K apply -f "$ROOT/config/samples/" | sed 's/^/    /'
for _ in $(seq 100); do
  s=$(K -n vigil-system get securityrule shell-in-container -o jsonpath='{.status.conditions[?(@.type=="Programmed")].status}' 2>/dev/null)
  [[ "$s" == True ]] && break
  sleep 0.2
done
K get securityrules,nodeagents -A | sed 's/^/    /'

say "A pod shop/web-1 (nginx) runs on this node; someone opens a shell with a terminal in it"
POD_ID=$("$SIM" create shop web-1 "$NODE" docker.io/library/nginx:1.25) || die "simulated pod"
echo "    pod shop/web-1, container app, id ${POD_ID:0:12}"
sleep 1
echo "    \$ kubectl exec -it -n shop web-1 -- bash   (simulated)"
"$SIM" exec "$POD_ID" --tty "bash -c 'id; cat /etc/hostname >/dev/null'" 2>&1 | sed 's/^/    web-1# /'
sleep 3

say "The developer exposes it: kubectl -n shop create service nodeport web-1 --tcp=80:80"
K -n shop create service nodeport web-1 --tcp=80:80 | sed 's/^/    /'
echo "    (detected from the API server's audit events by the operator's receiver; its stdout sink:)"
for _ in $(seq 50); do
  line=$(grep -m 1 'NodePort Service created' "$WORK/operator.log")
  [[ -n "$line" ]] && break
  sleep 0.2
done
if [[ -n "$line" ]]; then
  printf '    %sALERT%s %s\n' "$bold" "$reset" "$line"
else
  echo "    no NodePort alert within 10 s (see $WORK/operator.log)"
fi

sleep 5  # the receiver reports every 2 s; the status is written within --alert-status-seconds
say "kubectl get securityrules,nodeagents,alertsinks -A"
K get securityrules,nodeagents,alertsinks -A | sed 's/^/    /'
echo "    (the sample Slack and webhook sinks point at addresses this machine cannot reach: their"
echo "    alerts wait in the agent's queue and spool, retried with backoff; see DELIVERED and FAILED)"

if [[ -n "${VIGIL_DEMO_SECONDS:-}" ]]; then
  sleep "$VIGIL_DEMO_SECONDS"
else
  say "Vigil keeps watching. Try: $SIM exec $POD_ID --tty bash   — Ctrl-C stops the demo"
  while kill -0 "$AGENT_PID" 2>/dev/null; do sleep 1; done
fi
