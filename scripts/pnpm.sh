# Sourced by the scripts npm runs: defines `pnpm_pinned`, the pnpm this repo pins (package.json's
# packageManager). It is the global pnpm when that is the pinned version; otherwise the pinned
# version is installed globally (npm i -g), and where that is not allowed (no root), run through
# `npx -y`, which needs no terminal to answer a prompt.
PNPM_VERSION=12.4.2
pnpm_pinned() {
  if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || true
  fi
  if [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    pnpm "$@"
  else
    npx -y "pnpm@$PNPM_VERSION" "$@"
  fi
}
