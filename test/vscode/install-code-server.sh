#!/usr/bin/env bash
# Installs code-server (VS Code in a browser) for the extension's end-to-end tests, outside the pnpm workspace.
# Idempotent: a second run with the same version is a no-op. Needs libkrb5-dev and ripgrep from Debian
# (.ci/run installs them). code-server's postinstall downloads ripgrep unless its cache already holds the archive,
# and this machine reaches no download host: the cache is seeded from Debian's rg first.
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
DEST="${COMFYGATE_CODE_SERVER_DIR:-$HOME/.cache/comfygate/code-server-$VERSION}"
BIN="$DEST/node_modules/.bin/code-server"

if [ -x "$BIN" ] && [ -f "$DEST/.installed" ]; then
  echo "code-server $VERSION already in $DEST"
  exit 0
fi

command -v rg >/dev/null || { echo "install-code-server: ripgrep (apt-get install ripgrep) is missing" >&2; exit 1; }

cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache"
archive="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
[ -f "$archive" ] || tar czf "$archive" -C "$(dirname "$(command -v rg)")" rg

mkdir -p "$DEST"
cd "$DEST"
[ -f package.json ] || echo '{"name":"comfygate-code-server","private":true}' > package.json
echo "installing code-server $VERSION into $DEST"
npm_config_yes=true npm_config_unsafe_perm=true npm i --no-audit --no-fund "code-server@$VERSION" >install.log 2>&1 \
  || { tail -40 install.log >&2; exit 1; }
touch .installed
echo "code-server $VERSION installed: $BIN"
