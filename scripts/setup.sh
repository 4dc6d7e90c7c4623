#!/usr/bin/env bash
# `npm run setup` (and the first half of `npm start`): install what running Sluice needs and is
# missing — pnpm, the dependencies, redis-server when it can — and build the CLI into
# packages/cli/dist. Each step is a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pnpm.sh

redis_answers() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
# sluice starts a redis-server of its own when none answers; install one when that is possible
# without asking (root, or sudo without a password). Otherwise sluice says how to install it.
if [ -z "${REDIS_URL:-}" ] && ! redis_answers && ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then as_root=(); elif sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(false); fi
  if "${as_root[@]}" true 2>/dev/null; then
    echo "installing redis-server (apt-get)"
    "${as_root[@]}" apt-get update -qq && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
fi

pnpm_pinned install --frozen-lockfile --reporter=silent
node scripts/build.mjs --quiet
