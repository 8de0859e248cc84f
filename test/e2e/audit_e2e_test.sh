#!/usr/bin/env bash
# End-to-end test of the audit webhook route: a real kube-apiserver (scripts/controlplane.sh) sends
# its audit events in batches to the real operator's receiver over HTTPS, authenticated with the
# client certificate the operator generated; the operator evaluates Vigil's default k8s_audit
# rules and delivers alerts to a webhook AlertSink (vigil-test-http-recorder on loopback).
#
# The wiring is what an admin does: the operator generates its CA, serving and client
# certificates into Secret vigil-audit-tls; `vigilctl audit-config --from-cluster` renders the API server's
# webhook kubeconfig from them; kube-apiserver restarts with it. Then:
#   kubectl create service nodeport      -> the NodePort alert reaches the sink (user, service,
#                                           namespace, ports); the rule's ALERTS rises
#   privileged pod, runAsUser 0 pod       -> their alerts
#   a benign deployment                   -> no alert
#   bad token, no client certificate      -> 401; another CA's certificate -> TLS refused
#   malformed, truncated, oversized, deep -> 400/413, and the receiver keeps serving
#   a second replica (not the leader)     -> what it receives is counted in status too
# The last line is "N passed, N failed".
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/e2e/lib.sh
source "$ROOT/test/e2e/lib.sh"
CP=$ROOT/scripts/controlplane.sh
BUILD=${VIGIL_BUILD_DIR:-$ROOT/build}
VIGILCTL=${VIGILCTL:-$BUILD/vigilctl}
OPERATOR=${VIGIL_OPERATOR:-$BUILD/vigil-operator}
RECORDER=${VIGIL_HTTP_RECORDER:-$BUILD/vigil-test-http-recorder}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-audit-e2e.XXXXXX")
D=$WORK/cp
PIDS=()

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM

for b in "$VIGILCTL" "$OPERATOR" "$RECORDER"; do [[ -x "$b" ]] || abort "no binary at $b (make build)"; done
command -v curl >/dev/null || abort "curl is needed"
command -v openssl >/dev/null || abort "openssl is needed"

# ---- the sink: a recording HTTP server on loopback
"$RECORDER" --out "$WORK/alerts.jsonl" --port-file "$WORK/recorder.port" --path /alerts \
  >"$WORK/recorder.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [[ -s "$WORK/recorder.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/recorder.port" ]] || { cat "$WORK/recorder.log"; abort "recorder did not start"; }
touch "$WORK/alerts.jsonl"

# ---- the control plane, with Vigil's audit policy and (for now) a placeholder webhook config
# (scripts/controlplane.sh writes one: the file does not exist yet), replaced once the operator made its certificates.
"$VIGILCTL" audit-config --policy-only >"$WORK/audit-policy.yaml" || abort "vigilctl audit-config --policy-only"
VIGIL_AUDIT_POLICY=$WORK/audit-policy.yaml VIGIL_AUDIT_WEBHOOK_CONFIG=$WORK/webhook.kubeconfig \
  VIGIL_AUDIT_WEBHOOK_MODE=batch "$CP" start "$D" >"$WORK/controlplane.log" 2>&1 \
  || { tail -n 30 "$WORK/controlplane.log"; abort "control plane start"; }
ok "control plane started with the audit policy"
# shellcheck disable=SC1091
source "$D/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }
K apply -f "$ROOT/crds/" >"$WORK/crds.log" 2>&1 || { cat "$WORK/crds.log"; abort "CRDs"; }
K wait --for=condition=Established --timeout=30s crd/securityrules.vigil.dev crd/alertsinks.vigil.dev \
  >/dev/null || abort "CRDs not established"
K get namespace vigil-system >/dev/null 2>&1 || K create namespace vigil-system >/dev/null || abort "namespace"
K apply -f "$ROOT/rules/default/audit_rules.yaml" >"$WORK/rules.log" 2>&1 \
  || { cat "$WORK/rules.log"; abort "default audit rules"; }
K apply -f - >"$WORK/sink.log" 2>&1 <<YAML || { cat "$WORK/sink.log"; abort "AlertSink"; }
apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata: {name: audit-webhook, namespace: vigil-system}
spec:
  type: webhook
  webhook: {url: "http://127.0.0.1:$(cat "$WORK/recorder.port")/alerts", format: falco}
  filter: {sources: [k8s_audit]}
  delivery: {retries: 20, backoff: {initialSeconds: 1, maxSeconds: 2}}
YAML

# ---- the operator (leader) with its receiver on a free loopback port
start_operator() {  # NAME [extra flags]
  local name=$1
  shift
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --namespace vigil-system --identity "$name" \
    --health-addr 127.0.0.1:0 --audit-addr 127.0.0.1:0 --audit-tls-name 127.0.0.1 \
    --resync 5 --alert-status-seconds 1 --cluster-name e2e "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
audit_port() { grep -o 'Serving the audit webhook on https://[0-9.]*:[0-9]*' "$WORK/$1.log" | tail -n 1 | sed 's/.*://'; }
serving() { [[ -n "$(audit_port "$1")" ]]; }
start_operator op-a
eventually 30 "operator op-a serves the audit webhook" serving op-a || abort "no receiver"
eventually 30 "op-a leads" grep -q "Became the leader" "$WORK/op-a.log"
PORT_A=$(audit_port op-a)
URL="https://127.0.0.1:$PORT_A/k8s-audit"

# ---- what an admin does: the webhook kubeconfig from the generated Secret, then restart
S=$WORK/secret
mkdir -p "$S"
for k in ca.crt client.crt client.key token; do
  K -n vigil-system get secret vigil-audit-tls -o "jsonpath={.data.${k//./\\.}}" | base64 -d >"$S/$k" \
    || abort "Secret vigil-audit-tls has no $k"
done
[[ -s "$S/ca.crt" && -s "$S/client.key" && -s "$S/token" ]] || abort "Secret vigil-audit-tls incomplete"
ok "the operator generated Secret vigil-audit-tls (CA, client certificate, token)"
eventually 20 "ConfigMap vigil-audit-config publishes the policy and the CA" \
  bash -c "'$KUBECTL' --kubeconfig='$KUBECONFIG' -n vigil-system get configmap vigil-audit-config -o jsonpath='{.data.ca\.crt}' | grep -q 'BEGIN CERTIFICATE'"
"$VIGILCTL" audit-config --from-cluster --kubeconfig "$KUBECONFIG" --kubeconfig-only --url "$URL" \
  --out-dir "$WORK/out" >"$WORK/vigilctl.out" 2>&1 \
  || { cat "$WORK/vigilctl.out"; abort "vigilctl audit-config --from-cluster"; }
grep -q "client-certificate-data" "$WORK/out/audit-webhook.kubeconfig" \
  && ok "vigilctl audit-config --from-cluster renders the kubeconfig with the generated client certificate" \
  || bad "no client certificate in the rendered kubeconfig"
cp "$WORK/out/audit-webhook.kubeconfig" "$WORK/webhook.kubeconfig"
"$CP" restart-apiserver "$D" >>"$WORK/controlplane.log" 2>&1 || abort "kube-apiserver restart"
ok "kube-apiserver restarted with the webhook kubeconfig"

status_of() {  # RULE JSONPATH
  K -n vigil-system get securityrule "$1" -o "jsonpath=$2" 2>/dev/null
}
eventually 30 "audit rules are Programmed by the audit receiver" \
  bash -c "[[ \$('$KUBECTL' --kubeconfig='$KUBECONFIG' -n vigil-system get securityrule nodeport-service-created -o jsonpath='{.status.conditions[?(@.type==\"Programmed\")].status}') == True ]]"
reason=$(status_of nodeport-service-created '{.status.conditions[?(@.type=="Programmed")].reason}')
[[ "$reason" == AuditReceiver ]] && ok "Programmed reason AuditReceiver" || bad "Programmed reason '$reason'"

has_alert() {  # RULE PATTERN...: an alert of RULE whose body matches every pattern
  local rule=$1
  shift
  python3 - "$WORK/alerts.jsonl" "$rule" "$@" <<'PY'
import json, sys
path, rule, pats = sys.argv[1], sys.argv[2], sys.argv[3:]
for line in open(path):
    body = json.loads(line).get("body", "")
    try:
        alerts = json.loads(body)
    except ValueError:
        continue
    for a in alerts if isinstance(alerts, list) else [alerts]:
        text = json.dumps(a)
        if a.get("rule") == rule and all(p in text for p in pats):
            sys.exit(0)
sys.exit(1)
PY
}

# ---- the story: a NodePort Service
K create namespace shop >/dev/null || abort "namespace shop"
ME=$(K auth whoami -o jsonpath='{.status.userInfo.username}' 2>/dev/null)
[[ -n "$ME" ]] || ME="user="
t0=$SECONDS
K -n shop create service nodeport payments-debug --tcp=5432:5432 --node-port=31337 >/dev/null || abort "create service"
eventually 20 "the NodePort alert reaches the sink with user, service, namespace and ports" \
  has_alert nodeport-service-created payments-debug ns=shop 31337 "$ME"
echo "    (kubectl create -> alert at the sink: $((SECONDS - t0))s)"
eventually 20 "the rule's ALERTS count rises" \
  bash -c "[[ \$('$KUBECTL' --kubeconfig='$KUBECONFIG' -n vigil-system get securityrule nodeport-service-created -o jsonpath='{.status.alerts.total}') -ge 1 ]]"
cols=$(K -n vigil-system get securityrule nodeport-service-created --no-headers 2>&1)
echo "    $cols"

# ---- pods: privileged, root, and a benign deployment
K apply -f - >"$WORK/pods.log" 2>&1 <<'YAML' || { cat "$WORK/pods.log"; bad "pods created"; }
apiVersion: v1
kind: Pod
metadata: {name: priv-debug, namespace: shop}
spec:
  containers:
  - {name: c, image: docker.io/library/busybox:1.36, securityContext: {privileged: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: root-debug, namespace: shop}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
  - {name: c, image: docker.io/library/busybox:1.36, securityContext: {runAsUser: 0, runAsNonRoot: false}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: benign-web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: benign-web}}
  template:
    metadata: {labels: {app: benign-web}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1000}
      containers:
      - name: web
        image: docker.io/library/nginx:1.25
        securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000}
YAML
eventually 20 "privileged pod alert" has_alert privileged-pod-created priv-debug
eventually 20 "runAsUser 0 pod alert" has_alert pod-running-as-root root-debug
# A marker after the deployment: once its alert arrived, the deployment's events were evaluated.
K -n shop create service nodeport marker --tcp=80:80 >/dev/null || bad "marker service"
eventually 20 "marker NodePort alert" has_alert nodeport-service-created '"marker'
if grep -q benign-web "$WORK/alerts.jsonl"; then
  bad "the benign deployment raised an alert: $(grep -o '.\{80\}benign-web.\{40\}' "$WORK/alerts.jsonl" | head -n 2)"
else
  ok "the benign deployment raised no alert"
fi

# ---- the receiver refuses what it must, and keeps serving
TOKEN=$(<"$S/token")
code() { curl -s -o "$WORK/curl.body" -w '%{http_code}' --max-time 10 "$@"; }
event='{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"e2e-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/services","verb":"create","user":{"username":"curl"},"objectRef":{"resource":"services","namespace":"shop","name":"curl-np","apiVersion":"v1"},"responseStatus":{"code":201},"requestObject":{"kind":"Service","apiVersion":"v1","metadata":{"name":"curl-np"},"spec":{"type":"NodePort","ports":[{"port":80}]}},"requestReceivedTimestamp":"2026-11-27T10:00:00.000000Z","stageTimestamp":"2026-11-27T10:00:00.010000Z"}'
c=$(code --cacert "$S/ca.crt" -H 'Content-Type: application/json' -d "$event" "$URL")
[[ $c == 401 ]] && ok "no client certificate and no token: 401" || bad "no credentials: $c"
c=$(code --cacert "$S/ca.crt" -H 'Authorization: Bearer wrong' -H 'Content-Type: application/json' -d "$event" "$URL")
[[ $c == 401 ]] && ok "bad token: 401" || bad "bad token: $c"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=intruder \
  -keyout "$WORK/other.key" -out "$WORK/other.crt" >/dev/null 2>&1
c=$(code --cacert "$S/ca.crt" --cert "$WORK/other.crt" --key "$WORK/other.key" -H 'Content-Type: application/json' -d "$event" "$URL")
[[ $c == 000 || $c == 401 ]] && ok "a certificate from another CA: refused ($c)" || bad "another CA's certificate: $c"
c=$(code --cacert "$S/ca.crt" --cert "$S/client.crt" --key "$S/client.key" -H 'Content-Type: application/json' -d "$event" "$URL")
[[ $c == 200 ]] && ok "the generated client certificate: 200" || bad "client certificate: $c $(cat "$WORK/curl.body")"
A=(--cacert "$S/ca.crt" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')
c=$(code "${A[@]}" -d '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[' "$URL")
[[ $c == 400 ]] && ok "truncated body: 400 ($(head -c 80 "$WORK/curl.body"))" || bad "truncated: $c"
c=$(code "${A[@]}" -d 'this is not json' "$URL")
[[ $c == 400 ]] && ok "malformed body: 400" || bad "malformed: $c"
c=$(code "${A[@]}" -d '{"kind":"PodList","apiVersion":"v1","items":[]}' "$URL")
[[ $c == 400 ]] && ok "wrong kind: 400 ($(head -c 80 "$WORK/curl.body"))" || bad "wrong kind: $c"
python3 -c 'print("["*20000 + "]"*20000)' >"$WORK/deep.json"
c=$(code "${A[@]}" --data-binary @"$WORK/deep.json" "$URL")
[[ $c == 400 ]] && ok "deeply nested body: 400" || bad "deep: $c"
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$WORK/big.json"
c=$(code "${A[@]}" --data-binary @"$WORK/big.json" "$URL")
[[ $c == 413 ]] && ok "oversized body (17 MiB): 413" || bad "oversized: $c"
c=$(code "${A[@]}" -H 'Expect: 100-continue' -d "${event/e2e-1/e2e-2}" "${URL/k8s-audit/k8s_audit}")
[[ $c == 200 ]] && ok "Expect: 100-continue at /k8s_audit: 200" || bad "100-continue /k8s_audit: $c"
c=$(code --cacert "$S/ca.crt" -H "Authorization: Bearer $TOKEN" "$URL")
[[ $c == 405 ]] && ok "GET: 405" || bad "GET: $c"
K -n shop create service nodeport after-abuse --tcp=81:81 >/dev/null || bad "service after abuse"
eventually 20 "the receiver still serves the API server after the bad requests" has_alert nodeport-service-created after-abuse
metrics_port=$(grep -o 'Serving health and metrics on [0-9.]*:[0-9]*' "$WORK/op-a.log" | tail -n 1 | sed 's/.*://')
m=$(curl -s "http://127.0.0.1:$metrics_port/metrics")
for name in vigil_operator_audit_unauthorized_total vigil_operator_audit_bad_requests_total vigil_operator_audit_events_total; do
  v=$(awk -v n="$name" '$1==n {print $2}' <<<"$m")
  [[ -n "$v" && "${v%%.*}" -ge 1 ]] && ok "metric $name = ${v%%.*}" || bad "metric $name = '$v'"
done

# ---- a second replica: it receives too, and the leader counts what it saw
before=$(status_of nodeport-service-created '{.status.alerts.total}')
start_operator op-b
eventually 30 "replica op-b serves the audit webhook" serving op-b
URL_B="https://127.0.0.1:$(audit_port op-b)/k8s-audit"
grep -q "Became the leader" "$WORK/op-b.log" && bad "op-b became the leader" || ok "op-b is not the leader"
c=$(code --cacert "$S/ca.crt" --cert "$S/client.crt" --key "$S/client.key" -H 'Content-Type: application/json' \
  -d "${event/e2e-1/e2e-b}" "$URL_B")
[[ $c == 200 ]] && ok "op-b accepts an event with the shared client certificate" || bad "op-b: $c"
eventually 20 "op-b's alert reaches the sink" has_alert nodeport-service-created curl-np
eventually 30 "the leader counts op-b's alert into status (was $before)" \
  bash -c "[[ \$('$KUBECTL' --kubeconfig='$KUBECONFIG' -n vigil-system get securityrule nodeport-service-created -o jsonpath='{.status.alerts.total}') -gt $before ]]"
receivers=$(K -n vigil-system get configmaps -l vigil.dev/audit-receiver=true -o name | wc -l)
[[ $receivers == 2 ]] && ok "two receiver reports (one per replica)" || bad "receiver reports: $receivers"
delivered=$(K -n vigil-system get alertsink audit-webhook -o jsonpath='{.status.delivered}')
[[ -n "$delivered" && "$delivered" -ge 5 ]] && ok "AlertSink status counts the operator's deliveries ($delivered)" \
  || bad "AlertSink delivered '$delivered'"

summary
((FAIL == 0))
