#!/usr/bin/env bash
# End-to-end test of Vigil in a cluster: a real kube-apiserver and etcd (scripts/controlplane.sh),
# the real vigil-operator, and the real vigil-agent in cluster mode with its BPF programs on this
# host, which a Node object stands for. Pods are simulated (scripts/simulate-pod.sh: a Pod object
# whose status names a container, and a cgroup named the way containerd names it).
#
# Covers: samples accepted and programmed on the node; a broken rule rejected with line:column
# while nothing else changes; a shell in a container alerting with its pod and namespace, and
# the rule's ALERTS count rising; namespace scoping; editing and deleting a rule without
# restarting capture; the operator killed and restarted, and kube-apiserver restarted, with no
# change missed; the agent's last report on shutdown. The last line is "N passed, N failed".
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/e2e/lib.sh
source "$ROOT/test/e2e/lib.sh"
CP=$ROOT/scripts/controlplane.sh
SIM=$ROOT/scripts/simulate-pod.sh
OPERATOR=${VIGIL_OPERATOR:-$ROOT/build/vigil-operator}
AGENT=${VIGIL_AGENT:-$ROOT/build/vigil-agent}
RECORDER=${VIGIL_HTTP_RECORDER:-$ROOT/build/vigil-test-http-recorder}
NODE=vigil-e2e-$(hostname | tr -c 'a-z0-9\n' '-' | cut -c1-30)-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-cluster-e2e.XXXXXX")
D=$WORK/cp
OP_PID= AGENT_PID= REC_PID=
PODS=()  # "ns pod id"

cleanup() {
  local rc=$? p
  [[ -n "$AGENT_PID" ]] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  [[ -n "$OP_PID" ]] && kill -CONT "$OP_PID" 2>/dev/null && kill "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null
  [[ -n "$REC_PID" ]] && kill "$REC_PID" 2>/dev/null && wait "$REC_PID" 2>/dev/null
  for p in "${PODS[@]}"; do
    # shellcheck disable=SC2086
    "$SIM" delete $p >/dev/null 2>&1
  done
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM


((EUID == 0)) || { echo "SKIP: needs root (BPF, cgroups)"; exit 77; }
[[ -x "$OPERATOR" ]] || abort "no operator binary at $OPERATOR (make build)"
[[ -x "$AGENT" ]] || abort "no agent binary at $AGENT (make build)"
[[ -x "$RECORDER" ]] || abort "no HTTP recorder at $RECORDER (make build)"
command -v script >/dev/null || abort "script(1) missing: run scripts/install-deps.sh"
"$CP" start "$D" >"$WORK/controlplane.log" 2>&1 || { tail -n 30 "$WORK/controlplane.log"; abort "control plane start"; }
ok "control plane started"
# shellcheck disable=SC1091
source "$D/env"
export KUBECTL KUBECONFIG
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }
jp() { # KIND NS NAME JSONPATH
  K -n "$2" get "$1" "$3" -o jsonpath="$4" 2>/dev/null
}

K apply -f "$ROOT/crds/" >"$WORK/crds.log" 2>&1 || { cat "$WORK/crds.log"; abort "CRDs"; }
K wait --for=condition=Established --timeout=30s crd/securityrules.vigil.dev crd/alertsinks.vigil.dev \
  crd/nodeagents.vigil.dev >/dev/null || abort "CRDs not established"
K apply -f - >/dev/null <<YAML || abort "Node object"
apiVersion: v1
kind: Node
metadata:
  name: $NODE
  labels: {kubernetes.io/hostname: $NODE}
YAML
ok "CRDs and Node $NODE created"

start_operator() {
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --namespace vigil-system --identity e2e \
    --health-addr 127.0.0.1:0 --audit-addr 127.0.0.1:0 --resync 5 --node-stale-seconds 20 --alert-status-seconds 1 \
    >>"$WORK/operator.log" 2>&1 &
  OP_PID=$!
}
start_operator
start_agent() {
  "$AGENT" --kubeconfig "$KUBECONFIG" --node-name "$NODE" --health-addr 127.0.0.1:0 \
    --report-seconds 1 --output-file "$WORK/alerts.jsonl" --spool-dir "$WORK/spool" \
    >>"$WORK/agent.out" 2>>"$WORK/agent.log" &
  AGENT_PID=$!
}
start_agent

# ---- samples: accepted, and the syscall ones programmed on this node
K create namespace team-a >/dev/null 2>&1
K apply -f "$ROOT/config/samples/" >"$WORK/samples.log" 2>&1 && ok "samples applied" || { cat "$WORK/samples.log"; bad "samples applied"; }
cond() { jp securityrule "$1" "$2" "{.status.conditions[?(@.type==\"$3\")].status}"; }
programmed() { # NS NAME: Programmed=True and NODES 1/1
  local s n
  s=$(cond "$1" "$2" Programmed)
  n=$(jp securityrule "$1" "$2" '{.status.nodesSummary}')
  echo "Programmed=$s nodes=$n"
  [[ "$s" == True && "$n" == 1/1 ]]
}
all_syscall_rules_programmed() {
  local ns name src
  while read -r ns name src; do
    [[ -z "$name" ]] && continue
    [[ "$(cond "$ns" "$name" Accepted)" == True ]] || { echo "$ns/$name not accepted"; return 1; }
    [[ "$src" == syscall ]] || continue
    programmed "$ns" "$name" >/dev/null || { echo "$ns/$name: $(programmed "$ns" "$name")"; return 1; }
  done < <(K get securityrules -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name} {.spec.source}{"\n"}{end}')
}
eventually 20 "every sample rule Accepted=True, syscall rules Programmed=True with NODES 1/1" all_syscall_rules_programmed
agent_ready() { [[ "$(jp nodeagent "" "$NODE" '{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
eventually 10 "NodeAgent $NODE Ready=True" agent_ready
bundle_gen() { K -n vigil-system get configmap vigil-bundle -o jsonpath='{.metadata.annotations.vigil\.dev/bundle-generation}'; }
agent_gen() { jp nodeagent "" "$NODE" '{.status.bundle.generation}'; }
in_step() { [[ "$(agent_gen)" == "$(bundle_gen)" ]]; }
eventually 10 "the agent runs the published bundle generation" in_step
K get securityrules,nodeagents -A

# ---- a rule with a syntax error: rejected with line:column, nothing else disturbed
gen_before=$(bundle_gen)
K apply -f - >/dev/null <<'YAML'
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: broken-rule, namespace: team-a}
spec:
  source: syscall
  condition: "spawned_process and (proc.name = bash"
  output: "shell %proc.name"
  priority: Warning
YAML
rejected() {
  local msg
  msg=$(jp securityrule team-a broken-rule '{.status.conditions[?(@.type=="Accepted")].message}')
  echo "Accepted=$(cond team-a broken-rule Accepted) message=$msg"
  [[ "$(cond team-a broken-rule Accepted)" == False && "$msg" =~ [0-9]+:[0-9]+ ]]
}
eventually 15 "a broken rule is Accepted=False with line:column" rejected
sleep 1
[[ "$(bundle_gen)" == "$gen_before" ]] && ok "the bundle did not change" || bad "the bundle changed ($gen_before -> $(bundle_gen))"
programmed vigil-system shell-in-container >/dev/null && ok "shell-in-container still programmed" || bad "shell-in-container disturbed"
K -n team-a delete securityrule broken-rule >/dev/null

# ---- a bundle the agent cannot compile (edited by hand): refused, the old rules keep running,
# and the operator puts its bundle back (its resync compares the content, not just the hash).
# The operator is paused meanwhile, or it may restore the bundle before the agent sees the edit.
kill -STOP "$OP_PID"
K -n vigil-system patch configmap vigil-bundle --type merge -p '{"metadata":{"annotations":{"vigil.dev/bundle-generation":"999"}},"data":{"rules.yaml":"{\"apiVersion\":\"vigil.dev/v1alpha1\",\"kind\":\"SecurityRule\",\"metadata\":{\"name\":\"tampered\",\"namespace\":\"vigil-system\",\"generation\":1},\"spec\":{\"source\":\"syscall\",\"condition\":\"spawned_process and (\",\"output\":\"x\",\"priority\":\"Warning\"}}"}}' >/dev/null
refused() { grep -q "Bundle generation 999 refused; generation [0-9]* keeps running" "$WORK/agent.log"; }
eventually 10 "the agent refuses a bundle that does not compile and keeps the running one" refused
bundle_error() {
  jp nodeagent "" "$NODE" '{.status.bundle.error}' | grep -q "generation 999" &&
    [[ "$(jp nodeagent "" "$NODE" '{.status.conditions[?(@.type=="Ready")].reason}')" == BundleError ]]
}
eventually 10 "the NodeAgent says why (status.bundle.error, Ready=False)" bundle_error
kill -CONT "$OP_PID"
restored() { local g; g=$(agent_gen); echo "agent bundle generation $g"; [[ "$g" -gt 999 ]] && in_step && agent_ready; }
eventually 20 "the operator restores the bundle and the agent runs it" restored
eventually 10 "shell-in-container programmed again" programmed vigil-system shell-in-container

# ---- a webhook AlertSink: a real HTTP server on loopback records what the agent delivers
"$RECORDER" --out "$WORK/webhook.jsonl" --port-file "$WORK/webhook.port" --path /alerts \
  >"$WORK/recorder.log" 2>&1 &
REC_PID=$!
for _ in $(seq 50); do [[ -s "$WORK/webhook.port" ]] && break; sleep 0.1; done
K apply -f - >"$WORK/sink-apply.log" 2>&1 <<YAML || { cat "$WORK/sink-apply.log"; bad "webhook AlertSink applied"; }
apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata: {name: e2e-webhook, namespace: vigil-system}
spec:
  type: webhook
  webhook: {url: "http://127.0.0.1:$(cat "$WORK/webhook.port")/alerts", format: falco}
  filter: {rules: [shell-*]}
  delivery: {retries: 20, backoff: {initialSeconds: 1, maxSeconds: 2}}
YAML
sink_loaded() { grep -q "Delivering to 4 AlertSink" "$WORK/agent.log"; }
eventually 15 "the agent loads the webhook AlertSink from the bundle" sink_loaded

# ---- the story: a shell with a terminal in a container of a pod
id_web=$("$SIM" create shop web-1 "$NODE" docker.io/library/nginx:1.25) || abort "simulated pod"
PODS+=("shop web-1 $id_web")
sleep 1  # the pod watch delivers the Pod before the first event
"$SIM" exec "$id_web" --tty "bash -c 'true'" >/dev/null 2>&1
alert_for() { # RULE PATTERN...: an alert line of RULE containing every pattern
  local rule=$1 line
  shift
  while IFS= read -r line; do
    local p all=1
    for p in "$@"; do [[ "$line" == *"$p"* ]] || { all=0; break; }; done
    ((all)) && return 0
  done < <(grep -F "\"rule\":\"$rule\"" "$WORK/alerts.jsonl" 2>/dev/null)
  return 1
}
eventually 10 "shell in container: alert with pod web-1, namespace shop, container app, image" alert_for shell-in-container \
  '"k8s.pod.name":"web-1"' '"k8s.ns.name":"shop"' '"container.name":"app"' '"container.image.repository":"docker.io/library/nginx"'
alerts_total() { jp securityrule "$1" "$2" '{.status.alerts.total}'; }
alerts_rose() { local n; n=$(alerts_total vigil-system shell-in-container); echo "alerts.total=$n"; [[ -n "$n" && "$n" -ge 1 ]]; }
eventually 15 "shell-in-container status.alerts.total rises" alerts_rose
column_shows() { K get securityrules -n vigil-system shell-in-container --no-headers | awk '{print "NODES="$5" ALERTS="$6}' | tee /dev/stderr | grep -q "NODES=1/1 ALERTS=[1-9]"; }
eventually 5 "kubectl get securityrules shows NODES 1/1 and ALERTS > 0" column_shows
node_alerts() { local n; n=$(jp nodeagent "" "$NODE" '{.status.alerts}'); [[ -n "$n" && "$n" -ge 1 ]]; }
eventually 5 "kubectl get nodeagents shows the node's alerts" node_alerts

webhook_got() { grep -q 'Shell in container.*pod=web-1 ns=shop' "$WORK/webhook.jsonl" 2>/dev/null; }
eventually 10 "the webhook AlertSink received the shell-in-container alert (Falco JSON)" webhook_got
delivered() {
  local d r
  d=$(jp alertsink vigil-system e2e-webhook '{.status.delivered}')
  r=$(jp alertsink vigil-system e2e-webhook '{.status.conditions[?(@.type=="Ready")].status}')
  echo "delivered=$d Ready=$r"
  [[ -n "$d" && "$d" -ge 1 && "$r" == True ]]
}
eventually 15 "the AlertSink's status shows delivered rising and Ready=True" delivered
metrics_port=$(grep -o 'health and metrics on http://127.0.0.1:[0-9]*' "$WORK/agent.log" | tail -1 | sed 's/.*://')
sink_metrics() {
  curl -fsS "http://127.0.0.1:$metrics_port/metrics" |
    grep -E '^vigil_agent_sink_delivered_total\{sink="vigil-system/e2e-webhook"\} [1-9]'
}
eventually 5 "the agent's /metrics counts the sink's deliveries" sink_metrics

# ---- namespace scoping: a team-a rule sees team-a's pod only
K create namespace team-b >/dev/null 2>&1
id_a=$("$SIM" create team-a app-a "$NODE") && PODS+=("team-a app-a $id_a")
id_b=$("$SIM" create team-b app-b "$NODE") && PODS+=("team-b app-b $id_b")
K apply -f - >/dev/null <<'YAML'
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: cat-marker, namespace: team-a}
spec:
  source: syscall
  condition: "spawned_process and container and proc.name = cat and proc.args contains vigil-marker-one"
  output: "cat marker (pod=%k8s.pod.name ns=%k8s.ns.name args=%proc.args)"
  priority: Notice
YAML
eventually 15 "team-a rule cat-marker programmed" programmed team-a cat-marker
sleep 1
"$SIM" exec "$id_b" "cat /dev/null vigil-marker-one" >/dev/null 2>&1
"$SIM" exec "$id_a" "cat /dev/null vigil-marker-one" >/dev/null 2>&1
eventually 10 "team-a's rule fires for team-a's pod" alert_for cat-marker '"k8s.ns.name":"team-a"' '"k8s.pod.name":"app-a"'
if alert_for cat-marker '"k8s.ns.name":"team-b"'; then bad "team-a's rule fired for team-b's pod"; else ok "team-a's rule did not fire for team-b's pod"; fi

# ---- edit and delete without restarting capture
loads_before=$(grep -c "Loaded .* BPF programs" "$WORK/agent.log")
K -n team-a patch securityrule cat-marker --type merge -p '{"spec":{"condition":"spawned_process and container and proc.name = cat and proc.args contains vigil-marker-two"}}' >/dev/null
node_has_gen() { # NS NAME: Programmed=True on 1/1 nodes for the rule's current generation
  local g og
  g=$(jp securityrule "$1" "$2" '{.metadata.generation}')
  og=$(jp securityrule "$1" "$2" '{.status.conditions[?(@.type=="Programmed")].observedGeneration}')
  echo "generation=$g Programmed.observedGeneration=$og"
  [[ "$g" == "$og" ]] && programmed "$1" "$2"
}
eventually 15 "the edited rule is programmed at its new generation" node_has_gen team-a cat-marker
"$SIM" exec "$id_a" "cat /dev/null vigil-marker-one" >/dev/null 2>&1
"$SIM" exec "$id_a" "cat /dev/null vigil-marker-two" >/dev/null 2>&1
eventually 10 "the edited condition detects" alert_for cat-marker 'vigil-marker-two'
n_one=$(grep -F '"rule":"cat-marker"' "$WORK/alerts.jsonl" | grep -c vigil-marker-one)
[[ "$n_one" == 1 ]] && ok "the old condition no longer detects" || bad "old condition alerts: $n_one (want the 1 from before the edit)"
K -n team-a delete securityrule cat-marker >/dev/null
gone_from_node() { ! jp nodeagent "" "$NODE" '{.status.rules[*].name}' | grep -qw cat-marker; }
eventually 15 "the deleted rule left the node" gone_from_node
before=$(grep -c '"rule":"shell-in-container"' "$WORK/alerts.jsonl")
"$SIM" exec "$id_a" "cat /dev/null vigil-marker-two" >/dev/null 2>&1
"$SIM" exec "$id_web" --tty "bash -c 'true'" >/dev/null 2>&1  # a sentinel: processed after the cat
sentinel() { (($(grep -c '"rule":"shell-in-container"' "$WORK/alerts.jsonl") > before)); }
eventually 10 "sentinel alert arrived" sentinel
n_two=$(grep -F '"rule":"cat-marker"' "$WORK/alerts.jsonl" | grep -c vigil-marker-two)
[[ "$n_two" == 1 ]] && ok "the deleted rule no longer detects" || bad "deleted rule alerts: $n_two (want 1)"
loads_after=$(grep -c "Loaded .* BPF programs" "$WORK/agent.log")
if kill -0 "$AGENT_PID" 2>/dev/null && [[ "$loads_before" == 1 && "$loads_after" == 1 ]]; then
  ok "capture never restarted (one agent process, BPF loaded once; $(grep -c 'Applied bundle' "$WORK/agent.log") bundles applied)"
else bad "capture restarted (loads $loads_before -> $loads_after)"; fi

# ---- the operator is killed; changes while it is down; it comes back
kill -KILL "$OP_PID"; wait "$OP_PID" 2>/dev/null; OP_PID=
ok "operator killed"
K apply -f - >/dev/null <<'YAML'
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: while-down, namespace: vigil-system}
spec: {source: syscall, condition: "spawned_process and container and proc.name = cat and proc.args contains vigil-marker-three", output: "cat (pod=%k8s.pod.name args=%proc.args)", priority: Notice}
YAML
K -n vigil-system patch securityrule shell-in-container --type merge -p '{"spec":{"priority":"Critical"}}' >/dev/null
start_operator
eventually 20 "a rule created while the operator was down is programmed after its restart" programmed vigil-system while-down
eventually 15 "a rule edited while the operator was down is programmed at its new generation" node_has_gen vigil-system shell-in-container
"$SIM" exec "$id_a" "cat /dev/null vigil-marker-three" >/dev/null 2>&1
eventually 10 "the new rule detects" alert_for while-down '"k8s.pod.name":"app-a"'
alerts_kept() { local n; n=$(alerts_total vigil-system shell-in-container); echo "alerts.total=$n"; [[ -n "$n" && "$n" -ge 2 ]]; }
eventually 10 "alert counts survive the operator restart" alerts_kept

# ---- kube-apiserver restarts: watches resume, statuses converge
"$CP" restart-apiserver "$D" >"$WORK/restart.log" 2>&1 && ok "kube-apiserver restarted" || { tail -n 20 "$WORK/restart.log"; bad "kube-apiserver restart"; }
# shellcheck disable=SC1091
source "$D/env"
K -n vigil-system patch securityrule while-down --type merge -p '{"spec":{"condition":"spawned_process and container and proc.name = cat and proc.args contains vigil-marker-four"}}' >/dev/null
eventually 30 "after the API server restart an edit reaches the node" node_has_gen vigil-system while-down
"$SIM" exec "$id_a" "cat /dev/null vigil-marker-four" >/dev/null 2>&1
eventually 10 "and detects" alert_for while-down 'vigil-marker-four'
count_rose() { local n; n=$(alerts_total vigil-system while-down); echo "alerts.total=$n"; [[ -n "$n" && "$n" -ge 2 ]]; }
eventually 15 "and its ALERTS count rises" count_rose
eventually 10 "the agent runs the published bundle again" in_step

# ---- alerts queued for a sink that is down survive a crash of the agent (the spool)
port=$(cat "$WORK/webhook.port")
kill "$REC_PID"; wait "$REC_PID" 2>/dev/null
"$RECORDER" --out "$WORK/down.jsonl" --port-file "$WORK/down.port" --port "$port" --path /alerts \
  --status 503 >>"$WORK/recorder.log" 2>&1 &
REC_PID=$!
for _ in $(seq 50); do [[ -s "$WORK/down.port" ]] && break; sleep 0.1; done
"$SIM" exec "$id_web" --tty "bash -c 'true vigil-marker-spooled'" >/dev/null 2>&1
attempted() { grep -q vigil-marker-spooled "$WORK/down.jsonl" 2>/dev/null; }
eventually 10 "the sink is down (503): the alert waits in the agent's queue" attempted
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
ok "agent killed (SIGKILL) with the alert queued"
kill "$REC_PID"; wait "$REC_PID" 2>/dev/null
"$RECORDER" --out "$WORK/webhook.jsonl" --port-file "$WORK/up.port" --port "$port" --path /alerts \
  >>"$WORK/recorder.log" 2>&1 &
REC_PID=$!
start_agent
spooled() { grep -q vigil-marker-spooled "$WORK/webhook.jsonl" 2>/dev/null; }
eventually 20 "the restarted agent delivers the alert from its spool once the sink is back" spooled
# Every alert once: as many deliveries as the agent raised alerts (the agent's own file output).
sleep 1
n=$(grep -c vigil-marker-spooled "$WORK/webhook.jsonl")
raised=$(grep -c vigil-marker-spooled "$WORK/alerts.jsonl")
((n == raised && n > 0)) && ok "each of the $raised alerts delivered exactly once" || bad "$raised alerts raised, $n delivered"
eventually 15 "the restarted agent is Ready" agent_ready

# ---- the agent stops: its last report takes the node out of the count
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; rc=$?; AGENT_PID=
((rc == 0)) && ok "agent exited 0 on SIGTERM" || bad "agent exit code $rc"
stopped() { [[ "$(jp nodeagent "" "$NODE" '{.status.conditions[?(@.type=="Ready")].reason}')" == Stopped ]]; }
eventually 5 "NodeAgent Ready=False reason Stopped" stopped
unprogrammed() { local n; n=$(jp securityrule vigil-system shell-in-container '{.status.nodesSummary}'); echo "nodes=$n"; [[ "$n" == 0/1 ]]; }
eventually 10 "rules show NODES 0/1 once the agent is gone" unprogrammed
K get securityrules,nodeagents -A

summary
((FAIL == 0))
