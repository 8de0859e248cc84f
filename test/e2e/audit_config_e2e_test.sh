#!/usr/bin/env bash
# End-to-end test of `vigilctl audit-config`: a real kube-apiserver (scripts/controlplane.sh) runs
# with the rendered audit policy, a JSON audit log and the rendered webhook kubeconfig. The log
# shows each request at the level the policy gives it: a NodePort Service created at
# RequestResponse (requestObject and responseObject present), a Secret created and read at
# Metadata (no object, so never the data), reads of pods and health probes not recorded. The
# webhook kubeconfig is checked by delivery: a small HTTPS server (python3, mTLS with certificates
# made here by openssl) receives the API server's EventLists at /k8s-audit, from the client
# certificate the kubeconfig carries (the API server appends ?timeout=30s to the path).
# The last line is "N passed, N failed".
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/e2e/lib.sh
source "$ROOT/test/e2e/lib.sh"
CP=$ROOT/scripts/controlplane.sh
VIGILCTL=${VIGILCTL:-$ROOT/build/vigilctl}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-audit-config-e2e.XXXXXX")
D=$WORK/cp
LOG=$WORK/audit.log
SRV_PID=

cleanup() {
  local rc=$?
  if [[ -n "$SRV_PID" ]]; then kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; fi
  [[ -d "$D" ]] && "$CP" stop "$D" >/dev/null 2>&1
  if ((FAIL == 0 && rc == 0)); then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'bad "interrupted"; summary; exit 130' INT TERM

[[ -x "$VIGILCTL" ]] || abort "no vigilctl binary at $VIGILCTL (make build)"
command -v python3 >/dev/null || abort "python3 is needed to read the audit log"
command -v openssl >/dev/null || abort "openssl is needed for the receiver's certificates"

# ---- the policy, rendered by vigilctl
"$VIGILCTL" audit-config --policy-only >"$WORK/audit-policy.yaml" 2>"$WORK/vigilctl.err" \
  || { cat "$WORK/vigilctl.err"; abort "vigilctl audit-config --policy-only"; }
ok "policy rendered"

# ---- a receiver: HTTPS on loopback with a CA of its own, requiring a client certificate
P=$WORK/pki
mkdir -p "$P"
{
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=vigil-e2e-ca \
    -keyout "$P/ca.key" -out "$P/ca.crt"
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$P/server.key" -out "$P/server.csr"
  printf 'subjectAltName=IP:127.0.0.1\n' >"$P/server.ext"
  openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 1 \
    -extfile "$P/server.ext" -out "$P/server.crt"
  openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver-audit -keyout "$P/client.key" \
    -out "$P/client.csr"
  openssl x509 -req -in "$P/client.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 1 \
    -out "$P/client.crt"
} >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; abort "openssl"; }
cat >"$WORK/receiver.py" <<'PY'
import http.server, json, ssl, sys
pki, out, port_file = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        subject = dict(x[0] for x in self.connection.getpeercert().get("subject", ()))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "cn": subject.get("commonName"),
                                "body": json.loads(body)}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(pki + "/server.crt", pki + "/server.key")
ctx.load_verify_locations(pki + "/ca.crt")
ctx.verify_mode = ssl.CERT_REQUIRED
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(port_file, "w").write(str(srv.server_address[1]))
srv.serve_forever()
PY
python3 "$WORK/receiver.py" "$P" "$WORK/received.jsonl" "$WORK/receiver.port" >"$WORK/receiver.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 50); do [[ -s "$WORK/receiver.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/receiver.port" ]] || { cat "$WORK/receiver.log"; abort "receiver did not start"; }
PORT=$(<"$WORK/receiver.port")

# ---- the webhook kubeconfig, rendered by vigilctl, pointing at the receiver
"$VIGILCTL" audit-config --kubeconfig-only --url "https://127.0.0.1:$PORT/k8s-audit" \
  --ca-file "$P/ca.crt" --client-cert "$P/client.crt" --client-key "$P/client.key" \
  --out-dir "$WORK/out" >"$WORK/vigilctl-kc.out" 2>&1 \
  || { cat "$WORK/vigilctl-kc.out"; abort "vigilctl audit-config --kubeconfig-only"; }
if [[ "$(stat -c %a "$WORK/out/audit-webhook.kubeconfig")" == 600 ]]; then
  ok "webhook kubeconfig written 0600"
else
  bad "webhook kubeconfig mode $(stat -c %a "$WORK/out/audit-webhook.kubeconfig")"
fi

# ---- the control plane with the policy, the webhook and a JSON audit log
VIGIL_AUDIT_POLICY=$WORK/audit-policy.yaml VIGIL_AUDIT_LOG=$LOG \
  VIGIL_AUDIT_WEBHOOK_CONFIG=$WORK/out/audit-webhook.kubeconfig VIGIL_AUDIT_WEBHOOK_MODE=batch \
  "$CP" start "$D" >"$WORK/controlplane.log" 2>&1 \
  || { tail -n 30 "$WORK/controlplane.log"; abort "control plane start with the policy"; }
ok "kube-apiserver started with the policy and the webhook kubeconfig"
# shellcheck disable=SC1091
source "$D/env"
K() { "$KUBECTL" --kubeconfig="$KUBECONFIG" --request-timeout=20s "$@"; }

K create namespace audit-e2e >/dev/null || abort "create namespace"
K -n audit-e2e create service nodeport web --tcp=80:8080 >/dev/null || abort "create service"
K -n audit-e2e create secret generic creds --from-literal=password=hunter2-e2e >/dev/null \
  || abort "create secret"
K -n audit-e2e get secret creds -o name >/dev/null || abort "get secret"
K -n audit-e2e get pods >/dev/null 2>&1 || abort "get pods"
# A last marker request; once it is in the log, the ones before it are too.
K -n audit-e2e create configmap marker --from-literal=k=v >/dev/null || abort "create configmap"

# level EXPR: prints the audit events of the log matching a Python expression over `e`, as
# "verb resource name level hasRequestObject hasResponseObject" lines.
events() {
  python3 - "$LOG" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    o = e.get("objectRef") or {}
    if eval(sys.argv[2]):
        print(e.get("verb"), o.get("resource", ""), o.get("name", ""), e.get("level"),
              "req" if "requestObject" in e else "-", "resp" if "responseObject" in e else "-",
              e.get("stage"))
PY
}
marker=
for _ in $(seq 100); do
  marker=$(events 'o.get("resource") == "configmaps" and o.get("name") == "marker"')
  [[ -n "$marker" ]] && break
  sleep 0.1
done
[[ -n "$marker" ]] || { tail -n 5 "$LOG"; abort "the marker request never reached the audit log"; }

svc=$(events 'o.get("resource") == "services" and o.get("namespace") == "audit-e2e" and e.get("verb") == "create"')
if [[ "$svc" == "create services web RequestResponse req resp ResponseComplete" ]]; then
  ok "NodePort service creation recorded at RequestResponse with its objects"
else
  bad "service creation: got '$svc'"
fi
if grep -q '"NodePort"' <(grep '"resource":"services"' "$LOG"); then
  ok "the service's type NodePort is in the event"
else
  bad "no NodePort in the service's event"
fi

sec=$(events 'o.get("resource") == "secrets" and o.get("namespace") == "audit-e2e"')
if [[ "$(sort <<<"$sec")" == $'create secrets creds Metadata - - ResponseComplete\nget secrets creds Metadata - - ResponseComplete' ]]; then
  ok "secret create and read recorded at Metadata without objects"
else
  bad "secret events: got '$sec'"
fi
if grep -q 'hunter2-e2e\|aHVudGVyMi1lMmU' "$LOG"; then
  bad "the secret's data is in the audit log"
else
  ok "the secret's data is not in the audit log"
fi

reads=$(events 'o.get("resource") == "pods" and e.get("verb") in ("list", "get")')
if [[ -z "$reads" ]]; then ok "reads of pods not recorded"; else bad "pod reads recorded: $reads"; fi
stages=$(events 'e.get("stage") == "RequestReceived"')
if [[ -z "$stages" ]]; then ok "no RequestReceived stage"; else bad "RequestReceived recorded"; fi
health=$(events '(e.get("requestURI") or "").startswith(("/readyz", "/healthz", "/livez"))')
if [[ -z "$health" ]]; then ok "health probes not recorded"; else bad "health probes recorded"; fi

# ---- the same events delivered through the webhook (batch max wait 1s)
delivered() {
  python3 - "$WORK/received.jsonl" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    sys.exit(0)
for line in lines:
    r = json.loads(line)
    for e in r["body"].get("items", []):
        o = e.get("objectRef") or {}
        if o.get("resource") == "services" and o.get("namespace") == "audit-e2e" and e.get("verb") == "create":
            print(r["path"].split("?")[0], r["cn"], r["body"].get("kind"), e.get("level"),
                  "req" if "requestObject" in e else "-")
PY
}
got=
for _ in $(seq 150); do
  got=$(delivered)
  [[ -n "$got" ]] && break
  sleep 0.1
done
if [[ "$got" == "/k8s-audit kube-apiserver-audit EventList RequestResponse req" ]]; then
  ok "webhook: the service creation POSTed to /k8s-audit over mTLS as an EventList"
else
  bad "webhook delivery: got '$got'"
  tail -n 5 "$D"/*apiserver*.log 2>/dev/null | grep -i audit | tail -n 5 | sed 's/^/    /'
fi

summary
((FAIL == 0))
