#!/usr/bin/env bash
# End-to-end test of Vigil's install (issue 8), on a real kube-apiserver and etcd
# (scripts/controlplane.sh) with Helm built from its Go module (scripts/helm.sh):
#
#   - `helm template` (default values, and with the webhook and Slack sinks and a privileged agent)
#     and the plain manifests (kustomize) apply cleanly with `kubectl apply --dry-run=server`,
#     then the manifests for real; the chart's RBAC is the manifests' RBAC, rule for rule.
#   - The operator and the agent run as processes (the agent as root, with its BPF programs on
#     this host, which a Node object stands for) with the credentials of the manifests'
#     ServiceAccounts: tokens from the TokenRequest API, in kubeconfigs of their own. So every
#     flow below exercises exactly the install's RBAC: Vigil's default rules Accepted and the
#     syscall ones Programmed on 1/1 nodes, the NodeAgent Ready, a shell with a terminal in a
#     simulated pod (scripts/simulate-pod.sh) alerting at a webhook AlertSink, the audit route
#     (the operator's generated Secret vigil-audit-tls -> `vigilctl audit-config --from-cluster`
#     -> kube-apiserver restarted -> a NodePort Service alerting at the sink), and Events. Their
#     logs show no permission error (forbidden, 403).
#   - `kubectl auth can-i` shows what each must not do: the agent cannot list Secrets, edit rules
#     or read the audit ConfigMap; the operator cannot exec into pods, list Secrets or create pods.
#   - Uninstalling: what the operator created at run time is owned by its ServiceAccount
#     (ownerReferences). The control plane runs kube-controller-manager's garbage collector and
#     namespace controller (VIGIL_CONTROLLERS), so that is shown for real: deleting the
#     ServiceAccount alone makes the garbage collector delete those objects while namespace
#     vigil-system and the rest of the install stay; then `kubectl delete -k` removes the
#     cluster-scoped RBAC, the namespace controller removes the namespace, and the CRDs stay.
#   - Helm in namespace vigil-helm: install; upgrade with rules.defaults.syscall=false removes the
#     default syscall rules and keeps the audit ones; uninstall leaves none of the release's
#     objects; the CRDs stay.
# Needs root (BPF, cgroups): exits 77 (skipped) otherwise. The last line is "N passed, N failed".
# The *_PID variables are read through stop_pid's indirection.
# shellcheck disable=SC2034
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/e2e/lib.sh
source "$ROOT/test/e2e/lib.sh"
CP=$ROOT/scripts/controlplane.sh
SIM=$ROOT/scripts/simulate-pod.sh
BUILD=${VIGIL_BUILD_DIR:-$ROOT/build}
OPERATOR=${VIGIL_OPERATOR:-$BUILD/vigil-operator}
AGENT=${VIGIL_AGENT:-$BUILD/vigil-agent}
VIGILCTL=${VIGILCTL:-$BUILD/vigilctl}
RECORDER=${VIGIL_HTTP_RECORDER:-$BUILD/vigil-test-http-recorder}
NS=vigil-system
HELM_NS=vigil-helm
NODE=vigil-install-$(hostname | tr -c 'a-z0-9\n' '-' | cut -c1-30)-$$
OP_SA=system:serviceaccount:$NS:vigil-operator
AGENT_SA=system:serviceaccount:$NS:vigil-agent
OP_PID='' AGENT_PID='' REC_PID=''
PODS=()  # "ns pod id"

((EUID == 0)) || { echo "SKIP: needs root (the agent's BPF programs, cgroups)"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-install-e2e.XXXXXX")
D=$WORK/cp

stop_pid() {  # VAR: SIGTERM the process whose pid VAR holds, wait for it, clear VAR
  local p=${!1}
  [[ -n "$p" ]] || return 0
  kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  printf -v "$1" '%s' ""
}
cleanup() {
  local rc=$? p
  stop_pid AGENT_PID
  stop_pid OP_PID
  stop_pid REC_PID
  for p in "${PODS[@]}"; do
    # shellcheck disable=SC2086
    "$SIM" delete $p >/dev/null 2>&1
  done
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM

for b in "$OPERATOR" "$AGENT" "$VIGILCTL" "$RECORDER"; do [[ -x "$b" ]] || abort "no binary at $b (make build)"; done
command -v script >/dev/null || abort "script(1) missing: run scripts/install-deps.sh"
python3 -c 'import yaml' 2>/dev/null || abort "python3 with PyYAML is needed"
HELM=$("$ROOT/scripts/helm.sh" path 2>"$WORK/helm-build.log") || { tail -n 20 "$WORK/helm-build.log"; abort "helm (scripts/helm.sh path)"; }
# Helm's own state stays in the work directory.
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data
CHART=$ROOT/deploy/helm/vigil
MANIFESTS=$ROOT/deploy/manifests

# ---- the sink: a recording HTTP server on loopback
"$RECORDER" --out "$WORK/alerts.jsonl" --port-file "$WORK/recorder.port" --path /alerts \
  >"$WORK/recorder.log" 2>&1 &
REC_PID=$!
for _ in $(seq 50); do [[ -s "$WORK/recorder.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/recorder.port" ]] || { cat "$WORK/recorder.log"; abort "recorder did not start"; }
touch "$WORK/alerts.jsonl"

# ---- 1. the control plane (Vigil's audit policy, and a placeholder webhook kubeconfig that
# scripts/controlplane.sh writes until the operator made its certificates), the CRDs, the install
"$VIGILCTL" audit-config --policy-only >"$WORK/audit-policy.yaml" || abort "vigilctl audit-config --policy-only"
# The garbage collector and the namespace controller (kube-controller-manager) for step 6.
VIGIL_AUDIT_POLICY=$WORK/audit-policy.yaml VIGIL_AUDIT_WEBHOOK_CONFIG=$WORK/webhook.kubeconfig \
  VIGIL_AUDIT_WEBHOOK_MODE=batch VIGIL_CONTROLLERS=garbagecollector,namespace \
  "$CP" start "$D" >"$WORK/controlplane.log" 2>&1 \
  || { tail -n 30 "$WORK/controlplane.log"; abort "control plane start"; }
ok "control plane started with the audit policy, the garbage collector and the namespace controller"
# shellcheck disable=SC1091
source "$D/env"
export KUBECTL KUBECONFIG
ADMIN=$KUBECONFIG
K() { "$KUBECTL" --kubeconfig="$ADMIN" --request-timeout=20s "$@"; }
H() { "$HELM" --kubeconfig "$ADMIN" "$@"; }

K apply -f "$ROOT/crds/" >"$WORK/crds.log" 2>&1 || { cat "$WORK/crds.log"; abort "kubectl apply -f crds/"; }
K wait --for=condition=Established --timeout=30s crd/securityrules.vigil.dev crd/alertsinks.vigil.dev \
  crd/nodeagents.vigil.dev >/dev/null || abort "CRDs not established"
ok "kubectl apply -f crds/: the CRDs are established"

dry_run_helm() {  # DESC [helm template flags]: the rendered chart passes the server's dry run
  local desc=$1 out
  shift
  if ! H template vigil "$CHART" -n "$NS" "$@" >"$WORK/rendered.yaml" 2>"$WORK/helm-template.log"; then
    bad "helm template $desc: $(tail -n 5 "$WORK/helm-template.log")"
    return
  fi
  if out=$(K apply --dry-run=server -f "$WORK/rendered.yaml" 2>&1); then
    ok "helm template $desc | kubectl apply --dry-run=server ($(grep -c 'created\|configured\|unchanged' <<<"$out") objects)"
  else
    bad "helm template $desc | kubectl apply --dry-run=server"
    grep -v 'created\|configured\|unchanged' <<<"$out" | head -n 15 | sed 's/^/    /'
  fi
}
dry_run_helm "(default values)"
dry_run_helm "(webhook and Slack sinks, privileged agent)" \
  --set sinks.webhook.enabled=true,sinks.webhook.url=http://127.0.0.1:9/x \
  --set sinks.slack.enabled=true,sinks.slack.channel=#alerts --set agent.privileged=true

# The chart's RBAC must be what the processes below run with: the manifests' RBAC.
H template vigil "$CHART" -n "$NS" >"$WORK/chart.yaml" 2>/dev/null
K kustomize "$MANIFESTS" >"$WORK/manifests.yaml" 2>"$WORK/kustomize.log" || { cat "$WORK/kustomize.log"; abort "kubectl kustomize"; }
rbac_diff=$(python3 - "$WORK/chart.yaml" "$WORK/manifests.yaml" <<'PY'
import json, sys, yaml
def rbac(path):
    out = {}
    for d in yaml.safe_load_all(open(path)):
        if not d or d.get("kind") not in ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding", "ServiceAccount"):
            continue
        key = (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])
        canon = lambda x: json.dumps(x, sort_keys=True)
        norm = lambda rules: sorted(
            [{k: sorted(v) if isinstance(v, list) else v for k, v in r.items()} for r in rules or []],
            key=canon)
        out[key] = {"rules": norm(d.get("rules")), "roleRef": d.get("roleRef"),
                    "subjects": sorted(d.get("subjects") or [], key=canon)}
    return out
chart, plain = rbac(sys.argv[1]), rbac(sys.argv[2])
for k in sorted(set(chart) | set(plain)):
    if chart.get(k) != plain.get(k):
        print(f"{k}: chart={chart.get(k)} manifests={plain.get(k)}")
print(f"{len(chart)} objects")
PY
)
if [[ $(wc -l <<<"$rbac_diff") == 1 && $rbac_diff == *objects ]]; then
  ok "the chart's RBAC (ServiceAccounts, Roles, bindings) is the manifests' RBAC ($rbac_diff)"
else
  bad "the chart's RBAC differs from the manifests':"
  sed 's/^/    /' <<<"$rbac_diff"
fi

if out=$(K apply --dry-run=server -k "$MANIFESTS" 2>&1); then
  ok "kubectl apply --dry-run=server -k deploy/manifests ($(grep -c 'created\|configured\|unchanged' <<<"$out") objects)"
else
  bad "kubectl apply --dry-run=server -k deploy/manifests"
  sed 's/^/    /' <<<"$out" | head -n 15
fi
K apply -k "$MANIFESTS" >"$WORK/install.log" 2>&1 && ok "kubectl apply -k deploy/manifests" \
  || { cat "$WORK/install.log"; abort "kubectl apply -k deploy/manifests"; }

# ---- 2. the ServiceAccounts' credentials: TokenRequest tokens in kubeconfigs of their own
SERVER=$(K config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
CA_DATA=$(K config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
[[ -n "$SERVER" && -n "$CA_DATA" ]] || abort "no server or CA in the admin kubeconfig"
sa_kubeconfig() {  # SA OUT
  local token
  token=$(K -n "$NS" create token "$1" --duration=1h) || { bad "kubectl create token $1"; return 1; }
  cat >"$2" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "$SERVER", certificate-authority-data: "$CA_DATA"}}]
users: [{name: $1, user: {token: "$token"}}]
contexts: [{name: $1, context: {cluster: e2e, user: $1, namespace: $NS}}]
current-context: $1
YAML
  chmod 600 "$2"
}
OPK=$WORK/operator.kubeconfig
AGK=$WORK/agent.kubeconfig
sa_kubeconfig vigil-operator "$OPK" || abort "operator token"
sa_kubeconfig vigil-agent "$AGK" || abort "agent token"
KOP() { "$KUBECTL" --kubeconfig="$OPK" --request-timeout=20s "$@"; }
KAG() { "$KUBECTL" --kubeconfig="$AGK" --request-timeout=20s "$@"; }
who=$(KOP auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
[[ "$who" == "$OP_SA" ]] && ok "the operator's kubeconfig (TokenRequest token) is $who" || bad "operator whoami: $who"
who=$(KAG auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
[[ "$who" == "$AGENT_SA" ]] && ok "the agent's kubeconfig (TokenRequest token) is $who" || bad "agent whoami: $who"

# ---- 3. the operator and the agent with those credentials, flags from the manifests
# The container args of a workload in rendered YAML, with the pod's env references filled in;
# with "run", minus the flags that only make sense in a pod (replaced below).
workload_args() {  # FILE KIND NAME POD_NAME [run]
  python3 - "$@" "$NS" "$NODE" <<'PY'
import sys, yaml
path, kind, name, pod = sys.argv[1:5]
run = sys.argv[5] == "run" if len(sys.argv) == 8 else False
ns, node = sys.argv[-2:]
drop = ("--in-cluster", "--health-addr", "--audit-addr", "--spool-dir") if run else ()
for d in yaml.safe_load_all(open(path)):
    if d and d["kind"] == kind and d["metadata"]["name"] == name:
        for a in d["spec"]["template"]["spec"]["containers"][0].get("args", []):
            if a.split("=")[0] in drop:
                continue
            print(a.replace("$(POD_NAMESPACE)", ns).replace("$(POD_NAME)", pod).replace("$(NODE_NAME)", node))
PY
}
mapfile -t OP_ARGS < <(workload_args "$WORK/manifests.yaml" Deployment vigil-operator vigil-operator-e2e run)
mapfile -t AGENT_ARGS < <(workload_args "$WORK/manifests.yaml" DaemonSet vigil-agent vigil-agent-e2e run)
((${#OP_ARGS[@]} > 0 && ${#AGENT_ARGS[@]} > 0)) || abort "no container args in the manifests"
# The binaries must accept the args exactly as the manifests and the chart pass them (the
# agent's --validate parses every flag, compiles its rules and exits; nothing else runs. It
# refuses cluster mode, so --in-cluster, a switch needing the pod's token, is left out).
for src in manifests chart; do
  mapfile -t args < <(workload_args "$WORK/$src.yaml" DaemonSet vigil-agent vigil-agent-e2e | grep -vx -- --in-cluster)
  if out=$("$AGENT" "${args[@]}" --validate 2>&1); then
    ok "vigil-agent accepts the DaemonSet args of the $src as written (${args[*]})"
  else
    bad "vigil-agent refuses the DaemonSet args of the $src (${args[*]}): $(head -n 1 <<<"$out")"
  fi
done
echo "    operator: ${OP_ARGS[*]}"
echo "    agent:    ${AGENT_ARGS[*]}"

K apply -f - >/dev/null <<YAML || abort "Node object"
apiVersion: v1
kind: Node
metadata:
  name: $NODE
  labels: {kubernetes.io/hostname: $NODE}
YAML
"$OPERATOR" --kubeconfig "$OPK" "${OP_ARGS[@]}" --health-addr 127.0.0.1:0 --audit-addr 127.0.0.1:0 \
  --audit-tls-name 127.0.0.1 --resync 5 --alert-status-seconds 1 --cluster-name e2e \
  >"$WORK/operator.log" 2>&1 &
OP_PID=$!
"$AGENT" --kubeconfig "$AGK" "${AGENT_ARGS[@]}" --health-addr 127.0.0.1:0 --report-seconds 1 \
  --output-file "$WORK/agent-alerts.jsonl" --spool-dir "$WORK/spool" >"$WORK/agent.out" 2>"$WORK/agent.log" &
AGENT_PID=$!

K apply -f "$ROOT/rules/default/" >"$WORK/rules.log" 2>&1 && ok "Vigil's default rules applied (admin)" \
  || { cat "$WORK/rules.log"; bad "default rules applied"; }
K apply -f - >"$WORK/sink.log" 2>&1 <<YAML || { cat "$WORK/sink.log"; bad "webhook AlertSink applied"; }
apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata: {name: e2e-webhook, namespace: $NS}
spec:
  type: webhook
  webhook: {url: "http://127.0.0.1:$(cat "$WORK/recorder.port")/alerts", format: falco}
  delivery: {retries: 20, backoff: {initialSeconds: 1, maxSeconds: 2}}
YAML
mapfile -t SYSCALL_RULES < <(python3 -c 'import sys, yaml; [print(d["metadata"]["name"]) for d in yaml.safe_load_all(open(sys.argv[1])) if d]' "$ROOT/rules/default/syscall_rules.yaml")
mapfile -t AUDIT_RULES < <(python3 -c 'import sys, yaml; [print(d["metadata"]["name"]) for d in yaml.safe_load_all(open(sys.argv[1])) if d]' "$ROOT/rules/default/audit_rules.yaml")

# From here on, every read goes through the ServiceAccounts' credentials.
cond() {  # NAME TYPE (as the operator)
  KOP -n "$NS" get securityrule "$1" -o "jsonpath={.status.conditions[?(@.type==\"$2\")].status}" 2>&1
}
all_default_rules_ok() {
  local r n
  for r in "${SYSCALL_RULES[@]}" "${AUDIT_RULES[@]}"; do
    [[ "$(cond "$r" Accepted)" == True ]] || { echo "$r: Accepted=$(cond "$r" Accepted)"; return 1; }
  done
  for r in "${SYSCALL_RULES[@]}"; do
    n=$(KOP -n "$NS" get securityrule "$r" -o jsonpath='{.status.nodesSummary}' 2>&1)
    [[ "$(cond "$r" Programmed)" == True && "$n" == 1/1 ]] || { echo "$r: Programmed=$(cond "$r" Programmed) nodes=$n"; return 1; }
  done
}
eventually 40 "all ${#SYSCALL_RULES[@]}+${#AUDIT_RULES[@]} default rules Accepted=True, the syscall ones Programmed on 1/1 nodes (read as the operator)" \
  all_default_rules_ok
agent_ready() {
  local s
  s=$(KAG get nodeagent "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>&1)
  echo "Ready=$s"
  [[ "$s" == True ]]
}
eventually 20 "NodeAgent $NODE Ready=True (read as the agent)" agent_ready
owner=$(KAG get nodeagent "$NODE" -o jsonpath='{.metadata.ownerReferences[?(@.kind=="Node")].name}' 2>&1)
[[ "$owner" == "$NODE" ]] && ok "the NodeAgent is owned by its Node" || bad "NodeAgent owner: '$owner'"
sink_loaded() { grep -q "Delivering to [1-9][0-9]* AlertSink" "$WORK/agent.log"; }
eventually 20 "the agent loads the webhook AlertSink from the bundle (vigil-bundle-credentials by name)" sink_loaded

has_alert() {  # RULE PATTERN...: an alert of RULE at the recorder whose JSON has every pattern
  local rule=$1
  shift
  python3 - "$WORK/alerts.jsonl" "$rule" "$@" <<'PY'
import json, sys
path, rule, pats = sys.argv[1], sys.argv[2], sys.argv[3:]
for line in open(path):
    try:
        alerts = json.loads(json.loads(line).get("body", ""))
    except ValueError:
        continue
    for a in alerts if isinstance(alerts, list) else [alerts]:
        text = json.dumps(a)
        if isinstance(a, dict) and a.get("rule") == rule and all(p in text for p in pats):
            sys.exit(0)
sys.exit(1)
PY
}

# The syscall route: what `kubectl exec -it web-1 -- bash` does, a shell with a terminal whose
# parent is the container runtime (the default rule terminal-shell-in-container). The runtime is
# script(1) under the shim's name: it gives the shell its pseudo-terminal and is its parent.
mkdir -p "$WORK/bin" && cp "$(command -v script)" "$WORK/bin/containerd-shim"
id_web=$("$SIM" create shop web-1 "$NODE" docker.io/library/nginx:1.25) || abort "simulated pod"
PODS+=("shop web-1 $id_web")
sleep 1  # the pod watch delivers the Pod before the first event
"$SIM" exec "$id_web" "SHELL=/bin/bash $WORK/bin/containerd-shim -qec true /dev/null" >/dev/null 2>&1
eventually 15 "a shell with a terminal in pod shop/web-1: terminal-shell-in-container alert at the webhook sink" \
  has_alert terminal-shell-in-container web-1 shop

# The audit route, wired the way an admin does it.
audit_port() { grep -o 'Serving the audit webhook on https://[0-9.]*:[0-9]*' "$WORK/operator.log" | tail -n 1 | sed 's/.*://'; }
serving() { [[ -n "$(audit_port)" ]]; }
eventually 30 "the operator serves the audit webhook" serving || abort "no audit receiver"
tls_secret() { KOP -n "$NS" get secret vigil-audit-tls -o jsonpath='{.data.client\.crt}' 2>&1 | grep -q .; }
eventually 20 "the operator created Secret vigil-audit-tls (read as the operator)" tls_secret
audit_cm() { KOP -n "$NS" get configmap vigil-audit-config -o jsonpath='{.data.ca\.crt}' 2>&1 | grep -q 'BEGIN CERTIFICATE'; }
eventually 20 "the operator published ConfigMap vigil-audit-config" audit_cm
URL="https://127.0.0.1:$(audit_port)/k8s-audit"
if "$VIGILCTL" audit-config --from-cluster --kubeconfig "$ADMIN" --kubeconfig-only --url "$URL" \
  --out-dir "$WORK/audit-out" >"$WORK/vigilctl.out" 2>&1; then
  ok "vigilctl audit-config --from-cluster renders the API server's webhook kubeconfig"
else
  cat "$WORK/vigilctl.out"
  abort "vigilctl audit-config --from-cluster"
fi
cp "$WORK/audit-out/audit-webhook.kubeconfig" "$WORK/webhook.kubeconfig"
# A restarted kube-apiserver answers 403 until its authorizer has loaded the RBAC objects: what
# the processes log in that window is the restart's, not the install's RBAC (step 4 skips it).
declare -A PRE_RESTART POST_RESTART
for c in operator agent; do PRE_RESTART[$c]=$(wc -l <"$WORK/$c.log"); done
"$CP" restart-apiserver "$D" >>"$WORK/controlplane.log" 2>&1 || abort "kube-apiserver restart"
ok "kube-apiserver restarted with the webhook kubeconfig"
rbac_loaded() {
  [[ "$(K auth can-i watch securityrules.vigil.dev -A --as="$OP_SA" 2>/dev/null)" == yes &&
    "$(K auth can-i get configmap/vigil-bundle -n "$NS" --as="$AGENT_SA" 2>/dev/null)" == yes ]]
}
eventually 30 "the restarted kube-apiserver authorizes with the install's RBAC" rbac_loaded
for c in operator agent; do POST_RESTART[$c]=$(wc -l <"$WORK/$c.log"); done
audit_programmed() { [[ "$(cond nodeport-service-created Programmed)" == True ]]; }
eventually 30 "audit rule nodeport-service-created Programmed" audit_programmed
K get namespace shop >/dev/null 2>&1 || K create namespace shop >/dev/null
K -n shop create service nodeport payments-debug --tcp=5432:5432 --node-port=31337 >/dev/null || bad "create service"
eventually 30 "kubectl create service nodeport: nodeport-service-created alert at the webhook sink" \
  has_alert nodeport-service-created payments-debug 31337

# Events: a broken rule is rejected, and the operator says so in an Event.
K apply -f - >/dev/null <<YAML || bad "broken rule applied"
apiVersion: vigil.dev/v1alpha1
kind: SecurityRule
metadata: {name: broken-rule, namespace: $NS}
spec:
  source: syscall
  condition: "spawned_process and (proc.name = bash"
  output: "shell %proc.name"
  priority: Warning
YAML
rejected() { [[ "$(cond broken-rule Accepted)" == False ]]; }
eventually 20 "a broken rule is Accepted=False" rejected
event_seen() {  # the Events API's view (events.k8s.io/v1) and the core one: admin, the SAs cannot read Events
  K -n "$NS" get events.events.k8s.io -o jsonpath='{range .items[*]}{.reportingController}/{.reason}/{.regarding.name}{"\n"}{end}' |
    grep -q '^vigil-operator/InvalidCondition/broken-rule$' &&
    K -n "$NS" get events --field-selector involvedObject.name=broken-rule -o name | grep -q .
}
eventually 20 "kubectl get events -n $NS shows vigil-operator's InvalidCondition Event" event_seen
K -n "$NS" delete securityrule broken-rule >/dev/null

# ---- 4. no permission errors in either log
sleep 2  # a resync or two with everything in place
perm_errors() { grep -E 'forbidden|Forbidden|[^0-9]403([^0-9]|$)'; }
for c in operator agent; do
  total=$(wc -l <"$WORK/$c.log")
  errs=$({ head -n "${PRE_RESTART[$c]}" "$WORK/$c.log"; tail -n +"$((POST_RESTART[$c] + 1))" "$WORK/$c.log"; } | perm_errors | head -n 5)
  window=$(sed -n "$((PRE_RESTART[$c] + 1)),${POST_RESTART[$c]}p" "$WORK/$c.log" | perm_errors | wc -l)
  if [[ -z "$errs" ]]; then
    ok "no permission error (forbidden, 403) in the $c's log ($total lines; $window in the API server's restart window skipped)"
  else
    bad "permission errors in the $c's log:"
    sed 's/^/    /' <<<"$errs"
  fi
done

# ---- 5. what each must not do (and, so the answers mean something, what it must)
can() {  # yes|no SA DESC ARGS...: kubectl auth can-i ARGS --as SA answers yes|no
  local want=$1 sa=$2 desc=$3 got
  shift 3
  got=$(K auth can-i "$@" --as="system:serviceaccount:$NS:$sa" 2>/dev/null)
  [[ "$got" == "$want" ]] && ok "$sa: $desc ($got)" || bad "$sa: $desc: can-i says '$got'"
}
can no vigil-agent "cannot list secrets in any namespace" list secrets -A
can no vigil-agent "cannot list secrets in $NS" list secrets -n "$NS"
can no vigil-agent "cannot get secret vigil-audit-tls" get secret/vigil-audit-tls -n "$NS"
can no vigil-agent "cannot update securityrules" update securityrules.vigil.dev -n "$NS"
can no vigil-agent "cannot patch securityrules" patch securityrules.vigil.dev -n "$NS"
can no vigil-agent "cannot create securityrules" create securityrules.vigil.dev -n "$NS"
can no vigil-agent "cannot get configmap vigil-audit-config" get configmap/vigil-audit-config -n "$NS"
can yes vigil-agent "can get configmap vigil-bundle" get configmap/vigil-bundle -n "$NS"
can yes vigil-agent "can get secret vigil-bundle-credentials" get secret/vigil-bundle-credentials -n "$NS"
can no vigil-operator "cannot exec into pods" create pods --subresource=exec -n shop
can no vigil-operator "cannot list secrets in any namespace" list secrets -A
can no vigil-operator "cannot list secrets in $NS" list secrets -n "$NS"
can no vigil-operator "cannot create pods" create pods -n "$NS"
can yes vigil-operator "can patch securityrules/status" patch securityrules.vigil.dev --subresource=status -n "$NS"
can no vigil-operator "cannot update securityrules" update securityrules.vigil.dev -n "$NS"

# ---- 6. uninstall the plain manifests
stop_pid AGENT_PID
stop_pid OP_PID
ok "operator and agent stopped"
SA_UID=$(K -n "$NS" get serviceaccount vigil-operator -o jsonpath='{.metadata.uid}')
# What the operator created at run time, each to be owned by its ServiceAccount.
RUNTIME=(configmap/vigil-bundle configmap/vigil-audit-config secret/vigil-bundle-credentials
  secret/vigil-audit-tls lease.coordination.k8s.io/vigil-operator)
mapfile -t -O "${#RUNTIME[@]}" RUNTIME < <(K -n "$NS" get configmaps -l vigil.dev/audit-receiver=true -o name)
((${#RUNTIME[@]} >= 6)) || bad "no audit receiver report ConfigMap found (vigil.dev/audit-receiver=true)"
for o in "${RUNTIME[@]}"; do
  refs=$(K -n "$NS" get "$o" -o jsonpath='{range .metadata.ownerReferences[*]}{.kind}/{.name}/{.uid}{"\n"}{end}' 2>&1)
  if grep -qx "ServiceAccount/vigil-operator/$SA_UID" <<<"$refs"; then
    ok "$o is owned by ServiceAccount vigil-operator"
  else
    bad "$o has no ownerReference to ServiceAccount vigil-operator (uid $SA_UID): an orphan after uninstall (ownerReferences: '$(tr '\n' ' ' <<<"$refs")')"
  fi
done

# The garbage collector, by owner: the ServiceAccount alone is deleted, the namespace stays (so
# the namespace controller has no part in it), and what the operator created goes with it.
K -n "$NS" delete serviceaccount vigil-operator >"$WORK/uninstall-sa.log" 2>&1 \
  && ok "kubectl delete serviceaccount vigil-operator -n $NS (the owner alone)" \
  || { cat "$WORK/uninstall-sa.log"; bad "kubectl delete serviceaccount vigil-operator"; }
runtime_collected() {
  local left
  left=$(K -n "$NS" get "${RUNTIME[@]}" --ignore-not-found -o name 2>&1) || { echo "$left"; return 1; }
  [[ -z "$left" ]] || { echo "left: $(tr '\n' ' ' <<<"$left")"; return 1; }
}
eventually 60 "the garbage collector deleted the ${#RUNTIME[@]} objects the operator created (${RUNTIME[*]})" \
  runtime_collected
phase=$(K get namespace "$NS" -o jsonpath='{.status.phase}' 2>&1)
kept=$(K -n "$NS" get serviceaccount/vigil-agent -o name 2>&1)
[[ "$phase" == Active && "$kept" == serviceaccount/vigil-agent ]] \
  && ok "meanwhile namespace $NS is Active and the rest of the install is there (ServiceAccount vigil-agent): collected by owner" \
  || bad "namespace $NS phase '$phase', vigil-agent: '$kept'"

K delete -k "$MANIFESTS" --ignore-not-found --wait=false >"$WORK/uninstall.log" 2>&1 && ok "kubectl delete -k deploy/manifests" \
  || { cat "$WORK/uninstall.log"; bad "kubectl delete -k deploy/manifests"; }
left=$(K get clusterrole/vigil-operator clusterrole/vigil-agent clusterrolebinding/vigil-operator \
  clusterrolebinding/vigil-agent --ignore-not-found -o name 2>&1)
[[ -z "$left" ]] && ok "the cluster-scoped RBAC is gone" || bad "left after uninstall: $left"
ns_gone() {
  local out
  out=$(K get namespace "$NS" --ignore-not-found -o jsonpath='{.metadata.name} {.status.phase}' 2>&1) || { echo "$out"; return 1; }
  [[ -z "$out" ]] || { echo "namespace: $out"; K -n "$NS" get all,configmaps,secrets,leases,securityrules,alertsinks -o name 2>&1 | head; return 1; }
}
eventually 90 "the namespace controller removed namespace $NS (its SecurityRules, AlertSinks, ConfigMaps, ...)" ns_gone
left=$(K -n "$NS" get -k "$MANIFESTS" --ignore-not-found -o name 2>&1)
[[ -z "$left" ]] && ok "every object of the manifests is gone, namespace included" \
  || bad "left after uninstall: $(tr '\n' ' ' <<<"$left")"
crds=$(K get crd securityrules.vigil.dev alertsinks.vigil.dev nodeagents.vigil.dev -o name 2>&1 | wc -l)
[[ "$crds" == 3 ]] && ok "the CRDs are kept" || bad "CRDs after uninstall: $crds of 3"

# ---- 7. Helm: install, upgrade, uninstall (after the manifests: the chart's cluster-scoped
# objects have the same names)
if H install vigil "$CHART" -n "$HELM_NS" --create-namespace >"$WORK/helm-install.log" 2>&1; then
  ok "helm install vigil deploy/helm/vigil -n $HELM_NS"
else
  cat "$WORK/helm-install.log"
  abort "helm install"
fi
rules_in() {  # NAME... -> the ones that exist in $HELM_NS
  local r
  for r in "$@"; do K -n "$HELM_NS" get securityrule "$r" -o name 2>/dev/null; done
}
n=$(rules_in "${SYSCALL_RULES[@]}" "${AUDIT_RULES[@]}" | wc -l)
((n == ${#SYSCALL_RULES[@]} + ${#AUDIT_RULES[@]})) && ok "the release has the $n default rules in $HELM_NS" \
  || bad "default rules in $HELM_NS after install: $n"
H get manifest vigil -n "$HELM_NS" >"$WORK/release-v1.yaml" 2>/dev/null
if H upgrade vigil "$CHART" -n "$HELM_NS" --set rules.defaults.syscall=false --set operator.logLevel=debug \
  >"$WORK/helm-upgrade.log" 2>&1; then
  ok "helm upgrade --set rules.defaults.syscall=false,operator.logLevel=debug"
else
  cat "$WORK/helm-upgrade.log"
  bad "helm upgrade"
fi
n=$(rules_in "${SYSCALL_RULES[@]}" | wc -l)
((n == 0)) && ok "the default syscall rules are gone after the upgrade" || bad "$n syscall rules left after the upgrade"
n=$(rules_in "${AUDIT_RULES[@]}" | wc -l)
((n == ${#AUDIT_RULES[@]})) && ok "the $n default audit rules remain" || bad "audit rules after the upgrade: $n of ${#AUDIT_RULES[@]}"
op_args=$(K -n "$HELM_NS" get deployment vigil-operator -o jsonpath='{.spec.template.spec.containers[0].args}')
[[ "$op_args" == *--log-level=debug* ]] && ok "the upgrade changed the operator's Deployment (--log-level=debug)" \
  || bad "operator args after upgrade: $op_args"
H get manifest vigil -n "$HELM_NS" >"$WORK/release-v2.yaml" 2>/dev/null
cat "$WORK/release-v1.yaml" "$WORK/release-v2.yaml" >"$WORK/release-all.yaml"
before=$(K get -f "$WORK/release-v2.yaml" -o name 2>/dev/null | wc -l)
echo "    the release has $before objects"
if H uninstall vigil -n "$HELM_NS" >"$WORK/helm-uninstall.log" 2>&1; then
  ok "helm uninstall vigil"
else
  cat "$WORK/helm-uninstall.log"
  bad "helm uninstall"
fi
left=$(K get -f "$WORK/release-all.yaml" --ignore-not-found -o name 2>&1)
((before > 10)) && [[ -z "$left" ]] && ok "none of the release's $before objects is left (of either revision)" \
  || bad "left after helm uninstall ($before objects before): $(tr '\n' ' ' <<<"$left")"
left=$(K -n "$HELM_NS" get secrets -l owner=helm -o name 2>&1)
[[ -z "$left" ]] && ok "no Helm release Secret left" || bad "release Secrets left: $left"
K get crd securityrules.vigil.dev >/dev/null 2>&1 && ok "the CRDs are kept after helm uninstall (securityrules.vigil.dev)" \
  || bad "securityrules.vigil.dev is gone after helm uninstall"

summary
((FAIL == 0))
