#!/usr/bin/env bash
# A real, local Kubernetes control plane (etcd + kube-apiserver, optionally kube-controller-manager)
# for Vigil's tests and demo.
#
# No mock API server: kube-apiserver and etcd are built from their Go modules (pinned in
# test/controlplane/{kube,etcd}/go.mod) and run as plain background processes, the way
# controller-runtime's envtest does. See test/controlplane/README.md.
#
# Usage: scripts/controlplane.sh {build|start DIR|stop DIR|status DIR|env DIR|kubectl DIR ARGS...|paths|--help}
set -euo pipefail
# CI may run without HOME; the binary cache and Go's own caches live under it.
if [[ -z "${HOME:-}" ]]; then HOME=$(getent passwd "$(id -u)" | cut -d: -f6); HOME=${HOME:-/root}; fi
export HOME

PROG=controlplane.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
KUBE_MOD_DIR=$REPO_ROOT/test/controlplane/kube
ETCD_MOD_DIR=$REPO_ROOT/test/controlplane/etcd

START_TIMEOUT=${VIGIL_CONTROLPLANE_START_TIMEOUT:-90}   # seconds, etcd + apiserver each
STOP_TIMEOUT=${VIGIL_CONTROLPLANE_STOP_TIMEOUT:-15}     # seconds before SIGKILL

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  cat <<EOF
Usage: scripts/controlplane.sh COMMAND [ARGS]

A real local Kubernetes control plane (etcd + kube-apiserver, no scheduler, no kubelet; a
kube-controller-manager only with VIGIL_CONTROLLERS) for tests and the demo.

Commands:
  build          Build kube-apiserver, kubectl and etcd (go build -trimpath) into the
                 binary cache, unless already there. A cold build takes several minutes
                 on 2 cores (most of it kube-apiserver); later builds are a no-op.
                 With VIGIL_CONTROLLERS set, kube-controller-manager too (~1-2 min more).
  start DIR      Generate certs, start etcd and kube-apiserver on free loopback ports with
                 state and logs in DIR, wait for /readyz, create namespace vigil-system.
                 Writes DIR/kubeconfig (admin, CN=vigil-admin O=system:masters) and DIR/env.
                 Runs 'build' first if the binaries are missing. With VIGIL_CONTROLLERS, then
                 starts kube-controller-manager (log DIR/kube-controller-manager.log).
  stop DIR       Stop all (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s); wait until the processes
                 are gone and their ports are closed. Keeps DIR (logs, data) for inspection.
  status DIR     Show pids, ports and /readyz. Exit 0 only if all started components run and
                 /readyz is ok.
  env DIR        Print DIR/env (source it: eval "\$(scripts/controlplane.sh env DIR)").
  kubectl DIR .. Run the cached kubectl against DIR/kubeconfig.
  paths          Print the pinned versions and the binary cache directory.
  restart-apiserver DIR  Restart kube-apiserver alone (same flags and port; etcd and any
                 kube-controller-manager keep running).
  compact DIR    Compact etcd to its current revision (older resourceVersions then get 410 Gone).
  -h, --help     This help.

Versions (from test/controlplane/*/go.mod): Kubernetes $(k8s_version 2>/dev/null || echo '?'), etcd $(etcd_version 2>/dev/null || echo '?').

Environment:
  VIGIL_CONTROLPLANE_CACHE   Cache root (default \${XDG_CACHE_HOME:-\$HOME/.cache}/vigil/controlplane);
                             binaries go to <root>/<k8s-version>-<etcd-version>/bin/.
  VIGIL_CONTROLPLANE_BIN     Use prebuilt kube-apiserver, kubectl and etcd (and, with VIGIL_CONTROLLERS,
                             kube-controller-manager) from this dir (no build).
  GO                         Go binary (default: go on PATH, else /usr/local/go/bin/go).
                             GOMODCACHE/GOCACHE are Go's defaults unless set.
  VIGIL_CONTROLPLANE_START_TIMEOUT  Seconds to wait for each component (default 90).
  VIGIL_CONTROLPLANE_STOP_TIMEOUT   Seconds between SIGTERM and SIGKILL (default 15).
  VIGIL_AUDIT_WEBHOOK_CONFIG Kubeconfig-format file: adds --audit-webhook-config-file, with
                             --audit-webhook-batch-max-wait=1s and --audit-webhook-initial-backoff=1s.
                             A file that does not exist yet gets a placeholder pointing nowhere, so
                             the API server starts; write the real one later and restart-apiserver
                             (the operator makes the webhook's certificates only once it runs).
  VIGIL_AUDIT_WEBHOOK_MODE   batch (default) | blocking | blocking-strict.
  VIGIL_AUDIT_POLICY         Audit policy file (--audit-policy-file). If a webhook or log is set
                             without it, a default policy (Metadata, health probes omitted) is used.
  VIGIL_AUDIT_LOG            --audit-log-path (e.g. DIR/audit.log; JSON lines).
  VIGIL_APISERVER_EXTRA_ARGS Extra kube-apiserver flags (whitespace-separated).
  VIGIL_CONTROLLERS          Also build and run kube-controller-manager (same Kubernetes version) with
                             --controllers=VALUE, e.g. garbagecollector,namespace (the garbage
                             collector deletes objects whose owners are gone; the namespace controller
                             empties and removes deleted namespaces). It runs as the admin, with
                             --leader-elect=false --use-service-account-credentials=false, its secure
                             port on 127.0.0.1. Unset (default): no controller-manager, no build of it.
EOF
}

# ---------------------------------------------------------------------------------------------
# Versions, cache, build

mod_version() { # FILE MODULE -> version from a require line (single or in a block)
  sed -nE "s#^(require[[:space:]]+|[[:space:]]+)$2[[:space:]]+(v[^[:space:]]+).*#\\2#p" "$1" | head -n1
}
k8s_version() { mod_version "$KUBE_MOD_DIR/go.mod" 'k8s\.io/kubernetes'; }
staging_version() {
  sed -nE 's#^[[:space:]]*k8s\.io/api[[:space:]]+=>[[:space:]]+k8s\.io/api[[:space:]]+(v[^[:space:]]+).*#\1#p' \
    "$KUBE_MOD_DIR/go.mod" | head -n1
}
etcd_version() { mod_version "$ETCD_MOD_DIR/go.mod" 'go\.etcd\.io/etcd/server/v3'; }

cache_root() { echo "${VIGIL_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/controlplane}"; }
bin_dir() {
  if [[ -n "${VIGIL_CONTROLPLANE_BIN:-}" ]]; then echo "$VIGIL_CONTROLPLANE_BIN"; return; fi
  local kv ev
  kv=$(k8s_version) ev=$(etcd_version)
  [[ -n "$kv" && -n "$ev" ]] || die "cannot read pinned versions from $KUBE_MOD_DIR/go.mod / $ETCD_MOD_DIR/go.mod"
  echo "$(cache_root)/$kv-$ev/bin"
}
have_bins() {
  local b d
  d=$(bin_dir)
  for b in kube-apiserver kubectl etcd; do [[ -x "$d/$b" ]] || return 1; done
}

# kube-controller-manager is optional: wanted only with VIGIL_CONTROLLERS.
want_kcm() { [[ -n "${VIGIL_CONTROLLERS:-}" ]]; }
have_kcm() { [[ -x "$(bin_dir)/kube-controller-manager" ]]; }

find_go() {
  if [[ -n "${GO:-}" ]]; then echo "$GO"; return; fi
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go; return; fi
  die "Go not found (set GO=/path/to/go); needed to build the control plane"
}

cmd_build() {
  local bin kv sv ev go tmp t0 t1 lock
  bin=$(bin_dir)
  if have_bins && { ! want_kcm || have_kcm; }; then
    log "binaries present in $bin (skip build)"
    return 0
  fi
  if [[ -n "${VIGIL_CONTROLPLANE_BIN:-}" ]]; then
    have_bins || die "VIGIL_CONTROLPLANE_BIN=$bin lacks kube-apiserver, kubectl or etcd"
    die "VIGIL_CONTROLPLANE_BIN=$bin lacks kube-controller-manager (needed by VIGIL_CONTROLLERS)"
  fi
  kv=$(k8s_version) sv=$(staging_version) ev=$(etcd_version) go=$(find_go)
  mkdir -p "$bin"
  # One build at a time per cache key (parallel ctest, two shells).
  lock="$(dirname "$bin")/.build.lock"
  exec 9>"$lock"
  if ! flock -n 9; then
    log "another build holds $lock; waiting for it"
    flock 9
  fi
  if have_bins && { ! want_kcm || have_kcm; }; then
    log "binaries present in $bin (built concurrently)"; exec 9>&-; return 0
  fi

  tmp=$(mktemp -d "$(dirname "$bin")/.build.XXXXXX")
  [[ -n "$tmp" && -d "$tmp" ]] || die "mktemp failed under $(dirname "$bin")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
  local ld="-s -w" p minor
  minor=${kv#v1.}; minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$kv -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  log "using $("$go" version)"
  t0=$(date +%s)
  if ! have_bins; then build_core; fi
  if want_kcm && ! have_kcm; then build_kcm; fi
  rm -rf "$tmp"; trap - EXIT
  exec 9>&-
  local built=(kube-apiserver kubectl etcd)
  if have_kcm; then built+=(kube-controller-manager); fi
  log "done in $(($(date +%s) - t0))s: $(cd "$bin" && du -sh "${built[@]}" | tr '\t\n' ' ')"
}

# build_core / build_kcm: parts of cmd_build (its locals bin kv sv ev go tmp ld t0 are in scope).
build_core() {
  local t0 t1 p
  log "building kube-apiserver + kubectl $kv (staging $sv) into $bin"
  log "  a cold build (empty Go build cache) takes ~5-6 min on 2 cores plus ~0.7 GB of module downloads;"
  log "  Go's module and build caches ($("$go" env GOMODCACHE), $("$go" env GOCACHE)) make rebuilds fast"
  t0=$(date +%s)
  (cd "$KUBE_MOD_DIR" && "$go" build -trimpath -ldflags "$ld" -o "$tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl) \
    || die "kube-apiserver/kubectl build failed (module $KUBE_MOD_DIR)"
  t1=$(date +%s)
  log "  kube-apiserver + kubectl built in $((t1 - t0))s"
  log "building etcd $ev (go.etcd.io/etcd/server/v3)"
  (cd "$ETCD_MOD_DIR" && "$go" build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) \
    || die "etcd build failed (module $ETCD_MOD_DIR)"
  log "  etcd built in $(($(date +%s) - t1))s"
  for p in kube-apiserver kubectl etcd; do mv -f "$tmp/$p" "$bin/$p"; done
  printf 'kubernetes=%s staging=%s etcd=%s go=%s built=%s\n' "$kv" "$sv" "$ev" \
    "$("$go" env GOVERSION)" "$(date -u +%FT%TZ)" >"$bin/VERSIONS"
}

# kube-controller-manager, from the same k8s.io/kubernetes module and version as kube-apiserver
# (the wrapper module's go.mod lists it as a tool, so go.sum has its dependencies).
build_kcm() {
  local t0
  log "building kube-controller-manager $kv into $bin"
  log "  it shares most packages with kube-apiserver: with Go's build cache warm ~1-2 min on 2 cores"
  t0=$(date +%s)
  (cd "$KUBE_MOD_DIR" && "$go" build -trimpath -ldflags "$ld" -o "$tmp/kube-controller-manager" \
      k8s.io/kubernetes/cmd/kube-controller-manager) \
    || die "kube-controller-manager build failed (module $KUBE_MOD_DIR)"
  mv -f "$tmp/kube-controller-manager" "$bin/kube-controller-manager"
  log "  kube-controller-manager built in $(($(date +%s) - t0))s"
  printf 'kube-controller-manager=%s go=%s built=%s\n' "$kv" "$("$go" env GOVERSION)" "$(date -u +%FT%TZ)" \
    >>"$bin/VERSIONS"
}

ensure_bins() {
  if ! have_bins || { want_kcm && ! have_kcm; }; then cmd_build; fi
  BIN=$(bin_dir)
}

# ---------------------------------------------------------------------------------------------
# Helpers for start/stop

# Ports in use (any TCP state), one per line.
used_ports() {
  if command -v ss >/dev/null 2>&1; then
    ss -Htan 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}'
  else
    awk 'NR>1 {split($2,a,":"); print strtonum("0x" a[2])}' /proc/net/tcp /proc/net/tcp6 2>/dev/null
  fi
}

# pick_ports N -> N distinct free TCP ports outside the ephemeral range, space-separated.
pick_ports() {
  local n=$1 lo=20000 hi=32000 used picked=() p tries=0
  used=" $(used_ports | tr '\n' ' ') "
  while ((${#picked[@]} < n)); do
    ((++tries < 1000)) || die "could not find $n free ports"
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
    [[ "$used" == *" $p "* ]] && continue
    [[ " ${picked[*]} " == *" $p "* ]] && continue
    picked+=("$p")
  done
  echo "${picked[*]}"
}

port_listening() { # PORT
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# A pid is "ours" if it is alive, not a zombie, and its command line mentions DIR.
pid_alive() { # PID [DIR]
  local pid=$1 dir=${2:-} st
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ "$st" != Z && "$st" != X ]] || return 1
  if [[ -n "$dir" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir" || return 1
  fi
}

# read_num FILE -> the digits in FILE, or nothing if it is missing/empty.
read_num() { if [[ -s "$1" ]]; then tr -dc '0-9' <"$1"; fi; }
read_pid() { read_num "$1"; }

log_tail() { # FILE [N]
  local f=$1 n=${2:-40}
  [[ -f "$f" ]] || return 0
  log "---- last $n lines of $f ----"
  tail -n "$n" "$f" >&2 || true
  log "---- end of $f ----"
}

b64() { base64 -w0 <"$1"; }

# ---------------------------------------------------------------------------------------------
# Certificates (openssl): one CA signs the serving cert and the client certs.

gen_certs() { # PKI_DIR
  local d=$1 days=3650
  command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"
  mkdir -p "$d"; chmod 700 "$d"
  (
    cd "$d"
    umask 077
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=vigil-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out ca.crt
    # Serving certificate for the apiserver.
    openssl ecparam -name prime256v1 -genkey -noout -out serving.key
    openssl req -new -key serving.key -subj "/CN=kube-apiserver" -out serving.csr
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1" \
      >serving.ext
    openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
      -extfile serving.ext -out serving.crt 2>/dev/null
    # Service-account token signing key pair (RS256).
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f serving.csr serving.ext
  )
  gen_client_cert "$d" admin vigil-admin system:masters
}

# gen_client_cert PKI_DIR FILE_BASENAME CN [O...]: client cert signed by the CA (authn as CN/O).
gen_client_cert() {
  local d=$1 base=$2 cn=$3 subj o
  shift 3
  subj="/CN=$cn"
  for o in "$@"; do subj+="/O=$o"; done
  (
    cd "$d"
    umask 077
    openssl ecparam -name prime256v1 -genkey -noout -out "$base.key"
    openssl req -new -key "$base.key" -subj "$subj" -out "$base.csr"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >"$base.ext"
    openssl x509 -req -in "$base.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
      -extfile "$base.ext" -out "$base.crt" 2>/dev/null
    rm -f "$base.csr" "$base.ext"
  )
}

write_kubeconfig() { # OUT SERVER PKI_DIR CERT_BASENAME USER
  local out=$1 server=$2 d=$3 base=$4 user=$5
  (umask 077; cat >"$out" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: vigil-local
  cluster:
    server: $server
    certificate-authority-data: $(b64 "$d/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$d/$base.crt")
    client-key-data: $(b64 "$d/$base.key")
contexts:
- name: $user@vigil-local
  context:
    cluster: vigil-local
    user: $user
current-context: $user@vigil-local
EOF
  )
}

# ---------------------------------------------------------------------------------------------
# start

# Globals set during start, used by the failure trap.
S_DIR="" S_OK=0

start_cleanup() {
  local rc=$?
  ((S_OK)) && return 0
  [[ -n "$S_DIR" ]] || return 0
  log "start failed (exit $rc); stopping whatever was started in $S_DIR"
  stop_dir "$S_DIR" >/dev/null 2>&1 || true
  exit "$rc"
}

# spawn NAME LOG CMD...: run CMD detached from our stdio, in the background; echo its pid.
spawn() {
  local logf=$2
  shift 2
  # Plain background process; stdin from /dev/null and all output to the log so callers that
  # capture our stdout (e.g. $(controlplane.sh start ...)) never hang on an inherited pipe.
  "$@" </dev/null >>"$logf" 2>&1 &
  echo $!
}

wait_http() { # NAME PID LOG TIMEOUT CHECK_FN...
  local name=$1 pid=$2 logf=$3 timeout=$4 deadline
  shift 4
  deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if ! pid_alive "$pid"; then
      log "$name (pid $pid) exited during startup"
      log_tail "$logf" 60
      return 2
    fi
    if ((SECONDS >= deadline)); then
      log "$name not ready after ${timeout}s"
      log_tail "$logf" 60
      return 1
    fi
    sleep 0.2
  done
}

etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$1/health" | grep -q '"health":"true"'; }
apiserver_ready() { # PORT CAFILE
  [[ "$(curl -sS --max-time 3 --cacert "$2" "https://127.0.0.1:$1/readyz")" == ok ]]
}
# kube-controller-manager serves a self-signed (in-memory) certificate; /healthz needs no auth
# (without --authentication/authorization-kubeconfig it delegates nothing: its port serves only
# the always-allowed /healthz, /readyz, /livez, which is all a test needs).
kcm_healthy() { [[ "$(curl -ksS --max-time 3 "https://127.0.0.1:$1/healthz")" == ok ]]; }

# start_kcm DIR: kube-controller-manager with --controllers=$VIGIL_CONTROLLERS, as the admin of
# DIR/kubeconfig, secure port on 127.0.0.1 (a free port), log DIR/kube-controller-manager.log.
# Sets KCM_PID and KCM_PORT.
start_kcm() {
  local dir=$1 attempt rc kp kpid
  for attempt in 1 2 3; do
    read -r kp <<<"$(pick_ports 1)"
    [[ -n "$kp" ]] || die "could not pick a free port"
    : >"$dir/kube-controller-manager.log"
    kpid=$(spawn kube-controller-manager "$dir/kube-controller-manager.log" "$BIN/kube-controller-manager" \
      --kubeconfig="$dir/kubeconfig" \
      --controllers="$VIGIL_CONTROLLERS" \
      --leader-elect=false --use-service-account-credentials=false \
      --bind-address=127.0.0.1 --secure-port="$kp")
    echo "$kpid" >"$dir/kube-controller-manager.pid"
    echo "$kp" >"$dir/kube-controller-manager.port"
    rc=0
    wait_http kube-controller-manager "$kpid" "$dir/kube-controller-manager.log" "$START_TIMEOUT" kcm_healthy "$kp" || rc=$?
    ((rc == 0)) && break
    if ((rc == 2)) && grep -q 'address already in use' "$dir/kube-controller-manager.log" && ((attempt < 3)); then
      log "kube-controller-manager port clash; retrying with another port"; continue
    fi
    die "kube-controller-manager failed to become healthy (log: $dir/kube-controller-manager.log)"
  done
  KCM_PID=$kpid KCM_PORT=$kp
  log "kube-controller-manager (controllers: $VIGIL_CONTROLLERS) healthy on https://127.0.0.1:$kp (pid $kpid)"
}

default_audit_policy() { # OUT
  cat >"$1" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version", "/openapi*", "/metrics"]
- level: None
  users: ["system:apiserver"]
- level: Metadata
EOF
}

cmd_start() {
  [[ $# -eq 1 ]] || die "usage: $PROG start DIR"
  local dir=$1 t0=$SECONDS
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  command -v curl >/dev/null 2>&1 || die "curl not found (apt-get install curl)"
  local p
  for p in etcd kube-apiserver kube-controller-manager; do
    local op
    op=$(read_pid "$dir/$p.pid")
    if [[ -n "$op" ]] && pid_alive "$op" "$dir"; then
      die "$p already running in $dir (pid $op); run '$PROG stop $dir' first"
    fi
  done
  ensure_bins

  S_DIR=$dir S_OK=0
  trap start_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  log "starting control plane in $dir (binaries: $BIN)"
  rm -f "$dir/env" "$dir/kubeconfig" "$dir"/*.pid "$dir"/*.port
  local pki=$dir/pki
  [[ -s "$pki/ca.crt" && -s "$pki/admin.crt" && -s "$pki/sa.key" ]] || gen_certs "$pki"

  # --- etcd (retry with fresh ports if one got taken between picking and binding)
  local attempt ep pp epid
  for attempt in 1 2 3; do
    read -r ep pp <<<"$(pick_ports 2)"
    [[ -n "$ep" && -n "$pp" ]] || die "could not pick free ports"
    : >"$dir/etcd.log"
    epid=$(spawn etcd "$dir/etcd.log" "$BIN/etcd" --name=vigil --data-dir="$dir/etcd-data" \
      --listen-client-urls="http://127.0.0.1:$ep" --advertise-client-urls="http://127.0.0.1:$ep" \
      --listen-peer-urls="http://127.0.0.1:$pp" --initial-advertise-peer-urls="http://127.0.0.1:$pp" \
      --initial-cluster="vigil=http://127.0.0.1:$pp" --initial-cluster-state=new \
      --unsafe-no-fsync=true --log-level=warn)
    echo "$epid" >"$dir/etcd.pid"
    echo "$ep" >"$dir/etcd.port"
    local rc=0
    wait_http etcd "$epid" "$dir/etcd.log" "$START_TIMEOUT" etcd_healthy "$ep" || rc=$?
    ((rc == 0)) && break
    if ((rc == 2)) && grep -q 'address already in use' "$dir/etcd.log" && ((attempt < 3)); then
      log "etcd port clash; retrying with other ports"; continue
    fi
    die "etcd failed to start (log: $dir/etcd.log)"
  done
  log "etcd ready on 127.0.0.1:$ep (pid $epid)"

  # --- kube-apiserver
  local audit=()
  if [[ -n "${VIGIL_AUDIT_WEBHOOK_CONFIG:-}" || -n "${VIGIL_AUDIT_LOG:-}" || -n "${VIGIL_AUDIT_POLICY:-}" ]]; then
    local policy=${VIGIL_AUDIT_POLICY:-}
    if [[ -z "$policy" ]]; then policy=$dir/audit-policy.yaml; default_audit_policy "$policy"; fi
    [[ -r "$policy" ]] || die "VIGIL_AUDIT_POLICY=$policy not readable"
    audit+=(--audit-policy-file="$policy")
    if [[ -n "${VIGIL_AUDIT_WEBHOOK_CONFIG:-}" ]]; then
      if [[ ! -e "$VIGIL_AUDIT_WEBHOOK_CONFIG" ]]; then
        cat >"$VIGIL_AUDIT_WEBHOOK_CONFIG" <<'YAML' || die "cannot write $VIGIL_AUDIT_WEBHOOK_CONFIG"
# A placeholder: replace it with the real webhook kubeconfig, then restart-apiserver.
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9/k8s-audit"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
YAML
      fi
      [[ -r "$VIGIL_AUDIT_WEBHOOK_CONFIG" ]] || die "VIGIL_AUDIT_WEBHOOK_CONFIG=$VIGIL_AUDIT_WEBHOOK_CONFIG not readable"
      audit+=(--audit-webhook-config-file="$VIGIL_AUDIT_WEBHOOK_CONFIG"
              --audit-webhook-mode="${VIGIL_AUDIT_WEBHOOK_MODE:-batch}"
              --audit-webhook-batch-max-wait=1s --audit-webhook-initial-backoff=1s
              --audit-webhook-version=audit.k8s.io/v1)
    fi
    [[ -z "${VIGIL_AUDIT_LOG:-}" ]] || audit+=(--audit-log-path="$VIGIL_AUDIT_LOG" --audit-log-format=json)
  fi
  local extra=()
  # shellcheck disable=SC2206
  [[ -z "${VIGIL_APISERVER_EXTRA_ARGS:-}" ]] || extra=(${VIGIL_APISERVER_EXTRA_ARGS})

  local ap apid
  for attempt in 1 2 3; do
    read -r ap <<<"$(pick_ports 1)"
    [[ -n "$ap" ]] || die "could not pick a free port"
    : >"$dir/kube-apiserver.log"
    local apcmd=("$BIN/kube-apiserver" \
      --etcd-servers="http://127.0.0.1:$ep" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$ap" \
      --endpoint-reconciler-type=none \
      --cert-dir="$pki" --tls-cert-file="$pki/serving.crt" --tls-private-key-file="$pki/serving.key" \
      --client-ca-file="$pki/ca.crt" \
      --service-account-issuer="https://127.0.0.1:$ap" \
      --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
      --service-cluster-ip-range=10.0.0.0/24 \
      --authorization-mode=Node,RBAC \
      --disable-admission-plugins=ServiceAccount \
      --allow-privileged=true \
      "${audit[@]}" "${extra[@]}")
    printf '%q ' "${apcmd[@]}" >"$dir/kube-apiserver.cmd"  # for restart-apiserver
    apid=$(spawn kube-apiserver "$dir/kube-apiserver.log" "${apcmd[@]}")
    echo "$apid" >"$dir/kube-apiserver.pid"
    echo "$ap" >"$dir/kube-apiserver.port"
    local rc=0
    wait_http kube-apiserver "$apid" "$dir/kube-apiserver.log" "$START_TIMEOUT" apiserver_ready "$ap" "$pki/ca.crt" || rc=$?
    ((rc == 0)) && break
    if ((rc == 2)) && grep -q 'address already in use' "$dir/kube-apiserver.log" && ((attempt < 3)); then
      log "kube-apiserver port clash; retrying with another port"; continue
    fi
    die "kube-apiserver failed to become ready (log: $dir/kube-apiserver.log)"
  done
  log "kube-apiserver ready on https://127.0.0.1:$ap (pid $apid)"

  local url="https://127.0.0.1:$ap"
  write_kubeconfig "$dir/kubeconfig" "$url" "$pki" admin vigil-admin
  "$BIN/kubectl" --kubeconfig="$dir/kubeconfig" get namespace vigil-system >/dev/null 2>&1 \
    || "$BIN/kubectl" --kubeconfig="$dir/kubeconfig" create namespace vigil-system >/dev/null \
    || die "could not create namespace vigil-system"

  KCM_PID='' KCM_PORT=''
  if want_kcm; then start_kcm "$dir"; fi

  {
    echo "# Vigil local control plane ($PROG start $dir); source this file."
    printf 'export KUBECONFIG=%q\n' "$dir/kubeconfig"
    printf 'export APISERVER_URL=%q\n' "$url"
    printf 'export APISERVER_PORT=%q\n' "$ap"
    printf 'export APISERVER_CA=%q\n' "$pki/ca.crt"
    printf 'export APISERVER_CLIENT_CERT=%q\n' "$pki/admin.crt"
    printf 'export APISERVER_CLIENT_KEY=%q\n' "$pki/admin.key"
    printf 'export APISERVER_PID=%q\n' "$apid"
    printf 'export CONTROLPLANE_CA_KEY=%q\n' "$pki/ca.key"
    printf 'export SA_ISSUER=%q\n' "$url"
    printf 'export ETCD_URL=%q\n' "http://127.0.0.1:$ep"
    printf 'export ETCD_PID=%q\n' "$epid"
    printf 'export KUBECTL=%q\n' "$BIN/kubectl"
    printf 'export CONTROLPLANE_DIR=%q\n' "$dir"
    if [[ -n "$KCM_PID" ]]; then
      printf 'export CONTROLLER_MANAGER_PID=%q\n' "$KCM_PID"
      printf 'export CONTROLLER_MANAGER_PORT=%q\n' "$KCM_PORT"
      printf 'export CONTROLLERS=%q\n' "$VIGIL_CONTROLLERS"
    fi
  } >"$dir/env"
  S_OK=1
  trap - EXIT INT TERM
  log "ready in $((SECONDS - t0))s; KUBECONFIG=$dir/kubeconfig; env: $dir/env"
}

# ---------------------------------------------------------------------------------------------
# stop / status

# stop_pid NAME PIDFILE DIR: TERM, wait, KILL; returns once the process is gone.
stop_pid() {
  local name=$1 pidf=$2 dir=$3 pid deadline
  pid=$(read_pid "$pidf")
  [[ -n "$pid" ]] || return 0
  if ! pid_alive "$pid" "$dir"; then rm -f "$pidf"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid" "$dir" && ((SECONDS < deadline)); do sleep 0.1; done
  if pid_alive "$pid" "$dir"; then
    log "$name (pid $pid) did not exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while pid_alive "$pid" "$dir" && ((SECONDS < deadline)); do sleep 0.1; done
    pid_alive "$pid" "$dir" && { log "error: $name (pid $pid) survived SIGKILL"; return 1; }
  fi
  # Reap if it is our own child (same shell that started it).
  wait "$pid" 2>/dev/null || true
  rm -f "$pidf"
  log "stopped $name (pid $pid)"
}

wait_port_closed() { # PORTFILE
  local port deadline
  [[ -s "$1" ]] || return 0
  port=$(tr -dc '0-9' <"$1")
  [[ -n "$port" ]] || return 0
  deadline=$((SECONDS + 10))
  while port_listening "$port"; do
    ((SECONDS < deadline)) || { log "error: port $port still listening"; return 1; }
    sleep 0.1
  done
}

stop_dir() {
  local dir=$1 rc=0
  # The controller-manager, then the apiserver, so neither spams connection errors.
  stop_pid kube-controller-manager "$dir/kube-controller-manager.pid" "$dir" || rc=1
  stop_pid kube-apiserver "$dir/kube-apiserver.pid" "$dir" || rc=1
  stop_pid etcd "$dir/etcd.pid" "$dir" || rc=1
  wait_port_closed "$dir/kube-controller-manager.port" || rc=1
  wait_port_closed "$dir/kube-apiserver.port" || rc=1
  wait_port_closed "$dir/etcd.port" || rc=1
  [[ ! -f "$dir/env" ]] || sed -i '1s/^/# STOPPED\n/' "$dir/env"
  [[ ! -f "$dir/env" ]] || mv -f "$dir/env" "$dir/env.stopped"
  return "$rc"
}

cmd_stop() {
  [[ $# -eq 1 ]] || die "usage: $PROG stop DIR"
  [[ -d "$1" ]] || die "no such directory: $1"
  local dir
  dir=$(cd "$1" && pwd)
  stop_dir "$dir"
}

cmd_status() {
  [[ $# -eq 1 ]] || die "usage: $PROG status DIR"
  [[ -d "$1" ]] || die "no such directory: $1"
  local dir rc=0 p pid port
  dir=$(cd "$1" && pwd)
  for p in etcd kube-apiserver kube-controller-manager; do
    pid=$(read_pid "$dir/$p.pid")
    port=$(read_num "$dir/$p.port")
    # The controller-manager is optional: reported only if this DIR started one.
    [[ $p != kube-controller-manager || -n "$pid" || -f "$dir/kube-controller-manager.port" ]] || continue
    if [[ -n "$pid" ]] && pid_alive "$pid" "$dir"; then
      printf '%-23s running  pid %-8s port %s\n' "$p" "$pid" "$port"
    else
      printf '%-23s stopped\n' "$p"; rc=1
    fi
  done
  port=$(read_num "$dir/kube-apiserver.port")
  if [[ -n "$port" ]] && apiserver_ready "$port" "$dir/pki/ca.crt"; then
    printf '%-23s ok (https://127.0.0.1:%s)\n' readyz "$port"
  else
    printf '%-23s not ready\n' readyz; rc=1
  fi
  return "$rc"
}

cmd_env() {
  [[ $# -eq 1 ]] || die "usage: $PROG env DIR"
  [[ -f "$1/env" ]] || die "$1/env missing (not started?)"
  cat "$1/env"
}

cmd_kubectl() {
  [[ $# -ge 1 ]] || die "usage: $PROG kubectl DIR ARGS..."
  local dir=$1; shift
  [[ -f "$dir/kubeconfig" ]] || die "$dir/kubeconfig missing (not started?)"
  BIN=$(bin_dir)
  exec "$BIN/kubectl" --kubeconfig="$dir/kubeconfig" "$@"
}

cmd_paths() {
  echo "kubernetes=$(k8s_version) staging=$(staging_version) etcd=$(etcd_version)"
  echo "bin=$(bin_dir)"
  have_bins && echo "built=yes" || echo "built=no"
}

# Restarts kube-apiserver alone, same flags and port, etcd untouched: for tests of watch recovery.
cmd_restart_apiserver() {
  [[ $# -eq 1 && -f "$1/kube-apiserver.cmd" ]] || die "usage: $PROG restart-apiserver DIR (a started DIR)"
  local dir ap apid
  dir=$(cd "$1" && pwd)
  ap=$(read_num "$dir/kube-apiserver.port")
  stop_pid kube-apiserver "$dir/kube-apiserver.pid" "$dir" || die "could not stop kube-apiserver"
  wait_port_closed "$dir/kube-apiserver.port" || die "port $ap still in use"
  local -a apcmd
  eval "apcmd=($(cat "$dir/kube-apiserver.cmd"))"
  apid=$(spawn kube-apiserver "$dir/kube-apiserver.log" "${apcmd[@]}")
  echo "$apid" >"$dir/kube-apiserver.pid"
  wait_http kube-apiserver "$apid" "$dir/kube-apiserver.log" "$START_TIMEOUT" apiserver_ready "$ap" "$dir/pki/ca.crt" \
    || die "kube-apiserver did not come back (log: $dir/kube-apiserver.log)"
  [[ ! -f "$dir/env" ]] || sed -i "s/^export APISERVER_PID=.*/export APISERVER_PID=$apid/" "$dir/env"
  log "kube-apiserver restarted (pid $apid)"
}

# Compacts etcd's history to its current revision, so every older resourceVersion is gone: the
# next watch from one gets 410 Gone.
cmd_compact() {
  [[ $# -eq 1 ]] || die "usage: $PROG compact DIR"
  local dir ep rev
  dir=$(cd "$1" && pwd)
  ep=$(read_num "$dir/etcd.port")
  rev=$(curl -fsS -X POST "http://127.0.0.1:$ep/v3/kv/range" -d '{"key":"Lw==","count_only":true}' \
    | sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
  [[ -n "$rev" ]] || die "could not read etcd's revision"
  curl -fsS -X POST "http://127.0.0.1:$ep/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null \
    || die "compaction failed"
  log "etcd compacted to revision $rev"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    build) cmd_build "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    kubectl) cmd_kubectl "$@" ;;
    paths) cmd_paths "$@" ;;
    restart-apiserver) cmd_restart_apiserver "$@" ;;
    compact) cmd_compact "$@" ;;
    -h|--help|help) usage ;;
    "") usage >&2; exit 2 ;;
    *) log "unknown command: $cmd"; usage >&2; exit 2 ;;
  esac
}

main "$@"
