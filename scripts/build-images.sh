#!/usr/bin/env bash
# Builds Vigil's container images offline with buildah, FROM scratch, out of the binaries of a
# local build: each image holds one binary, exactly the shared libraries it links (ldd) and the
# dynamic loader, /etc/passwd + /etc/group (root, nonroot 65532), /etc/nsswitch.conf and the CA
# bundle. No registry is contacted (deploy/images/Dockerfile.* is the networked path for CI).
#
#   scripts/build-images.sh [BUILD_DIR]        (root; Debian 12)
#
# BUILD_DIR (or VIGIL_BUILD_DIR): where vigil-operator, vigil-agent and vigilctl are. Default:
# build/ when it already holds all three, otherwise build-img/, configured Release without tests
# and benchmarks and built here. A given BUILD_DIR that lacks a binary is built the same way.
#
# Environment:
#   VIGIL_IMAGES       which images (default "operator agent vigilctl").
#   VIGIL_REGISTRY     image name prefix (default ghcr.io/vigil-dev).
#   VIGIL_VERSION      tag and org.opencontainers.image.version (default: CMake project version).
#   VIGIL_SOURCE       org.opencontainers.image.source (default https://github.com/vigil-dev/vigil).
#   VIGIL_ARCHIVE_DIR  also write each image as an OCI archive DIR/<name>-<version>.oci.tar
#                      (buildah push to oci-archive:, a local file; nothing is pushed anywhere).
#   VIGIL_VERIFY=0     skip the checks after each commit (inspect, file list, chroot --help).
#   BUILDAH_ISOLATION  defaults to chroot (no nested user namespaces or runc needed).
#   STORAGE_DRIVER     passed to buildah when set (e.g. vfs where overlay is unavailable).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD

log() { printf '\033[1mbuild-images:\033[0m %s\n' "$*"; }
die() { printf 'build-images: error: %s\n' "$*" >&2; exit 1; }

export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
images=${VIGIL_IMAGES:-operator agent vigilctl}
registry=${VIGIL_REGISTRY:-ghcr.io/vigil-dev}
source_url=${VIGIL_SOURCE:-https://github.com/vigil-dev/vigil}
version=${VIGIL_VERSION:-$(sed -n 's/^project(vigil VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)}
[[ -n "$version" ]] || die "cannot read the version from CMakeLists.txt; set VIGIL_VERSION"
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)

[[ $(id -u) -eq 0 ]] || die "run as root (buildah with chroot isolation and the chroot checks need it)"

# ---- buildah ----------------------------------------------------------------------------------
if ! command -v buildah >/dev/null; then
  log "buildah not found; installing the Debian package"
  apt-cache policy buildah | grep -q 'Candidate: [0-9]' || die "no buildah package in the apt sources"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q buildah </dev/null
fi
buildah_args=()
[[ -n "${STORAGE_DRIVER:-}" ]] && buildah_args+=(--storage-driver "$STORAGE_DRIVER")
bah() { buildah "${buildah_args[@]}" "$@"; }
log "$(buildah --version), isolation $BUILDAH_ISOLATION, storage $(bah info --format '{{.store.GraphDriverName}}' 2>/dev/null || echo '?')"

# ---- binaries ---------------------------------------------------------------------------------
binary_of() {
  case $1 in
    operator) echo vigil-operator ;;
    agent) echo vigil-agent ;;
    vigilctl) echo vigilctl ;;
    *) die "unknown image '$1' (operator, agent, vigilctl)" ;;
  esac
}
targets=()
for img in $images; do targets+=("$(binary_of "$img")"); done

have_all() { local t; for t in "${targets[@]}"; do [[ -x "$1/$t" ]] || return 1; done; }

build_dir=${1:-${VIGIL_BUILD_DIR:-}}
if [[ -z "$build_dir" ]]; then
  if have_all build; then build_dir=build; else build_dir=build-img; fi
fi
if ! have_all "$build_dir"; then
  if [[ ! -f "$build_dir/build.ninja" ]]; then
    log "configuring $build_dir (Release, no tests, no benchmarks)"
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF
  fi
  log "building ${targets[*]} in $build_dir"
  ninja -C "$build_dir" "${targets[@]}"
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
log "binaries from $build_dir/ (${build_type:-unknown build type}; stripped in the image)"

# ---- images -----------------------------------------------------------------------------------
work=$(mktemp -d /tmp/vigil-images.XXXXXX)
containers=()
mounted=()
cleanup() {
  local c
  for c in "${mounted[@]}"; do bah umount "$c" >/dev/null 2>&1 || true; done
  for c in "${containers[@]}"; do bah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

summary=()
for img in $images; do
  bin=$(binary_of "$img")
  name=$registry/$bin:$version
  case $img in
    agent)
      # root: the agent needs CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE, CAP_SYS_PTRACE and
      # CAP_DAC_READ_SEARCH, and a non-root uid's effective set is emptied at exec (no ambient
      # capabilities in the pod API). The pod drops ALL other capabilities.
      user=0:0
      desc="Vigil node agent: eBPF syscall monitoring, rule evaluation, alerts (needs CAP_BPF/CAP_PERFMON, hostPID)."
      ;;
    operator)
      user=65532:65532
      desc="Vigil operator: compiles SecurityRules, delivers alerts to AlertSinks, receives the API server audit webhook."
      ;;
    vigilctl)
      user=65532:65532
      desc="vigilctl: Vigil's command-line tool (lint and test rules, audit-config, sinks)."
      ;;
  esac

  log "==== $name"
  rootfs=$work/$img
  deploy/images/collect-rootfs.sh "$rootfs" "$build_dir/$bin"

  ctr=$(bah from --name "vigil-img-$img-$$" scratch)
  containers+=("$ctr")
  bah copy --quiet "$ctr" "$rootfs/" / >/dev/null
  bah config \
    --entrypoint "[\"/usr/local/bin/$bin\"]" \
    --user "$user" --workingdir / \
    --os linux --arch "$(dpkg --print-architecture 2>/dev/null || echo amd64)" \
    --label "org.opencontainers.image.title=$bin" \
    --label "org.opencontainers.image.description=$desc" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.source=$source_url" \
    --label "org.opencontainers.image.revision=$revision" \
    --label "org.opencontainers.image.created=$created" \
    --label "org.opencontainers.image.vendor=Vigil" \
    "$ctr"
  # No org.opencontainers.image.licenses: the repository has no LICENSE file yet.
  # Replace an image of the same name rather than leave it dangling.
  bah rmi "$name" >/dev/null 2>&1 || true
  id=$(bah commit --quiet --rm "$ctr" "$name")
  containers=("${containers[@]/$ctr/}")
  log "committed $name (${id:0:12})"

  if [[ "${VIGIL_VERIFY:-1}" == 1 ]]; then
    log "verify: config"
    bah inspect --type image "$name" | python3 -c '
import json, sys
c = json.load(sys.stdin)["OCIv1"]["config"]
print("  entrypoint:", json.dumps(c.get("Entrypoint")), " cmd:", json.dumps(c.get("Cmd")),
      " user:", c.get("User"), " workdir:", c.get("WorkingDir"))
for k, v in sorted((c.get("Labels") or {}).items()):
    print("  label", k + "=" + v)'
    vctr=$(bah from --pull-never --name "vigil-verify-$img-$$" "$name")
    containers+=("$vctr")
    mnt=$(bah mount "$vctr")
    mounted+=("$vctr")
    log "verify: files in the image"
    (cd "$mnt" && find . -mindepth 1 \( -type f -o -type l \) -printf '  /%P %s\n' | sort)
    log "verify: chroot $mnt /usr/local/bin/$bin --help (every library resolvable inside the image)"
    out=$(chroot --userspec="$user" "$mnt" "/usr/local/bin/$bin" --help 2>&1) \
      || die "$bin --help failed inside the image rootfs: $out"
    head -n 3 <<<"$out" | sed 's/^/  | /'
    bah umount "$vctr" >/dev/null
    mounted=("${mounted[@]/$vctr/}")
    bah rm "$vctr" >/dev/null
    containers=("${containers[@]/$vctr/}")
  fi

  if [[ -n "${VIGIL_ARCHIVE_DIR:-}" ]]; then
    mkdir -p "$VIGIL_ARCHIVE_DIR"
    archive=$VIGIL_ARCHIVE_DIR/$bin-$version.oci.tar
    rm -f "$archive"
    bah push --quiet "$name" "oci-archive:$archive:$name"
    log "wrote $archive ($(du -h "$archive" | cut -f1))"
  fi

  size=$(bah images --format '{{.Size}}' "$name" | head -n 1)
  summary+=("$name  $size  user $user")
done

log "==== images"
printf '  %s\n' "${summary[@]}"
