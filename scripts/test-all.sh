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
}
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
pnpm_pinned test:chaos --bounded --events 2000 || status=$?
# The Dockerfile, built and run as an operator runs it (pnpm test:docker, ~1-2 min). Exit 2 means
# no container engine can run on this machine: said plainly, and not a failure of Sluice.
docker_status=0
bash scripts/test-docker.sh || docker_status=$?
case $docker_status in
  0) echo "docker: passed" ;;
  2) echo "docker: SKIPPED, no container engine can run here" ;;
  *) echo "docker: FAILED"; status=$docker_status ;;
esac
exit "$status"
