# Shared by the e2e scripts (source it): PASS/FAIL counting, and retrying a check.
# shellcheck shell=bash
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); printf 'PASS: %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf 'FAIL: %s\n' "$*"; }
summary() { printf '%d passed, %d failed\n' "$PASS" "$FAIL"; }
abort() { bad "$*"; summary; exit 1; }

# eventually TIMEOUT DESC CMD...: retries CMD until it succeeds or TIMEOUT seconds pass.
eventually() {
  local timeout=$1 desc=$2 start=$SECONDS out
  shift 2
  while true; do
    if out=$("$@" 2>&1); then ok "$desc ($((SECONDS - start))s)"; return 0; fi
    if ((SECONDS - start >= timeout)); then
      bad "$desc (not within ${timeout}s)"
      printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
      return 1
    fi
    sleep 0.3
  done
}
