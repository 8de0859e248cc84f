#!/usr/bin/env bash
# `make demo` must keep working: runs scripts/demo.sh non-interactively and checks that the
# story's alert reached the screen with its pod, and that the demo cleaned up after itself.
set -uo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
((EUID == 0)) || { echo "SKIP: needs root"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-demo-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
VIGIL_DEMO_SECONDS=1 VIGIL_DEMO_DIR=$WORK/demo timeout 600 "$ROOT/scripts/demo.sh" >"$WORK/out" 2>&1
rc=$?
cat "$WORK/out"
fail=0
check() { if grep -qE "$2" "$WORK/out"; then echo "PASS: $1"; else echo "FAIL: $1"; fail=1; fi; }
[[ $rc == 0 ]] && echo "PASS: demo exited 0" || { echo "FAIL: demo exit code $rc"; fail=1; }
check "the shell-in-container alert is on screen with pod and namespace" 'ALERT .*Shell in container .*pod=web-1 ns=shop'
check "the NodePort alert from the audit webhook is on screen" 'ALERT .*NodePort Service created .*service=web-1 ns=shop'
check "kubectl get securityrules shows the audit rule Programmed with an alert" 'nodeport-service-created +k8s_audit +Warning +True +0/0 +[1-9]'
check "kubectl get securityrules shows the rule programmed on 1/1 nodes" 'shell-in-container +syscall +Warning +True +1/1'
check "kubectl get nodeagents shows the node Ready" 'nodeagent.vigil.dev/[^ ]+ +True'
check "the demo stopped everything" 'stopped the agent, the operator and the control plane'
if pgrep -f "vigil-agent --kubeconfig $WORK" >/dev/null; then echo "FAIL: an agent outlived the demo"; fail=1; fi
exit $fail
