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
pnpm_pinned test || status=$?
# One plain closing line that any CI reads: "N passed, N failed, N skipped".
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$results" || true
rm -f "$results"
exit "$status"
