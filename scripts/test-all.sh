#!/usr/bin/env bash
# The README's test command: install what is missing (pnpm, Redis, PostgreSQL, Debian's chromium
# for the posthog-js test, dependencies), then type-check and run every test, on PGlite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || npm install -g "pnpm@$PNPM_VERSION"
fi
bash scripts/services.sh
pnpm install --frozen-lockfile
pnpm typecheck
results=.vitest-results.json
rm -f "$results"
status=0
pnpm test || status=$?
# One plain closing line that any CI reads: "N passed, N failed, N skipped".
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$results" || true
rm -f "$results"
exit "$status"
