#!/usr/bin/env bash
# Helm v3, built from its Go module once and cached outside the checkout (like
# scripts/controlplane.sh does for kube-apiserver and etcd), for rendering and linting
# deploy/helm/vigil in tests. No release binary is downloaded.
#
# Usage: scripts/helm.sh path          print the binary's path (building it first if needed)
#        scripts/helm.sh build         build it if needed
#        scripts/helm.sh ARGS...       run helm ARGS...
set -euo pipefail
if [[ -z "${HOME:-}" ]]; then HOME=$(getent passwd "$(id -u)" | cut -d: -f6); HOME=${HOME:-/root}; fi
export HOME

PROG=helm.sh
HELM_VERSION=${VIGIL_HELM_VERSION:-v3.22.0}   # helm.sh/helm/v3, served by the Go module proxy

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  cat <<EOF2
Usage: scripts/helm.sh {path|build|-h|--help|HELM-ARGS...}

  path         Print the cached helm binary's path, building it first if needed.
  build        Build helm $HELM_VERSION (go install helm.sh/helm/v3/cmd/helm) into the cache
               unless it is already there. A cold build takes a few minutes on 2 cores.
  HELM-ARGS    Anything else runs helm with those arguments, e.g.
               scripts/helm.sh template vigil deploy/helm/vigil -n vigil-system

Environment:
  VIGIL_HELM_CACHE    Cache root (default \${XDG_CACHE_HOME:-\$HOME/.cache}/vigil/helm);
                      the binary goes to <root>/<version>/bin/helm.
  VIGIL_HELM_VERSION  helm.sh/helm/v3 version to build (default $HELM_VERSION).
  GO                  Go binary (default: go on PATH, else /usr/local/go/bin/go).
EOF2
}

cache_root() { echo "${VIGIL_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/helm}"; }
bin_dir() { echo "$(cache_root)/$HELM_VERSION/bin"; }
have_bin() { [[ -x "$(bin_dir)/helm" ]]; }

find_go() {
  if [[ -n "${GO:-}" ]]; then echo "$GO"; return; fi
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go; return; fi
  die "Go not found (set GO=/path/to/go); needed to build helm"
}

cmd_build() {
  local bin go tmp lock t0
  bin=$(bin_dir)
  if have_bin; then return 0; fi
  go=$(find_go)
  mkdir -p "$bin"
  # One build at a time per version (parallel ctest, two shells).
  lock="$(dirname "$bin")/.build.lock"
  exec 9>"$lock"
  if ! flock -n 9; then
    log "another build holds $lock; waiting for it"
    flock 9
  fi
  if have_bin; then log "helm present in $bin (built concurrently)"; exec 9>&-; return 0; fi

  tmp=$(mktemp -d "$(dirname "$bin")/.build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  log "using $("$go" version)"
  log "building helm $HELM_VERSION (helm.sh/helm/v3/cmd/helm) into $bin"
  log "  a cold build takes a few minutes on 2 cores plus module downloads; Go's caches"
  log "  ($("$go" env GOMODCACHE), $("$go" env GOCACHE)) make rebuilds fast"
  t0=$(date +%s)
  # Stamp what helm's Makefile stamps: its version, and the Kubernetes version 'helm template'
  # and 'helm lint' assume without a cluster (client-go v0.N -> 1.N; unstamped it is 1.20, which
  # fails charts with a kubeVersion constraint).
  local moddir cgo major minor ld
  moddir=$(cd "$tmp" && "$go" mod download -json "helm.sh/helm/v3@$HELM_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "cannot download helm.sh/helm/v3@$HELM_VERSION"
  [[ -r "$moddir/go.mod" ]] || die "helm.sh/helm/v3@$HELM_VERSION: no go.mod in '$moddir'"
  cgo=$(sed -nE 's#^[[:space:]]*k8s\.io/client-go[[:space:]]+v([0-9]+)\.([0-9]+)\..*#\1 \2#p' "$moddir/go.mod" | head -n1)
  read -r major minor <<<"$cgo"
  [[ -n "$major" && -n "$minor" ]] || die "cannot read k8s.io/client-go's version from $moddir/go.mod"
  major=$((major + 1))
  ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  log "  default Kubernetes version for template/lint: v$major.$minor.0"
  # Module mode outside any go.mod: 'go install pkg@version' uses helm's own go.mod and go.sum.
  (cd "$tmp" && GOBIN="$tmp" "$go" install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") \
    || die "helm build failed"
  mv -f "$tmp/helm" "$bin/helm"
  printf 'helm=%s go=%s built=%s\n' "$HELM_VERSION" "$("$go" env GOVERSION)" "$(date -u +%FT%TZ)" >"$bin/VERSIONS"
  rm -rf "$tmp"; trap - EXIT
  exec 9>&-
  log "done in $(($(date +%s) - t0))s: $bin/helm"
}

main() {
  case "${1:-}" in
    ""|-h|--help|help) usage; [[ $# -gt 0 ]] || exit 2 ;;
    path) cmd_build; bin_dir | sed 's#$#/helm#' ;;
    build) cmd_build ;;
    *) cmd_build; exec "$(bin_dir)/helm" "$@" ;;
  esac
}

main "$@"
