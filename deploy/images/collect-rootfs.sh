#!/usr/bin/env bash
# Collects a minimal root filesystem for a `FROM scratch` image: one or more binaries, exactly the
# shared libraries they link (ldd, resolved to real files at the paths ldd reports), the dynamic
# loader, and a handful of /etc files. Used by both build paths, so they produce the same tree:
#   - the build stage of deploy/images/Dockerfile.* (inside debian:12),
#   - scripts/build-images.sh (offline with buildah, on this Debian 12 host).
#
#   collect-rootfs.sh ROOTFS BINARY...
#
# Each BINARY lands in ROOTFS/usr/local/bin/ (stripped of debug info). The host/build stage must be
# the same distribution the binaries were built on (Debian 12): the libraries come from it.
#
# Environment:
#   VIGIL_STRIP=0          keep the binaries' symbols (default 1: strip --strip-unneeded).
#   VIGIL_CA_BUNDLE=path   CA bundle copied to /etc/ssl/certs/ca-certificates.crt
#                          (default that same path on the host; libcurl/OpenSSL look there).
set -euo pipefail

log() { printf 'collect-rootfs: %s\n' "$*"; }
die() { printf 'collect-rootfs: error: %s\n' "$*" >&2; exit 1; }

(($# >= 2)) || die "usage: $0 ROOTFS BINARY..."
rootfs=$1
shift
command -v ldd >/dev/null || die "ldd not found (package libc-bin)"

mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs"
# /tmp exists (sticky, world-writable) for anything that expects it; the manifests mount an
# emptyDir over it anyway because the root filesystem is read-only there.
install -d -m 1777 "$rootfs/tmp"

# Copies a file to the same path under ROOTFS, dereferencing symlinks (a scratch image has no
# /lib -> usr/lib merge symlinks, so every path ldd printed becomes a real file).
copy_file() {
  local src=$1 dst="$rootfs$1"
  [[ -e "$dst" ]] && return 0
  mkdir -p "$(dirname "$dst")"
  cp -L --preserve=mode "$src" "$dst"
}

declare -A seen=()
for bin in "$@"; do
  [[ -x "$bin" ]] || die "not an executable: $bin"
  name=$(basename "$bin")
  install -m 0755 "$bin" "$rootfs/usr/local/bin/$name"
  if [[ "${VIGIL_STRIP:-1}" == 1 ]] && command -v strip >/dev/null; then
    strip --strip-unneeded "$rootfs/usr/local/bin/$name"
  fi
  # ldd lines: "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)", the loader as
  # "/lib64/ld-linux-x86-64.so.2 (0x...)", and "linux-vdso.so.1 (0x...)" (kernel, no file).
  ldd_out=$(ldd "$bin") || die "ldd failed on $bin"
  if grep -q 'not found' <<<"$ldd_out"; then
    die "$bin has unresolved libraries: $(grep 'not found' <<<"$ldd_out" | tr -s ' \t\n' ' ')"
  fi
  n=0
  while read -r path; do
    [[ -n "$path" ]] || continue
    copy_file "$path"
    seen[$path]=1
    n=$((n + 1))
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out")
  log "$name: $n shared objects (loader included)"
done
log "${#seen[@]} distinct shared objects in total"

# Users: root for the agent, nonroot (65532, as in distroless) for the operator and vigilctl.
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
# Not strictly needed (glibc >= 2.34 has files and dns built in), but without it glibc asks DNS
# before /etc/hosts; with it, a pod's hostAliases (/etc/hosts) win, as everywhere else.
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"

# CA certificates for HTTPS sinks (Slack, webhooks) and the API server client (libcurl/OpenSSL).
ca=${VIGIL_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[[ -r "$ca" ]] || die "no CA bundle at $ca (package ca-certificates)"
cp -L "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$rootfs/etc/ssl/certs/ca-certificates.crt"

log "rootfs $rootfs: $(find "$rootfs" -type f | wc -l) files, $(du -sh "$rootfs" | cut -f1)"
