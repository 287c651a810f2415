#!/usr/bin/env bash
# `npm start`: the extension in a real VS Code, in one command. Sets up code-server if needed
# (scripts/e2e-setup.sh, idempotent), builds, packages the VSIX (or, with --dev, uses this folder),
# and serves VS Code on 127.0.0.1 with a sample workspace until Ctrl+C. Prints the URL to open.
#
#   npm start                      # VSIX, model: native/models/default or a tiny test model
#   npm start -- --dev             # extension from out/ (tsc), no packaging
#   npm start -- --model DIR       # another built model or checkpoint folder
#   npm start -- --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip

if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/esbuild ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/e2e-setup.sh
npm run --silent build
# exec: Ctrl+C goes straight to the launcher, which stops code-server and everything it started.
exec node out/test/e2e/launch.js "$@"
