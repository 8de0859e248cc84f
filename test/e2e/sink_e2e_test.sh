#!/usr/bin/env bash
# End-to-end test of `vigilctl sink test` and `vigilctl sink list` against a real kube-apiserver
# and etcd (scripts/controlplane.sh): AlertSinks and Secrets read from the cluster, the test alert
# delivered to a local recording HTTP server (vigil-test-http-recorder), a missing Secret and a
# missing sink reported with exit 1. No operator is needed: vigilctl reads the objects itself.
# The last line is "N passed, N failed".
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/e2e/lib.sh
source "$ROOT/test/e2e/lib.sh"
CP=$ROOT/scripts/controlplane.sh
VIGILCTL=${VIGILCTL:-$ROOT/build/vigilctl}
RECORDER=${VIGIL_HTTP_RECORDER:-$ROOT/build/vigil-test-http-recorder}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-sink-e2e.XXXXXX")
D=$WORK/cp
REC_PID=

cleanup() {
  local rc=$?
  if [[ -n "$REC_PID" ]]; then kill "$REC_PID" 2>/dev/null; wait "$REC_PID" 2>/dev/null; fi
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM

# check DESC EXPECTED_STATUS PATTERN CMD...: runs CMD once; passes when it exits with
# EXPECTED_STATUS and its output (stdout and stderr) matches the extended regex PATTERN.
check() {
  local desc=$1 want=$2 pattern=$3 out rc
  shift 3
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -eq $want ]] && grep -Eq -- "$pattern" <<<"$out"; then
    ok "$desc"
  else
    bad "$desc (exit $rc, wanted $want and /$pattern/)"
    printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
  fi
}

[[ -x "$VIGILCTL" ]] || abort "no vigilctl binary at $VIGILCTL (make build)"
[[ -x "$RECORDER" ]] || abort "no vigil-test-http-recorder binary at $RECORDER (make build)"

# ---- the destination: a recording HTTP server on loopback
"$RECORDER" --out "$WORK/received.jsonl" --port-file "$WORK/recorder.port" \
  --path /alerts --path /services/T0/B0/SECRETPART >"$WORK/recorder.log" 2>&1 &
REC_PID=$!
for _ in $(seq 50); do [[ -s "$WORK/recorder.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/recorder.port" ]] || { cat "$WORK/recorder.log"; abort "recorder did not start"; }
PORT=$(<"$WORK/recorder.port")
ok "recording server listening on 127.0.0.1:$PORT"

# ---- the control plane and the CRDs
"$CP" start "$D" >"$WORK/controlplane.log" 2>&1 || { tail -n 30 "$WORK/controlplane.log"; abort "control plane start"; }
ok "control plane started"
# shellcheck disable=SC1091
source "$D/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }
V() { "$VIGILCTL" "$@"; }
if K apply -f "$ROOT/crds/" >"$WORK/crds.log" 2>&1; then ok "CRDs applied"; else cat "$WORK/crds.log"; abort "CRDs"; fi
K wait --for=condition=Established --timeout=30s crd/alertsinks.vigil.dev >/dev/null \
  || abort "AlertSink CRD not established"

# ---- a webhook sink with a header Secret, a Slack sink whose URL is in a Secret, a broken one
cat >"$WORK/sinks.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: hook-auth
  namespace: vigil-system
stringData:
  Authorization: Bearer e2e-s3cr3t
---
apiVersion: v1
kind: Secret
metadata:
  name: slack-webhook
  namespace: vigil-system
stringData:
  url: http://127.0.0.1:$PORT/services/T0/B0/SECRETPART
---
apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata:
  name: hook
  namespace: vigil-system
spec:
  type: webhook
  webhook:
    url: http://127.0.0.1:$PORT/alerts
    headersSecretRef:
      name: hook-auth
    timeoutSeconds: 5
  filter:
    minimumPriority: Emergency
---
apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata:
  name: slack
  namespace: vigil-system
spec:
  type: slack
  slack:
    webhookSecretRef: {name: slack-webhook, key: url}
---
apiVersion: vigil.dev/v1alpha1
kind: AlertSink
metadata:
  name: no-secret
  namespace: vigil-system
spec:
  type: slack
  slack:
    webhookSecretRef: {name: no-such-secret, key: url}
YAML
if K apply -f "$WORK/sinks.yaml" >"$WORK/apply.log" 2>&1; then ok "Secrets and AlertSinks applied"; else
  cat "$WORK/apply.log"; abort "apply"; fi

received() { [[ -f "$WORK/received.jsonl" ]] && wc -l <"$WORK/received.jsonl" || echo 0; }

# ---- sink test through the cluster
check "vigilctl sink test hook delivers (webhook, HTTP 200)" 0 \
  '^sent a test alert to AlertSink vigil-system/hook \(webhook\): HTTP 200 in [0-9]+ ms$' \
  V sink test hook -n vigil-system --kubeconfig "$KUBECONFIG"
line=$(head -n 1 "$WORK/received.jsonl" 2>/dev/null)
if [[ "$line" == *'"path":"/alerts"'* && "$line" == *'\"rule\":\"Vigil test alert\"'* &&
  "$line" == *'\"priority\":\"Debug\"'* && "$line" == *'This is a test from vigilctl'* ]]; then
  ok "the recorder got the test alert at /alerts (rule, priority Debug, output)"
else
  bad "the recorder did not get the test alert: $line"
fi

check "vigilctl sink test slack delivers with the URL from the Secret, without printing it" 0 \
  '^sent a test alert to AlertSink vigil-system/slack \(slack\): HTTP 200' \
  V sink test slack --kubeconfig "$KUBECONFIG" --priority Warning
if grep -F '"path":"/services/T0/B0/SECRETPART"' "$WORK/received.jsonl" | grep -q attachments; then
  ok "the recorder got a Slack message at the Secret's URL"
else
  bad "no Slack message recorded"; cat "$WORK/received.jsonl"
fi

before=$(received)
check "--dry-run prints the request without the Secret's values" 0 'headers: Content-Type, Authorization' \
  V sink test hook --kubeconfig "$KUBECONFIG" --dry-run
if [[ "$(V sink test hook --kubeconfig "$KUBECONFIG" --dry-run 2>&1)" == *e2e-s3cr3t* ]]; then
  bad "--dry-run printed a header value from the Secret"; else ok "--dry-run printed no Secret value"; fi
if [[ "$(received)" == "$before" ]]; then ok "--dry-run sent nothing"; else bad "--dry-run sent a request"; fi

check "a sink whose Secret is missing: exit 1 naming the Secret and key" 1 \
  "Secret vigil-system/no-such-secret not found \(wanted for key 'url'\)" \
  V sink test no-secret --kubeconfig "$KUBECONFIG"
check "a missing AlertSink: exit 1" 1 'AlertSink vigil-system/nope not found' \
  V sink test nope --kubeconfig "$KUBECONFIG"
check "usage error: exit 2" 2 'Usage:' V sink test --kubeconfig "$KUBECONFIG"

# ---- the destination fails
kill "$REC_PID" 2>/dev/null; wait "$REC_PID" 2>/dev/null; REC_PID=
check "an unreachable destination: exit 1 with the redacted URL" 1 \
  "failed to send a test alert to AlertSink vigil-system/slack \(slack\): POST http://127.0.0.1:$PORT/…" \
  V sink test slack --kubeconfig "$KUBECONFIG"
if V sink test slack --kubeconfig "$KUBECONFIG" 2>&1 | grep -q SECRETPART; then
  bad "the Slack URL's secret path was printed"; else ok "the Slack URL's secret path was not printed"; fi

# ---- sink list
check "vigilctl sink list shows the sinks with their type and counters" 0 \
  'vigil-system +hook +webhook +- +- +0 +0 +0' V sink list --kubeconfig "$KUBECONFIG"
check "vigilctl sink list -A" 0 'NAMESPACE +NAME +TYPE +ACCEPTED +READY +DELIVERED +FAILED +DROPPED' \
  V sink list -A --kubeconfig "$KUBECONFIG"

summary
((FAIL == 0))
