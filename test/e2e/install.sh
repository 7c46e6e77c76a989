#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the newest whose engines accept Node 20) offline-safe.
# docs/ARCHITECTURE.md ("Tests") says why each variable is needed.
set -euo pipefail
cd "$(dirname "$0")"
if [ -x node_modules/.bin/code-server ] && node_modules/.bin/code-server --version >/dev/null 2>&1; then
  echo "code-server already installed"; exit 0
fi
TMPDIR="${TMPDIR:-/tmp}"
cache="$TMPDIR/vscode-ripgrep-cache-1.15.11"
tarball="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$tarball" ]; then
  mkdir -p "$cache" "$TMPDIR/rgpack"
  cp /usr/bin/rg "$TMPDIR/rgpack/rg"
  tar -C "$TMPDIR/rgpack" -czf "$tarball" rg
fi
export npm_config_unsafe_perm=true npm_config_nodedir=/usr npm_config_yes=true
export HOME_BAK="$HOME"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
