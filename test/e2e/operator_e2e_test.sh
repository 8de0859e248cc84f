#!/usr/bin/env bash
# End-to-end test of vigil-operator against a real kube-apiserver and etcd (scripts/controlplane.sh):
# CRDs, samples accepted, a broken rule rejected with line and column and the bundle unchanged,
# fixing it, a sink with a missing Secret, CEL validation at apply time, printer columns, node
# agents' reports summed into the rules' and sinks' status (and a node going stale), leader
# election with two replicas and failover. The last line is "N passed, N failed".
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/e2e/lib.sh
source "$ROOT/test/e2e/lib.sh"
CP=$ROOT/scripts/controlplane.sh
OPERATOR=${VIGIL_OPERATOR:-$ROOT/build/vigil-operator}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-op-e2e.XXXXXX")
D=$WORK/cp
OP_PIDS=()
HB_PIDS=()  # fake node agents' heartbeat loops

cleanup() {
  local rc=$?
  for p in "${HB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${OP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${OP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM


[[ -x "$OPERATOR" ]] || abort "no operator binary at $OPERATOR (make build)"
"$CP" start "$D" >"$WORK/controlplane.log" 2>&1 || { tail -n 30 "$WORK/controlplane.log"; abort "control plane start"; }
ok "control plane started"
# shellcheck disable=SC1091
source "$D/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }

start_operator() { # NAME
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --namespace vigil-system --identity "$1" \
    --health-addr 127.0.0.1:0 --audit-addr 127.0.0.1:0 --resync 5 --node-stale-seconds 4 >"$WORK/$1.log" 2>&1 &
  OP_PIDS+=($!)
}

# ---- CRDs
if K apply -f "$ROOT/crds/" >"$WORK/crds.log" 2>&1; then ok "CRDs applied"; else cat "$WORK/crds.log"; abort "CRDs"; fi
eventually 30 "CRDs established" K wait --for=condition=Established --timeout=5s \
  crd/securityrules.vigil.dev crd/alertsinks.vigil.dev crd/nodeagents.vigil.dev

# ---- operator and samples
start_operator op-a
K create namespace team-a >/dev/null 2>&1
if K apply -f "$ROOT/config/samples/" >"$WORK/samples.log" 2>&1; then ok "samples applied"; else
  cat "$WORK/samples.log"; bad "samples applied"; fi

accepted() { # KIND NS NAME
  [[ "$(K -n "$2" get "$1" "$3" -o jsonpath='{.status.conditions[?(@.type=="Accepted")].status}')" == True ]]
}
all_accepted() {
  local kind=$1 line ns name
  while read -r ns name; do
    [[ -z "$name" ]] && continue
    accepted "$kind" "$ns" "$name" || { echo "$kind $ns/$name not accepted: $(K -n "$ns" get "$kind" "$name" -o jsonpath='{.status.conditions}')"; return 1; }
  done < <(K get "$kind" -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name}{"\n"}{end}')
}
eventually 20 "every sample SecurityRule Accepted=True" all_accepted securityrules
eventually 20 "every sample AlertSink Accepted=True" all_accepted alertsinks

bundle_has() { K -n vigil-system get configmap vigil-bundle -o jsonpath='{.data.rules\.yaml}' | grep -q "\"name\":\"$1\""; }
eventually 20 "bundle ConfigMap holds shell-in-container" bundle_has shell-in-container
eventually 5 "bundle ConfigMap holds nodeport-service-created" bundle_has nodeport-service-created
columns() { K get securityrules -A | head -1 | grep -q "SOURCE.*PRIORITY.*ACCEPTED.*NODES.*ALERTS.*LAST ALERT.*AGE"; }
eventually 5 "kubectl get securityrules shows SOURCE PRIORITY ACCEPTED NODES ALERTS LAST ALERT AGE" columns
K get securityrules -A

bundle_hash() { K -n vigil-system get configmap vigil-bundle -o jsonpath='{.metadata.annotations.vigil\.dev/bundle-hash}'; }
hash_before=$(bundle_hash)

# ---- a rule with a syntax error
cat >"$WORK/broken.yaml" <<'YAML'
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata:
  name: broken-rule
  namespace: team-a
spec:
  source: syscall
  condition: "spawned_process and (proc.name = bash"
  output: "shell %proc.name"
  priority: Warning
YAML
K apply -f "$WORK/broken.yaml" >/dev/null
rejected_with_position() {
  local st msg
  st=$(K -n team-a get securityrule broken-rule -o jsonpath='{.status.conditions[?(@.type=="Accepted")].status}')
  msg=$(K -n team-a get securityrule broken-rule -o jsonpath='{.status.conditions[?(@.type=="Accepted")].message}')
  echo "status=$st message=$msg"
  [[ "$st" == False && "$msg" == *"1:38: expected ')'"* ]]
}
eventually 20 "broken rule Accepted=False with line:column in the message" rejected_with_position
warning_event() { K -n team-a get events --field-selector involvedObject.name=broken-rule -o jsonpath='{.items[*].reason}' | grep -q InvalidCondition; }
eventually 10 "a Warning Event InvalidCondition is recorded for the broken rule" warning_event
sleep 1
if [[ "$(bundle_hash)" == "$hash_before" ]]; then ok "bundle unchanged by the broken rule"; else bad "bundle changed by the broken rule"; fi
samples_still_accepted() {
  accepted securityrules vigil-system shell-in-container && accepted securityrules vigil-system nodeport-service-created
}
eventually 5 "the sample rules are still accepted" samples_still_accepted
K -n team-a patch securityrule broken-rule --type merge -p '{"spec":{"condition":"spawned_process and (proc.name = bash)"}}' >/dev/null
eventually 20 "fixed rule accepted" accepted securityrules team-a broken-rule
eventually 20 "fixed rule in the bundle" bundle_has broken-rule
observed() { [[ "$(K -n team-a get securityrule broken-rule -o jsonpath='{.status.observedGeneration}')" == "$(K -n team-a get securityrule broken-rule -o jsonpath='{.metadata.generation}')" ]]; }
eventually 5 "observedGeneration follows generation" observed
tenant_scoped() { K -n team-a get securityrule broken-rule -o jsonpath='{.status.expandedCondition}' | grep -q 'k8s.ns.name = "team-a"'; }
eventually 5 "a team-a rule only sees team-a (expanded condition)" tenant_scoped

# ---- a sink whose Secret is missing
cat >"$WORK/sink.yaml" <<'YAML'
apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata:
  name: slack-missing-secret
  namespace: team-a
spec:
  type: slack
  slack:
    webhookSecretRef: {name: no-such-secret, key: url}
YAML
if K apply -f "$WORK/sink.yaml" >"$WORK/sink-apply.log" 2>&1; then ok "sink with a missing Secret applied"; else cat "$WORK/sink-apply.log"; bad "sink apply"; fi
sink_rejected() {
  local msg
  msg=$(K -n team-a get alertsink slack-missing-secret -o jsonpath='{.status.conditions[?(@.type=="Accepted")].message}')
  echo "$msg"
  [[ "$msg" == *"no-such-secret not found"* ]]
}
eventually 20 "sink with a missing Secret Accepted=False, message names the Secret" sink_rejected

# ---- validation at apply time (CRD schema and CEL)
rejects() { ! K apply -f - <<<"$1" >/dev/null 2>&1; }
if rejects 'apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: bad-source, namespace: team-a}
spec: {source: kernel, condition: "evt.type = open", output: o}'; then ok "schema rejects an unknown source"; else bad "schema accepted source: kernel"; fi
if rejects 'apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata: {name: bad-sink, namespace: team-a}
spec: {type: slack}'; then ok "CEL rejects a slack sink without its slack block"; else bad "CEL accepted a slack sink without slack"; fi
if rejects 'apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: empty-cond, namespace: team-a}
spec: {source: syscall, condition: "", output: o}'; then ok "schema rejects an empty condition"; else bad "schema accepted an empty condition"; fi

# ---- the API server restarts and history is compacted: watches recover, no change is missed
if "$CP" restart-apiserver "$D" >"$WORK/restart.log" 2>&1; then ok "kube-apiserver restarted"; else
  tail -n 20 "$WORK/restart.log"; bad "kube-apiserver restart"; fi
# shellcheck disable=SC1091
source "$D/env"
cat >"$WORK/during.yaml" <<'YAML'
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: after-restart, namespace: vigil-system}
spec: {source: syscall, condition: "spawned_process and proc.name = socat", output: "socat %proc.cmdline", priority: Notice}
YAML
K apply -f "$WORK/during.yaml" >/dev/null
eventually 30 "a rule created after the restart is accepted" accepted securityrules vigil-system after-restart
# Changes while the history is compacted away: the watch's resourceVersion is now too old (410),
# the operator must relist and still see every change.
K -n team-a delete securityrule broken-rule >/dev/null
"$CP" compact "$D" >"$WORK/compact.log" 2>&1 && ok "etcd compacted" || { cat "$WORK/compact.log"; bad "etcd compaction"; }
K -n team-a patch securityrule broken-rule --type merge -p '{}' >/dev/null 2>&1  # gone: no-op
"$CP" restart-apiserver "$D" >"$WORK/restart2.log" 2>&1 && ok "kube-apiserver restarted after compaction" \
  || { tail -n 20 "$WORK/restart2.log"; bad "second restart"; }
source "$D/env"
sed 's/after-restart/after-compaction/; s/socat/ncat/g' "$WORK/during.yaml" | K apply -f - >/dev/null
eventually 30 "a rule created after compaction is accepted" accepted securityrules vigil-system after-compaction
not_in_bundle() { ! bundle_has broken-rule; }
eventually 30 "a rule deleted around the compaction left the bundle" not_in_bundle
bundle_has after-compaction && ok "the bundle has the rule created after compaction" || bad "bundle misses after-compaction"
# The watch resumed from a version the restarted API server no longer has: it must have relisted.
if grep -q "Relist" "$WORK"/op-a.log; then ok "the operator's watch relisted (410) after the restart"; else
  bad "no relist in the operator log"; fi

# ---- node agents' reports: two fake nodes (NodeAgents written with kubectl as an agent would)
now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }
for n in fake-node-1 fake-node-2; do
  printf 'apiVersion: vigil.dev/v1alpha1\nkind: NodeAgent\nmetadata: {name: %s}\nspec: {nodeName: %s}\n' "$n" "$n" \
    | K create -f - >"$WORK/nodeagent-$n.log" 2>&1 || { cat "$WORK/nodeagent-$n.log"; bad "create NodeAgent $n"; }
done
shell_gen=$(K -n vigil-system get securityrule shell-in-container -o jsonpath='{.metadata.generation}')
report() { # NODE ALERTS LAST_TRIGGERED DELIVERED
  K patch nodeagent "$1" --subresource=status --type=merge -p "{\"status\":{
    \"lastHeartbeatTime\":\"$(now_utc)\",\"probe\":{\"state\":\"Running\",\"programs\":6},
    \"bundle\":{\"generation\":1,\"hash\":\"e2e\"},
    \"rules\":[{\"namespace\":\"vigil-system\",\"name\":\"shell-in-container\",\"generation\":$shell_gen,
               \"alerts\":$2,\"lastTriggered\":\"$3\",\"programmed\":true}],
    \"sinks\":[{\"namespace\":\"vigil-system\",\"name\":\"stdout\",\"delivered\":$4,\"failed\":0,\"dropped\":1}]}}"
}
heartbeat() { # NODE...: what an idle agent does, every second here (every 30 s for real)
  while true; do
    for n in "$@"; do
      K patch nodeagent "$n" --subresource=status --type=merge \
        -p "{\"status\":{\"lastHeartbeatTime\":\"$(now_utc)\"}}" >/dev/null 2>&1
    done
    sleep 1
  done
}
if report fake-node-1 3 2026-01-02T03:04:05Z 4 >"$WORK/report.log" 2>&1 &&
  report fake-node-2 2 2026-01-02T03:09:05Z 6 >>"$WORK/report.log" 2>&1; then
  ok "NodeAgent status reported with kubectl patch --subresource=status"
else
  cat "$WORK/report.log"; bad "NodeAgent status patch"
fi
heartbeat fake-node-1 fake-node-2 &
HB_PIDS+=($!)
rule_jp() { K -n vigil-system get securityrule shell-in-container -o jsonpath="$1"; }
programmed_everywhere() {
  local nodes prog total
  nodes=$(rule_jp '{.status.nodesSummary}')
  prog=$(rule_jp '{.status.conditions[?(@.type=="Programmed")].status}')
  total=$(rule_jp '{.status.alerts.total}')
  echo "nodes=$nodes programmed=$prog alerts=$total"
  [[ "$nodes" == 2/2 && "$prog" == True && "$total" == 5 ]]
}
eventually 15 "rule programmed on 2/2 nodes, Programmed=True, alerts.total 5" programmed_everywhere
last=$(rule_jp '{.status.alerts.lastTriggered}')
[[ "$last" == 2026-01-02T03:09:05Z ]] && ok "alerts.lastTriggered is the latest node's" || bad "alerts.lastTriggered=$last"
columns_show() {
  K -n vigil-system get securityrule shell-in-container --no-headers | tee /dev/stderr | awk '$5 == "2/2" && $6 == "5" {f = 1} END {exit !f}'
}
eventually 5 "kubectl get securityrules shows NODES 2/2 and ALERTS 5" columns_show
sink_counts() {
  local d x
  d=$(K -n vigil-system get alertsink stdout -o jsonpath='{.status.delivered}')
  x=$(K -n vigil-system get alertsink stdout -o jsonpath='{.status.dropped}')
  echo "delivered=$d dropped=$x"
  [[ "$d" == 10 && "$x" == 2 ]]
}
eventually 15 "the stdout sink's delivered/dropped are summed over the nodes" sink_counts
# At rest: heartbeats that only move lastHeartbeatTime cause no status write.
metrics_port=$(grep -o 'Serving health and metrics on [0-9.]*:[0-9]*' "$WORK/op-a.log" | tail -n 1 | sed 's/.*://')
metric() { curl -sf "http://127.0.0.1:$metrics_port/metrics" | awk -v m="$1" '$1 == m {print $2 + 0}'; }
sleep 1
writes_before=$(metric vigil_operator_status_writes_total)
sleep 3.5
writes_after=$(metric vigil_operator_status_writes_total)
if [[ -n "$writes_before" && "$writes_before" == "$writes_after" ]]; then
  ok "no status writes at rest while nodes heartbeat ($writes_before before and after)"
else
  bad "status writes at rest: $writes_before -> $writes_after"
fi
[[ "$(metric vigil_operator_node_agents)" == 2 ]] && ok "vigil_operator_node_agents is 2" || bad "vigil_operator_node_agents=$(metric vigil_operator_node_agents)"
# fake-node-2 stops heartbeating: stale after 4 s (--node-stale-seconds 4).
kill "${HB_PIDS[0]}" 2>/dev/null; wait "${HB_PIDS[0]}" 2>/dev/null
heartbeat fake-node-1 &
HB_PIDS+=($!)
one_stale() {
  local nodes prog msg
  nodes=$(rule_jp '{.status.nodesSummary}')
  prog=$(rule_jp '{.status.conditions[?(@.type=="Programmed")].status}')
  msg=$(rule_jp '{.status.conditions[?(@.type=="Programmed")].message}')
  echo "nodes=$nodes programmed=$prog message=$msg"
  [[ "$nodes" == 1/2 && "$prog" != True && "$msg" == *"stale: fake-node-2"* ]]
}
eventually 15 "a node that stops heartbeating is stale: nodes 1/2, Programmed not True" one_stale
[[ "$(rule_jp '{.status.alerts.total}')" == 5 ]] && ok "a stale node's alerts still count" || bad "alerts.total changed when a node went stale"
[[ "$(metric vigil_operator_node_agents_stale)" == 1 ]] && ok "vigil_operator_node_agents_stale is 1" || bad "vigil_operator_node_agents_stale=$(metric vigil_operator_node_agents_stale)"
for p in "${HB_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
HB_PIDS=()
K delete nodeagent fake-node-1 fake-node-2 >/dev/null 2>&1

# ---- leader election: two replicas, one leader, failover
start_operator op-b
holder() { K -n vigil-system get lease vigil-operator -o jsonpath='{.spec.holderIdentity}'; }
eventually 10 "the Lease has a holder" test -n "$(holder)"
first=$(holder)
echo "leader: $first"
if [[ "$first" == op-a ]]; then leader_pid=${OP_PIDS[0]}; standby=op-b; else leader_pid=${OP_PIDS[1]}; standby=op-a; fi
kill -KILL "$leader_pid"
t0=$SECONDS
is_standby() { [[ "$(holder)" == "$standby" ]]; }
eventually 25 "after killing the leader, $standby takes over within the lease duration" is_standby
# The new leader does its job: a new rule gets a status.
cat >"$WORK/after.yaml" <<'YAML'
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: after-failover, namespace: vigil-system}
spec: {source: syscall, condition: "spawned_process and proc.name = nc", output: "nc %proc.cmdline", priority: Notice}
YAML
K apply -f "$WORK/after.yaml" >/dev/null
eventually 20 "the new leader accepts a new rule" accepted securityrules vigil-system after-failover

# ---- graceful shutdown: SIGTERM ends the leader promptly and releases the Lease
if [[ "$standby" == op-a ]]; then survivor=${OP_PIDS[0]}; else survivor=${OP_PIDS[1]}; fi
kill -TERM "$survivor"
t0=$SECONDS
while kill -0 "$survivor" 2>/dev/null && ((SECONDS - t0 < 10)); do sleep 0.1; done
if kill -0 "$survivor" 2>/dev/null; then bad "operator still running 10s after SIGTERM"; else
  ok "operator exited $((SECONDS - t0))s after SIGTERM"; fi
released() { [[ -z "$(holder)" ]]; }
eventually 5 "the Lease was released on shutdown" released

summary
((FAIL == 0))
