#!/usr/bin/env bash
# Installs every Debian package Vigil needs to build, test, benchmark, fuzz and lint.
# Target: Debian 12 (bookworm), run as root. Idempotent: when everything is already installed it
# only runs dpkg-query and exits (no root needed then). `apt-get update` runs only when a package
# is missing.
set -euo pipefail

PACKAGES=(
  # Toolchain and build.
  build-essential cmake ninja-build ccache pkg-config
  # clang for the fuzz build; compiler-rt carries libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
  # make fmt / make lint.
  clang-format clang-tidy
  # Libraries (see README.md, "Dependencies and why").
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libre2-dev libssl-dev
  libcurl4-openssl-dev libboost1.81-dev
  # Tests and benchmarks.
  libgtest-dev libgmock-dev libbenchmark-dev
  # eBPF: libbpf, bpftool (skeletons), kernel UAPI headers.
  libbpf-dev bpftool linux-libc-dev
  # The local control plane (scripts/controlplane.sh) and the e2e tests: certificates, probes,
  # ports and processes.
  openssl curl iproute2 procps python3
  # The agent's tests perform real attacks: a shell with a terminal (script), a simulated
  # container (unshare), netcat remote execution (nc.traditional -e).
  util-linux bsdutils netcat-traditional
)

log() { printf 'install-deps: %s\n' "$*"; }

if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  if [[ "${ID:-}" != debian || "${VERSION_ID:-}" != 12 ]]; then
    log "warning: written for Debian 12; this is ${PRETTY_NAME:-unknown}. Trying anyway."
  fi
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    log "error: missing packages: ${missing[*]}" >&2
    log "error: run as root (sudo scripts/install-deps.sh), or install them yourself:" >&2
    log "error:   apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  log "Installing ${#missing[@]} missing package(s): ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
  still=()
  for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [[ "$status" == ii* ]] || still+=("$pkg")
  done
  if ((${#still[@]} > 0)); then
    log "error: still missing after apt-get install: ${still[*]}" >&2
    exit 1
  fi
  log "Installed ${missing[*]}."
else
  log "All ${#PACKAGES[@]} Debian packages already installed."
fi

# Go is not a Debian package here (Debian 12's 1.19 is too old for Kubernetes 1.36): the machine image
# ships it (usually /usr/local/go); scripts/controlplane.sh builds kube-apiserver, kubectl and etcd with it.
if go_bin=$(command -v go 2>/dev/null) || { [[ -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go; }; then
  log "Found Go: $go_bin ($("$go_bin" version 2>/dev/null | awk '{print $3}'))."
else
  log "warning: no Go toolchain found (not on PATH, not /usr/local/go/bin/go)." \
    "Unit tests do not need it; the e2e tests (kube-apiserver, etcd) will." >&2
fi
