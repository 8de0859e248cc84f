#!/usr/bin/env bash
# Smoke test of the real local control plane (scripts/controlplane.sh): build (cached), start,
# readyz, ConfigMap CRUD, CRD apply + Established, a second independent instance, stop, and no
# leftover processes or ports. Exits non-zero on any failure; the last line is "N passed, N failed".
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
CP=$ROOT/scripts/controlplane.sh
PASS=0 FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-cp-test.XXXXXX")
D1=$WORK/cp1 D2=$WORK/cp2 D3=$WORK/cp3

ok() { PASS=$((PASS + 1)); printf 'PASS: %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf 'FAIL: %s\n' "$*"; }
check() { # DESC CMD...
  local desc=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$desc"; else bad "$desc"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'; fi
}
summary() { printf '%d passed, %d failed\n' "$PASS" "$FAIL"; }

cleanup() {
  local rc=$?
  # Never leave processes behind, whatever happened.
  [[ -d "$D1" ]] && "$CP" stop "$D1" >/dev/null 2>&1
  [[ -d "$D2" ]] && "$CP" stop "$D2" >/dev/null 2>&1
  [[ -d "$D3" ]] && "$CP" stop "$D3" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM

abort() { bad "$*"; summary; exit 1; }

# ---- build (cached after the first run)
if "$CP" build; then ok "build (cached: $("$CP" paths | sed -n 's/^bin=//p'))"; else abort "build"; fi

# ---- start
t0=$SECONDS
if "$CP" start "$D1"; then ok "start ($((SECONDS - t0))s to ready)"; else abort "start (see $D1/*.log)"; fi
# shellcheck disable=SC1091
source "$D1/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }

check "env has KUBECONFIG, APISERVER_URL, pids" \
  test -n "$KUBECONFIG" -a -n "$APISERVER_URL" -a -n "$APISERVER_PID" -a -n "$ETCD_PID"
check "status reports running and ready" "$CP" status "$D1"
readyz() { [[ "$(K get --raw /readyz)" == ok ]]; }
check "kubectl get --raw /readyz == ok" readyz
check "curl with the admin client cert" \
  curl -fsS --cacert "$APISERVER_CA" --cert "$APISERVER_CLIENT_CERT" --key "$APISERVER_CLIENT_KEY" \
  "$APISERVER_URL/api/v1/namespaces/default"
whoami() { K auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}' | grep -q '^vigil-admin .*system:masters'; }
check "admin identity is vigil-admin in system:masters" whoami
check "namespace vigil-system exists" K get namespace vigil-system
# TokenRequest works without a controller-manager (the apiserver holds the SA signing key).
check "create ServiceAccount" K -n vigil-system create serviceaccount cp-smoke
token_ok() { K -n vigil-system create token cp-smoke --audience=vigil --duration=10m | grep -qE '^eyJ[^.]+\.[^.]+\.'; }
check "TokenRequest issues a JWT" token_ok

# ---- ConfigMap create/get/delete
check "create ConfigMap" K -n vigil-system create configmap cp-smoke --from-literal=k=v1
cm_value() { [[ "$(K -n vigil-system get configmap cp-smoke -o jsonpath='{.data.k}')" == v1 ]]; }
check "get ConfigMap data" cm_value
check "delete ConfigMap" K -n vigil-system delete configmap cp-smoke --wait=true
cm_gone() { ! K -n vigil-system get configmap cp-smoke >/dev/null 2>&1; }
check "ConfigMap is gone" cm_gone

# ---- CRD apply, Established, custom resource round trip
cat >"$WORK/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.vigil.dev
spec:
  group: smoke.vigil.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
EOF
check "apply CRD" K apply -f "$WORK/crd.yaml"
check "CRD becomes Established" K wait --for=condition=Established --timeout=60s crd/widgets.smoke.vigil.dev
cat >"$WORK/cr.yaml" <<'EOF'
apiVersion: smoke.vigil.dev/v1
kind: Widget
metadata: {name: w1, namespace: vigil-system}
spec: {size: 3}
EOF
# Discovery of a new group can lag Established by a moment; retry briefly.
apply_cr() { local _; for _ in $(seq 1 30); do K apply -f "$WORK/cr.yaml" && return 0; sleep 0.5; done; return 1; }
check "create custom resource" apply_cr
cr_size() { [[ "$(K -n vigil-system get widget w1 -o jsonpath='{.spec.size}')" == 3 ]]; }
check "get custom resource" cr_size
bad_cr() {
  local out
  if out=$(sed 's/size: 3/size: 0/' "$WORK/cr.yaml" | K apply -f - 2>&1); then echo "accepted: $out"; return 1; fi
  grep -qi 'should be greater than or equal to 1' <<<"$out" || { echo "unexpected error: $out"; return 1; }
}
check "schema validation rejects size 0" bad_cr
check "delete CRD" K delete -f "$WORK/crd.yaml" --wait=true --timeout=60s

# ---- a second, independent instance at the same time (distinct dir and ports)
if "$CP" start "$D2" >/dev/null 2>&1; then
  ok "second instance starts alongside the first"
  p1=$(cat "$D1/kube-apiserver.port") p2=$(cat "$D2/kube-apiserver.port")
  check "distinct apiserver ports ($p1 vs $p2)" test "$p1" != "$p2"
  check "second instance readyz" "$CP" kubectl "$D2" get --raw /readyz
  check "second instance is independent (no cp-smoke CRD)" \
    bash -c "! '$CP' kubectl '$D2' get crd widgets.smoke.vigil.dev >/dev/null 2>&1"
  check "stop second instance" "$CP" stop "$D2"
else
  bad "second instance starts alongside the first (see $D2/*.log)"
fi
check "starting twice in one DIR is refused" bash -c "! '$CP' start '$D1' >/dev/null 2>&1"
check "first instance unaffected" readyz

# ---- audit hooks: VIGIL_AUDIT_LOG always; VIGIL_AUDIT_WEBHOOK_CONFIG too when python3 can act as
# a throwaway HTTP sink (the real receiver is Vigil's operator; this only checks the plumbing).
mkdir -p "$D3"
sink_pid=""
audit_env=(VIGIL_AUDIT_LOG="$D3/audit.log")
if command -v python3 >/dev/null 2>&1; then
  cat >"$WORK/sink.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[1] + "/webhook.jsonl", "ab") as f:
            f.write(body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + "/sink.port.tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + "/sink.port.tmp", sys.argv[1] + "/sink.port")
s.serve_forever()
PY
  python3 "$WORK/sink.py" "$D3" </dev/null >/dev/null 2>&1 &
  sink_pid=$!
  for _ in $(seq 1 50); do [[ -s "$D3/sink.port" ]] && break; sleep 0.1; done
  cat >"$D3/webhook.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: sink
  cluster: {server: "http://127.0.0.1:$(cat "$D3/sink.port" 2>/dev/null)/audit"}
users:
- name: kube-apiserver
  user: {}
contexts:
- name: default
  context: {cluster: sink, user: kube-apiserver}
current-context: default
YAML
  audit_env+=(VIGIL_AUDIT_WEBHOOK_CONFIG="$D3/webhook.kubeconfig")
else
  echo "SKIP: audit webhook check (no python3 for the test sink)"
fi
if env "${audit_env[@]}" "$CP" start "$D3" >/dev/null 2>&1; then
  ok "start with audit hooks (${audit_env[*]%%=*})"
  "$CP" kubectl "$D3" -n vigil-system create configmap audited --from-literal=a=b >/dev/null 2>&1
  audited() { local _; for _ in $(seq 1 20); do grep -q '"name":"audited"' "$1" 2>/dev/null && return 0; sleep 0.5; done; return 1; }
  check "audit log has the ConfigMap create" audited "$D3/audit.log"
  check "apiserver was given --audit-policy-file" grep -q -- '--audit-policy-file' "/proc/$(cat "$D3/kube-apiserver.pid")/cmdline"
  if [[ -n "$sink_pid" ]]; then
    check "audit webhook received the ConfigMap create (batch mode, max-wait 1s)" audited "$D3/webhook.jsonl"
  fi
  check "stop audited instance" "$CP" stop "$D3"
else
  bad "start with audit hooks (see $D3/*.log)"
  "$CP" stop "$D3" >/dev/null 2>&1
fi
if [[ -n "$sink_pid" ]]; then kill "$sink_pid" 2>/dev/null; wait "$sink_pid" 2>/dev/null; fi

# ---- stop and leftovers
ports1="$(cat "$D1/etcd.port") $(cat "$D1/kube-apiserver.port")"
apid=$APISERVER_PID epid=$ETCD_PID
check "stop" "$CP" stop "$D1"
gone() { local p; for p in "$@"; do [[ -d /proc/$p ]] && ! grep -q '^State:.*Z' "/proc/$p/status" && return 1; done; return 0; }
check "no leftover processes (pids $apid $epid)" gone "$apid" "$epid"
no_listen() { local p; for p in $ports1; do [[ -z "$(ss -Hltn "sport = :$p")" ]] || return 1; done; }
check "no leftover listening ports ($ports1)" no_listen
no_strays() { ! pgrep -f -- "$WORK" >/dev/null; }
check "no process references the test dir" no_strays
check "status reports stopped (non-zero)" bash -c "! '$CP' status '$D1' >/dev/null"
check "stop is idempotent" "$CP" stop "$D1"

summary
((FAIL == 0))
