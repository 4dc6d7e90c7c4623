#!/usr/bin/env bash
# `npm start`: set up (scripts/setup.sh), then run intake + stage workers + runner in one process
# (`sluice start`, embedded PGlite store). exec hands signals (Ctrl-C, SIGTERM) to sluice itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec packages/cli/dist/bin.js start "$@"
