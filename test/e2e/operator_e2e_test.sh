#!/usr/bin/env bash
# End-to-end test of vigil-operator against a real kube-apiserver and etcd (scripts/controlplane.sh):
# CRDs, samples accepted, a broken rule rejected with line and column and the bundle unchanged,
# fixing it, a sink with a missing Secret, CEL validation at apply time, printer columns, leader
# election with two replicas and failover. The last line is "N passed, N failed".
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
CP=$ROOT/scripts/controlplane.sh
OPERATOR=${VIGIL_OPERATOR:-$ROOT/build/vigil-operator}
PASS=0 FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-op-e2e.XXXXXX")
D=$WORK/cp
OP_PIDS=()

ok() { PASS=$((PASS + 1)); printf 'PASS: %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf 'FAIL: %s\n' "$*"; }
summary() { printf '%d passed, %d failed\n' "$PASS" "$FAIL"; }
cleanup() {
  local rc=$?
  for p in "${OP_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${OP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM
abort() { bad "$*"; summary; exit 1; }

# eventually TIMEOUT DESC CMD...: retries CMD until it succeeds or TIMEOUT seconds pass.
eventually() {
  local timeout=$1 desc=$2 start=$SECONDS out
  shift 2
  while true; do
    if out=$("$@" 2>&1); then ok "$desc ($((SECONDS - start))s)"; return 0; fi
    if ((SECONDS - start >= timeout)); then
      bad "$desc (not within ${timeout}s)"
      printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
      return 1
    fi
    sleep 0.3
  done
}

[[ -x "$OPERATOR" ]] || abort "no operator binary at $OPERATOR (make build)"
"$CP" start "$D" >"$WORK/controlplane.log" 2>&1 || { tail -n 30 "$WORK/controlplane.log"; abort "control plane start"; }
ok "control plane started"
# shellcheck disable=SC1091
source "$D/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }

start_operator() { # NAME
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --namespace vigil-system --identity "$1" \
    --health-addr 127.0.0.1:0 --resync 5 >"$WORK/$1.log" 2>&1 &
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
