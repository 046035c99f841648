#!/usr/bin/env bash
# Makes the project's toolchain available without global installs:
#   - Node 24 and a pinned pnpm, installed from the npm registry into .tools/
#   - the workspace's dependencies (pnpm install --frozen-lockfile)
# Safe to run again: every step is skipped when already done.
# Source it (`. tools/bootstrap.sh`) to get .tools on PATH in the calling shell.
set -euo pipefail

NODE_VERSION="24.21.0"
PNPM_VERSION="10.34.9"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
NODE_BIN="$TOOLS/node_modules/node/bin"
PNPM_BIN="$TOOLS/node_modules/.bin"

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

mkdir -p "$TOOLS"
# One bootstrap at a time per checkout (two test runs started together would race on .tools and node_modules).
exec 9>"$TOOLS/.lock"
flock 9
need_tools=0
if [ ! -x "$NODE_BIN/node" ] || [ "$("$NODE_BIN/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then need_tools=1; fi
if [ ! -x "$PNPM_BIN/pnpm" ] || [ "$("$PNPM_BIN/pnpm" --version 2>/dev/null)" != "$PNPM_VERSION" ]; then need_tools=1; fi
if [ "$need_tools" = 1 ]; then
  command -v npm >/dev/null || { echo "npm is required to install the toolchain (Node 20+ with npm)" >&2; exit 1; }
  log "installing node@$NODE_VERSION and pnpm@$PNPM_VERSION into .tools/ (npm registry)"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"platform-tools","private":true}' > "$TOOLS/package.json"
  install_tools() {
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "node@$NODE_VERSION" "pnpm@$PNPM_VERSION" >&2
  }
  # A half-finished earlier install leaves node's install script unable to run: start clean once.
  install_tools || { log "retrying from an empty .tools/node_modules"; rm -rf "$TOOLS/node_modules"; install_tools; }
fi
export PATH="$NODE_BIN:$PNPM_BIN:$PATH"
node --version >/dev/null

# Dependencies: reinstall only when the lockfile changed since the last install.
stamp="$ROOT/node_modules/.bootstrap-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/pnpm-lock.yaml" "$stamp"; then
  log "installing workspace dependencies (pnpm install --frozen-lockfile)"
  (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=append-only >&2)
  cp "$ROOT/pnpm-lock.yaml" "$stamp"
fi
exec 9>&-
