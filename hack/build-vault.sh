#!/usr/bin/env bash
# Builds the `vault` binary (github.com/hashicorp/vault) from the Go module proxy, for the transit
# key-provider tests: they run a loopback-only Vault dev server, whose Transit API is the one
# OpenBao serves too.
# Output: $OUT_DIR/bin/vault (default ~/.cache/hdh-operator/vault-v$VAULT_VERSION/bin/vault).
# Idempotent: a binary already present is kept. Go caches (GOMODCACHE, GOCACHE) are reused.
set -euo pipefail

# shellcheck source=go-build-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-build-env.sh" build-vault vault-v VAULT_VERSION

if [[ -x "$bin_dir/vault" ]]; then
  log "vault v$VAULT_VERSION: cached in $bin_dir"
  exit 0
fi
command -v go >/dev/null || { echo "go is required to build vault (Go >= 1.26), or set TEST_ASSET_VAULT" >&2; exit 1; }

log "vault v$VAULT_VERSION: resolving modules"
mod="$work_dir/vault-v$VAULT_VERSION"
mkdir -p "$mod"
upstream_mod="$(cd "$work_dir" && go mod download -json "github.com/hashicorp/vault@v$VAULT_VERSION" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$upstream_mod" ]] || { echo "could not download github.com/hashicorp/vault@v$VAULT_VERSION" >&2; exit 1; }

# Replace directives only apply in the main module, so the wrapper restates upstream's:
#  - local ones (`github.com/hashicorp/vault/api => ./api`) become the published version that
#    upstream's go.mod requires for that module;
#  - the others (forks such as keyring) are copied as they are.
local_mods="$(sed -n 's#^replace[[:space:]]\{1,\}\([^ ]*\) => \./.*#\1#p' "$upstream_mod")"
{
  echo "module hdh-operator.local/vaultbuild"
  echo
  grep -E '^go [0-9]' "$upstream_mod"
  grep -E '^godebug ' "$upstream_mod" || true
  echo
  echo "require github.com/hashicorp/vault v$VAULT_VERSION"
  echo
  for m in $local_mods; do
    v="$(awk -v m="$m" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$upstream_mod")"
    [[ -n "$v" ]] || { echo "no required version for $m in $upstream_mod" >&2; exit 1; }
    echo "replace $m => $m $v"
  done
  grep -E '^replace [^ ]+( v[^ ]+)? => [^.]' "$upstream_mod" || true
} >"$mod/go.mod"
cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/hashicorp/vault"
GO
log "vault v$VAULT_VERSION: $(echo "$local_mods" | wc -w) local modules replaced by published versions; go mod tidy"
(cd "$mod" && go mod tidy >/dev/null)
log "vault v$VAULT_VERSION: compiling (a cold build takes tens of minutes on 2 cores)"
(cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/vault.tmp" github.com/hashicorp/vault)
mv "$bin_dir/vault.tmp" "$bin_dir/vault"
log "vault v$VAULT_VERSION: done ($("$bin_dir/vault" version 2>/dev/null || echo '?'))"
