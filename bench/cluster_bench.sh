#!/usr/bin/env bash
# Cluster figures against a real kube-apiserver and etcd (scripts/controlplane.sh), with the real
# operator, the real vigil-agent on this host (cluster mode, real BPF) and simulated node agents
# (vigil-node-agent-sim) making NODES nodes in all:
#   1. time from `kubectl apply` of a fresh SecurityRule to Programmed=True on every node
#      (p50 and max over APPLIES applies; target <= 2 s);
#   2. API-server writes per minute at rest with N rules and NODES nodes, split by who made them
#      (operator, real agent, simulated agents), counted from the audit log over RESTSECONDS;
#   3. the operator's RSS with N rules and NODES NodeAgents.
# Needs root (the agent loads BPF programs). See bench/README.md.
#
# Usage: bench/cluster_bench.sh [N]     (N rules in all, default 1000)
# Environment:
#   VIGIL_BUILD_DIR  where vigil-operator, vigil-agent, vigil-node-agent-sim are (default build/)
#   VIGIL_OPERATOR   operator binary (default $VIGIL_BUILD_DIR/vigil-operator)
#   NODES            nodes in all, the real one included (default 100)
#   APPLIES          fresh rules applied one by one for figure 1 (default 10; part of N)
#   APPLY_GAP        seconds between those applies (default 5)
#   RESTSECONDS      at-rest window for figure 2 (default 60)
#   SETTLE           seconds of quiet before that window (default 10)
#   OPERATOR_ARGS, AGENT_ARGS, SIM_ARGS  extra flags for each
#   KEEP=1           keep the work directory (logs, audit log)
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CP=$ROOT/scripts/controlplane.sh
BUILD=${VIGIL_BUILD_DIR:-build}
[[ "$BUILD" = /* ]] || BUILD=$ROOT/$BUILD
OPERATOR=${VIGIL_OPERATOR:-$BUILD/vigil-operator}
AGENT=$BUILD/vigil-agent
SIM=$BUILD/vigil-node-agent-sim
N=${1:-1000}
NODES=${NODES:-100}
APPLIES=${APPLIES:-10}
APPLY_GAP=${APPLY_GAP:-5}
REST=${RESTSECONDS:-60}
SETTLE=${SETTLE:-10}
TARGET_MS=2000
NS=vigil-system

say() { printf 'cluster_bench: %s\n' "$*"; }
die() { say "error: $*"; exit 1; }

if [[ $(id -u) -ne 0 ]]; then say "needs root (the real vigil-agent loads BPF programs)"; exit 2; fi
for b in "$OPERATOR" "$AGENT" "$SIM"; do
  [[ -x "$b" ]] || die "no binary at $b (ninja -C ${BUILD#"$ROOT/"} vigil-operator vigil-agent vigil-node-agent-sim)"
done
((N > APPLIES && APPLIES >= 1 && NODES >= 1)) || { say "need N > APPLIES >= 1 and NODES >= 1"; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-cluster-bench.XXXXXX")
D=$WORK/cp
OP_PID='' AGENT_PID='' SIM_PID=''
stop_pid() { # PID: SIGTERM, SIGKILL after 10 s
  local pid=$1 i
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; ++i)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  stop_pid "$SIM_PID"
  stop_pid "$AGENT_PID"
  stop_pid "$OP_PID"
  "$CP" stop "$D" >/dev/null 2>&1
  if [[ -n "${KEEP:-}" ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
alive() { # NAME PID LOG
  kill -0 "$2" 2>/dev/null && return 0
  say "$1 exited; the end of its log:"; tail -n 30 "$3"; exit 1
}

# The real agent's node: this host, as a Node object (the agent makes the Node own its NodeAgent).
NODE=${VIGIL_BENCH_NODE:-$(hostname -s 2>/dev/null | tr 'A-Z_' 'a-z-' | tr -cd 'a-z0-9.-')}
[[ "$NODE" =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ ]] || NODE=vigil-bench-node
SIMS=$((NODES - 1))

t_bench=$(now_ms)
say "$N SecurityRules, $NODES nodes (vigil-agent on node $NODE + $SIMS simulated), binaries from ${BUILD#"$ROOT/"}/"
VIGIL_AUDIT_LOG=$D/audit.log "$CP" start "$D" >"$WORK/cp.log" 2>&1 || { tail -n 20 "$WORK/cp.log"; exit 1; }
# shellcheck disable=SC1091
source "$D/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=60s "$@"; }
K apply -f "$ROOT/crds/" >/dev/null || die "cannot apply the CRDs"
K wait --for=condition=Established crd --all --timeout=60s >/dev/null || die "CRDs not established"
K get namespace "$NS" >/dev/null 2>&1 || K create namespace "$NS" >/dev/null
for t in 1 3 5 7 9; do K create namespace "team-$t" >/dev/null 2>&1; done
K apply -f - >/dev/null <<YAML || die "cannot create Node $NODE"
apiVersion: v1
kind: Node
metadata:
  name: $NODE
  labels: {kubernetes.io/hostname: $NODE, kubernetes.io/os: linux}
YAML

# shellcheck disable=SC2086
"$OPERATOR" --kubeconfig "$KUBECONFIG" --namespace "$NS" --identity bench \
  --health-addr 127.0.0.1:0 --audit-addr 127.0.0.1:0 ${OPERATOR_ARGS:-} >"$WORK/operator.log" 2>&1 &
OP_PID=$!
# shellcheck disable=SC2086
"$AGENT" --kubeconfig "$KUBECONFIG" --node-name "$NODE" --namespace "$NS" \
  --health-addr 127.0.0.1:0 --no-stdout --spool-dir "$WORK/spool" ${AGENT_ARGS:-} >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
if ((SIMS > 0)); then
  # shellcheck disable=SC2086
  "$SIM" --kubeconfig "$KUBECONFIG" --namespace "$NS" --nodes "$SIMS" --prefix sim-node- \
    --heartbeat-seconds 30 --report-seconds 2 ${SIM_ARGS:-} >"$WORK/sim.log" 2>&1 &
  SIM_PID=$!
fi

# The rules: cheap syscall conditions, so the agent's interest table stays small. Half in the
# operator's namespace (cluster-wide), half in five tenant namespaces.
rule_yaml() { # INDEX NAME
  local i=$1 ns=$NS
  ((i % 2)) && ns=team-$((i % 10))
  cat <<YAML
---
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: $2, namespace: $ns}
spec:
  source: syscall
  condition: "evt.type = openat and fd.name = /nonexistent/$i"
  output: "Bench rule $i (file=%fd.name proc=%proc.name)"
  priority: Notice
  tags: [bench]
YAML
}
INITIAL=$((N - APPLIES))
for ((i = 0; i < INITIAL; ++i)); do rule_yaml "$i" "rule-$i"; done >"$WORK/rules.yaml"
t0=$(now_ms)
K create -f "$WORK/rules.yaml" >/dev/null || die "creating $INITIAL rules failed"
say "created $INITIAL rules in $(($(now_ms) - t0)) ms; waiting until all are Accepted and Programmed on $NODES/$NODES nodes"

# Every rule Accepted=True, Programmed=True and nodesSummary NODES/NODES.
ready_count() {
  K get securityrules -A -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Accepted")].status}{" "}{.status.conditions[?(@.type=="Programmed")].status}{" "}{.status.nodesSummary}{"\n"}{end}' 2>/dev/null |
    awk -v want="True True $NODES/$NODES" '$0 == want {n++} END {print n+0}'
}
last_print=0
while true; do
  alive operator "$OP_PID" "$WORK/operator.log"
  alive vigil-agent "$AGENT_PID" "$WORK/agent.log"
  [[ -n "$SIM_PID" ]] && alive vigil-node-agent-sim "$SIM_PID" "$WORK/sim.log"
  ready=$(ready_count)
  ((ready >= INITIAL)) && break
  el=$(($(now_ms) - t0))
  if ((el - last_print >= 15000)); then
    last_print=$el
    agents=$(K get nodeagents -o name 2>/dev/null | wc -l)
    sample=$(K -n "$NS" get securityrule rule-0 -o jsonpath='{.status.nodesSummary} Programmed={.status.conditions[?(@.type=="Programmed")].status} ({.status.conditions[?(@.type=="Programmed")].reason})' 2>/dev/null)
    say "  $((el / 1000)) s: $ready/$INITIAL ready, $agents NodeAgents; rule-0: $sample"
  fi
  if ((el > 900000)); then
    say "timeout: $ready of $INITIAL rules Programmed on $NODES/$NODES nodes after 900 s"
    K -n "$NS" get securityrule rule-0 -o yaml | sed -n '/^status:/,$p'
    tail -n 20 "$WORK/operator.log"
    exit 1
  fi
  sleep 2
done
t_setup=$(($(now_ms) - t0))
say "all $INITIAL rules Programmed on $NODES/$NODES nodes $t_setup ms after the create"

# 1. Apply-to-Programmed: one fresh rule at a time; `kubectl wait` watches for Programmed=True.
sleep "$APPLY_GAP"
lat=()
for ((j = 0; j < APPLIES; ++j)); do
  i=$((INITIAL + j))
  rule_yaml "$i" "fresh-$j" >"$WORK/fresh-$j.yaml"
  ns=$NS
  ((i % 2)) && ns=team-$((i % 10))
  t_a=$(date +%s%N)
  K apply -f "$WORK/fresh-$j.yaml" >/dev/null || die "apply of fresh-$j failed"
  if ! K -n "$ns" wait --for=condition=Programmed securityrule/"fresh-$j" --timeout=120s >/dev/null; then
    K -n "$ns" get securityrule "fresh-$j" -o yaml | sed -n '/^status:/,$p'
    die "fresh-$j not Programmed after 120 s"
  fi
  t_b=$(date +%s%N)
  ms=$(((t_b - t_a) / 1000000))
  summary=$(K -n "$ns" get securityrule "fresh-$j" -o jsonpath='{.status.nodesSummary}')
  say "  fresh-$j ($ns): Programmed=True after $ms ms, nodes $summary"
  [[ "$summary" == "$NODES/$NODES" ]] || say "  warning: fresh-$j is Programmed but nodesSummary is $summary, not $NODES/$NODES"
  lat+=("$ms")
  ((j + 1 < APPLIES)) && sleep "$APPLY_GAP"
done
read -r p50 pmax < <(printf '%s\n' "${lat[@]}" | sort -n | awk '{v[NR] = $1} END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%d %d\n", m, v[NR]}')

# Where the time went, from the audit log: for each fresh rule, when (after its create request)
# the operator published the bundle, the real agent wrote its status, and every node had written
# its status after that bundle. Plus the real agent's compile time of each bundle (its log).
# shellcheck disable=SC2016
breakdown='
function field(name,   re, s) {
  re = "\"" name "\":\"[^\"]*\""
  if (!match($0, re)) return ""
  s = substr($0, RSTART, RLENGTH); sub("^\"" name "\":\"", "", s); sub("\"$", "", s); return s
}
function days(y, m, d,   era, yoe, doy) {
  y -= (m <= 2); era = int(y / 400); yoe = y - era * 400
  doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
}
function t(s,   a, b, c) {  # 2026-11-27T08:58:42.952925Z -> seconds
  split(s, a, "T"); split(a[1], b, "-"); split(a[2], c, ":"); sub("Z", "", c[3])
  return days(b[1] + 0, b[2] + 0, b[3] + 0) * 86400 + c[1] * 3600 + c[2] * 60 + c[3]
}
function flush() {
  if (cur != "") printf "%s %d %d %d %d\n", cur, tb == "" ? -1 : (tb - tc) * 1000, ta == "" ? -1 : (ta - tc) * 1000, tn == "" ? -1 : (tn - tc) * 1000, cnt
}
index($0, "\"stage\":\"ResponseComplete\"") {
  verb = field("verb"); uri = field("requestURI")
  if (verb == "create" && uri ~ /\/securityrules\?/ && match($0, /"objectRef":\{[^}]*"name":"fresh-[0-9]+"/)) {
    flush(); r = substr($0, RSTART, RLENGTH); sub(/.*"name":"/, "", r); sub(/"$/, "", r)
    cur = r; tc = t(field("requestReceivedTimestamp")); tb = ""; ta = ""; tn = ""; cnt = 0; split("", seen)
    next
  }
  if (cur == "") next
  if (verb == "update" && index(uri, "/configmaps/vigil-bundle") && tb == "") { tb = t(field("stageTimestamp")); next }
  if (verb == "patch" && tb != "" && match(uri, /\/nodeagents\/[^\/?]+\/status/)) {
    n = substr(uri, RSTART + 12, RLENGTH - 19)
    if (!(n in seen)) {
      seen[n] = 1; cnt++
      if (n == node) ta = t(field("stageTimestamp"))
      if (cnt == nodes) tn = t(field("stageTimestamp"))
    }
  }
}
END { flush() }'
awk -v node="$NODE" -v nodes="$NODES" "$breakdown" "$D/audit.log" >"$WORK/breakdown.txt"
mapfile -t compiles < <(grep -o 'Applied bundle generation [0-9]*: [0-9]* syscall rules (compiled in [0-9]* ms' "$WORK/agent.log" |
  tail -n "$APPLIES" | sed -E 's/.*generation ([0-9]+): ([0-9]+) .*compiled in ([0-9]+) ms/\3/')

# 2. Writes at rest, from the audit log (one JSON line per stage; completed requests only):
# the simulated agents by their User-Agent, the real agent (same user agent as the operator,
# vigil/...) by path (its NodeAgent), the operator: every other vigil/ request.
say "settling for $SETTLE s, then counting API requests for $REST s"
sleep "$SETTLE"
alive operator "$OP_PID" "$WORK/operator.log"
before=$(wc -l <"$D/audit.log")
sleep "$REST"
after=$(wc -l <"$D/audit.log")
sed -n "$((before + 1)),${after}p" "$D/audit.log" >"$WORK/rest.log"
# shellcheck disable=SC2016
classify='
function field(name,   re, s) {
  re = "\"" name "\":\"[^\"]*\""
  if (!match($0, re)) return ""
  s = substr($0, RSTART, RLENGTH); sub("^\"" name "\":\"", "", s); sub("\"$", "", s); return s
}
function resource(uri,   p, n, a, i, r) {  # "securityrules/status", "leases", ...
  sub(/\?.*/, "", uri); n = split(uri, a, "/")
  for (i = 1; i <= n; i++) if (a[i] == "namespaces" && i + 2 <= n) { i += 2; break }
  if (i > n) { i = (a[2] == "api") ? 4 : 5 }
  r = a[i]; if (i + 2 <= n) r = r "/" a[i + 2]; return r
}
function mine(uri,   p, c) {  # the real agent: its NodeAgent, the pods of its node
  if (index(uri, "fieldSelector=spec.nodeName%3D" node)) return 1
  p = index(uri, "/nodeagents/" node); if (!p) return 0
  c = substr(uri, p + length("/nodeagents/" node), 1); return c == "" || c == "/" || c == "?"
}
index($0, "\"stage\":\"ResponseComplete\"") {
  ua = field("userAgent"); uri = field("requestURI"); verb = field("verb")
  if (index(ua, "vigil-node-agent-sim/") == 1) who = "sim"
  else if (index(ua, "vigil/") == 1) who = mine(uri) ? "agent" : "operator"
  else who = "other"
  all[who]++
  if (verb ~ /^(create|update|patch|delete|deletecollection)$/) { w[who]++; by[who " " verb " " resource(uri)]++ }
}
END {
  printf "%d %d %d %d %d %d %d %d\n", w["operator"], w["agent"], w["sim"], w["other"], all["operator"], all["agent"], all["sim"], all["other"]
  for (k in by) print "BY " k, by[k] > "/dev/stderr"
}'
read -r w_op w_agent w_sim w_other r_op r_agent r_sim r_other < <(awk -v node="$NODE" "$classify" "$WORK/rest.log" 2>"$WORK/rest-by.txt")
per_min() { awk -v c="$1" -v s="$REST" 'BEGIN {printf "%.1f", c * 60 / s}'; }
w_total=$((w_op + w_agent + w_sim))

# 3. Memory.
rss_mb() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }
op_rss=$(rss_mb "$OP_PID" VmRSS) op_hwm=$(rss_mb "$OP_PID" VmHWM)
agent_rss=$(rss_mb "$AGENT_PID" VmRSS)
sim_rss=$([[ -n "$SIM_PID" ]] && rss_mb "$SIM_PID" VmRSS)
agents=$(K get nodeagents -o name | wc -l)
rules_now=$(K get securityrules -A -o name | wc -l)

status() { awk -v v="$1" -v t="$2" 'BEGIN {print (v != "" && v + 0 <= t + 0) ? "PASS" : "MISS"}'; }
echo
say "$rules_now SecurityRules (half cluster-wide, half in 5 tenant namespaces), $agents NodeAgents"
say "  ($NODES nodes: vigil-agent on $NODE + $SIMS vigil-node-agent-sim nodes; setup to all Programmed: $((t_setup / 1000)) s)"
printf '\n  %-50s %16s %7s  %s\n' figure value target status
printf '  %-50s %16s %7s  %s\n' "apply -> Programmed on all nodes, p50 (ms)" "$p50" "$TARGET_MS" "$(status "$p50" "$TARGET_MS")"
printf '  %-50s %16s %7s  %s\n' "apply -> Programmed on all nodes, max (ms)" "$pmax" "$TARGET_MS" "$(status "$pmax" "$TARGET_MS")"
printf '  %-50s %16s %7s  %s\n' "API writes/min at rest, all Vigil" "$(per_min "$w_total")" - INFO
printf '  %-50s %16s %7s  %s\n' "  by the operator" "$(per_min "$w_op")" - INFO
printf '  %-50s %16s %7s  %s\n' "  by the real agent (1 node)" "$(per_min "$w_agent")" - INFO
printf '  %-50s %16s %7s  %s\n' "  by the simulated agents ($SIMS nodes)" "$(per_min "$w_sim")" - INFO
printf '  %-50s %16s %7s  %s\n' "API requests/min at rest, reads too (op/agent/sim)" "$(per_min "$r_op")/$(per_min "$r_agent")/$(per_min "$r_sim")" - INFO
printf '  %-50s %16s %7s  %s\n' "operator RSS (MB; peak $op_hwm)" "$op_rss" - INFO
printf '  %-50s %16s %7s  %s\n' "vigil-agent RSS (MB)" "$agent_rss" - INFO
printf '  %-50s %16s %7s  %s\n' "vigil-node-agent-sim RSS (MB, all $SIMS nodes)" "${sim_rss:-n/a}" - INFO
echo
say "apply -> Programmed, each (ms): ${lat[*]}"
say "where the time went (ms after each create request, from the audit log; -1: not seen):"
printf '    %-8s %8s %8s %12s %14s %12s\n' rule bundle "agent" "all nodes" "Programmed" "agent compile"
j=0
while read -r name tb ta tn cnt; do
  printf '    %-8s %8s %8s %12s %14s %12s\n' "$name" "$tb" "$ta" "$tn ($cnt)" "${lat[$j]:-?} (apply)" "${compiles[$j]:-?}"
  j=$((j + 1))
done <"$WORK/breakdown.txt"
say "writes at rest by who, verb and resource over ${REST}s (audit lines $before..$after; others' requests: $w_other writes, $r_other in all):"
grep '^BY ' "$WORK/rest-by.txt" | sort -k2,2 -k5,5nr | awk '{printf "    %-9s %-7s %-28s %6d\n", $2, $3, $4, $5}'
grep -E "All [0-9]+ nodes reported" "$WORK/sim.log" 2>/dev/null | tail -n 3 | sed 's/^/    sim: /'
echo
say "total time $((($(now_ms) - t_bench) / 1000)) s. Figures (PASS/MISS against the target; INFO: no target):"
echo "RESULT cluster_apply_to_programmed_p50_ms=$p50 unit=ms target=$TARGET_MS status=$(status "$p50" "$TARGET_MS")"
echo "RESULT cluster_apply_to_programmed_max_ms=$pmax unit=ms target=$TARGET_MS status=$(status "$pmax" "$TARGET_MS")"
echo "RESULT cluster_writes_per_min_total=$(per_min "$w_total") unit=1/min target=none status=INFO"
echo "RESULT cluster_writes_per_min_operator=$(per_min "$w_op") unit=1/min target=none status=INFO"
echo "RESULT cluster_writes_per_min_real_agent=$(per_min "$w_agent") unit=1/min target=none status=INFO"
echo "RESULT cluster_writes_per_min_sim_agents=$(per_min "$w_sim") unit=1/min target=none status=INFO"
echo "RESULT cluster_operator_rss_mb=$op_rss unit=MB target=none status=INFO"
