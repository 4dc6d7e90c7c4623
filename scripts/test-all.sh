#!/usr/bin/env bash
# The README's test command: install what is missing (pnpm, Redis, PostgreSQL, Debian's chromium
# for the posthog-js test, dependencies), then type-check and run every test, on PGlite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/pnpm.sh
bash scripts/services.sh
pnpm_pinned install --frozen-lockfile
pnpm_pinned typecheck
results=.vitest-results.json
rm -f "$results"
status=0
summary() { # one plain line any CI reads: "<what>: N passed, N failed, N skipped"
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$results" "$1" || true
  rm -f "$results"
  took
}
took() { echo "  (${SECONDS} s since test:all began)"; } # where CI's 15 minutes go
pnpm_pinned test || status=$?
summary tests
# The tests that hold the pipeline's Redis contracts (one slot per queue, lanes in order, each
# schedule tick once, nothing left behind) again, on a throwaway 3-master Redis Cluster.
# `pnpm test:cluster` with no files runs every test there.
pnpm_pinned test:cluster test/pipeline.e2e.test.ts test/ordering.e2e.test.ts test/schedules.e2e.test.ts \
  test/lane-owners.test.ts test/ordered-lanes.test.ts test/app-cache.test.ts services/intake/test/answers-at-hand.test.ts || status=$?
summary "tests on a Redis Cluster"
# The chaos suite's bounded form: every fault (SIGKILLs, Redis restart, Postgres stop, SIGTERMs,
# PGlite on a full disk, a cluster failover) with 2,000 events each, ~2 min; it exits 1 on any
# loss or duplicate store. The full run is `pnpm test:chaos` (README).
#
# Beside it, the Dockerfile built and run as an operator runs it (pnpm test:docker, ~2-3 min on a
# fresh machine, mostly the image's dependency download, which is why it overlaps the chaos
# suite's waits instead of adding to CI's time); its output follows the table. Exit 2 means no
# container engine can run on this machine: said plainly, and not a failure of Sluice.
docker_log=$(mktemp)
bash scripts/test-docker.sh >"$docker_log" 2>&1 &
docker_pid=$!
pnpm_pinned test:chaos --bounded --events 2000 || status=$?
docker_status=0
wait "$docker_pid" || docker_status=$?
cat "$docker_log"
rm -f "$docker_log"
case $docker_status in
  0) echo "docker: passed" ;;
  2) echo "docker: SKIPPED, no container engine can run here" ;;
  *) echo "docker: FAILED"; status=$docker_status ;;
esac
took
exit "$status"
