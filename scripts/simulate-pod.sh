#!/usr/bin/env bash
# A pod on this host without a kubelet or a container runtime, for the demo and the e2e tests:
# a Pod object bound to a node whose status names a container ID (as the kubelet writes it),
# and a cgroup v2 leaf named the way containerd names that container's cgroup
# (cri-containerd-<id>.scope). Processes run in the container get new pid, mount and uts
# namespaces, so the agent sees what it sees for a real container, and maps it to the Pod.
#
#   simulate-pod.sh create NAMESPACE POD NODE [IMAGE]   prints the 64-hex container ID
#   simulate-pod.sh exec ID [--tty] COMMAND...          runs COMMAND in the container; --tty
#                                                       gives it a terminal (as kubectl exec -it)
#   simulate-pod.sh delete NAMESPACE POD ID             kills what runs in it, removes both
#
# Needs root (cgroups), $KUBECTL and $KUBECONFIG (source the control plane's env file).
set -euo pipefail

cgroup_root() {
  local m
  m=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
  [[ -n "$m" ]] || { echo "simulate-pod.sh: no cgroup2 mount" >&2; exit 1; }
  echo "$m"
}
leaf() { echo "$(cgroup_root)/vigil-simulated/cri-containerd-$1.scope"; }
K() { "${KUBECTL:?source the control plane env file}" --kubeconfig="${KUBECONFIG:?}" --request-timeout=20s "$@"; }

cmd=${1:-}
case "$cmd" in
create)
  ns=${2:?namespace} pod=${3:?pod name} node=${4:?node name} image=${5:-docker.io/library/nginx:1.25}
  id=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -p "$(leaf "$id")"
  K get namespace "$ns" >/dev/null 2>&1 || K create namespace "$ns" >/dev/null
  K apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $pod
  namespace: $ns
  labels: {app: $pod, vigil.dev/simulated: "true"}
spec:
  nodeName: $node
  containers:
  - name: app
    image: $image
YAML
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  K -n "$ns" patch pod "$pod" --subresource=status --type=merge -p "{\"status\": {
    \"phase\": \"Running\", \"podIP\": \"10.244.0.17\", \"startTime\": \"$now\",
    \"containerStatuses\": [{\"name\": \"app\", \"containerID\": \"containerd://$id\",
      \"image\": \"$image\", \"imageID\": \"${image%%:*}@sha256:$(printf %s "$image" | sha256sum | cut -c1-64)\",
      \"ready\": true, \"restartCount\": 0, \"started\": true,
      \"state\": {\"running\": {\"startedAt\": \"$now\"}}}]}}" >/dev/null
  echo "$id"
  ;;
exec)
  id=${2:?container id}
  shift 2
  tty=0
  if [[ "${1:-}" == "--tty" ]]; then tty=1; shift; fi
  dir=$(leaf "$id")
  [[ -d "$dir" ]] || { echo "simulate-pod.sh: no container $id" >&2; exit 1; }
  command=$*
  if ((tty)); then
    # script(1) gives the shell a pseudo-terminal; it runs $SHELL -c COMMAND.
    SHELL=/bin/bash sh -c 'echo $$ > "$1/cgroup.procs" && exec unshare --pid --fork --mount --uts script -qec "$2" /dev/null' \
      sh "$dir" "$command" </dev/null
  else
    sh -c 'echo $$ > "$1/cgroup.procs" && exec unshare --pid --fork --mount --uts sh -c "$2"' \
      sh "$dir" "$command" </dev/null
  fi
  ;;
delete)
  ns=${2:?namespace} pod=${3:?pod name} id=${4:?container id}
  dir=$(leaf "$id")
  if [[ -d "$dir" ]]; then
    for _ in $(seq 50); do
      pids=$(cat "$dir/cgroup.procs" 2>/dev/null || true)
      [[ -z "$pids" ]] && break
      kill -9 $pids 2>/dev/null || true
      sleep 0.05
    done
    rmdir "$dir" 2>/dev/null || true
  fi
  K -n "$ns" delete pod "$pod" --ignore-not-found --wait=false >/dev/null
  ;;
*)
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  [[ "$cmd" == -h || "$cmd" == --help ]] && exit 0
  exit 2
  ;;
esac
