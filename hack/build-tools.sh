#!/usr/bin/env bash
# Builds, from the Go module proxy, the tools that check what the project ships with its
# consumers' own code:
#   helm        helm.sh/helm/v3 (lint, values schema, renders, install/uninstall)
#   promtool    github.com/prometheus/prometheus (check and unit-test the alert rules; built
#               without the service-discovery plugins, which it does not need for that)
#   actionlint  github.com/rhysd/actionlint (the GitHub workflow)
#   hdh-gotools hack/tools: kstatus (sigs.k8s.io/cli-utils), Argo CD health scripts (gopher-lua),
#               kind cluster config (sigs.k8s.io/kind types, strict)
# Output: ~/.cache/hdh-operator/tools-$TOOLS_CACHE_GENERATION/bin (or $OUT_DIR/bin). A binary of the pinned version
# already present is kept; hdh-gotools is rebuilt when hack/tools changes.
set -euo pipefail

# shellcheck source=go-build-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-build-env.sh" build-tools tools- TOOLS_CACHE_GENERATION

command -v go >/dev/null || { echo "go is required to build the check tools (Go >= 1.26)" >&2; exit 1; }

# go install pkg@version builds with the tool's own go.mod, as its authors release it.
install_pinned() { # name module-path package version [build flags...]
  local name="$1" module="$2" pkg="$3" version="$4"
  shift 4
  local stamp="$bin_dir/.$name.version"
  if [[ -x "$bin_dir/$name" && "$(cat "$stamp" 2>/dev/null)" == "$version" ]]; then
    log "$name $version: cached"
    return
  fi
  log "$name $version: compiling"
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w" "$@" "$pkg@$version"
  echo "$version" >"$stamp"
  log "$name $version: done"
}

install_pinned helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm "v$HELM_VERSION"
install_pinned promtool github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/promtool \
  "v$PROMETHEUS_VERSION" -tags remove_all_sd
install_pinned actionlint github.com/rhysd/actionlint github.com/rhysd/actionlint/cmd/actionlint "v$ACTIONLINT_VERSION"

# The project's own checker: rebuilt whenever its sources or pins change (Go's build cache keeps
# that to a second when nothing did).
src_hash="$(cat "$here"/tools/go.mod "$here"/tools/go.sum "$here"/tools/*.go | sha256sum | cut -c1-16)"
if [[ -x "$bin_dir/hdh-gotools" && "$(cat "$bin_dir/.hdh-gotools.version" 2>/dev/null)" == "$src_hash" ]]; then
  log "hdh-gotools $src_hash: cached"
else
  log "hdh-gotools $src_hash: compiling"
  (cd "$here/tools" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/hdh-gotools.tmp" .)
  mv "$bin_dir/hdh-gotools.tmp" "$bin_dir/hdh-gotools"
  echo "$src_hash" >"$bin_dir/.hdh-gotools.version"
  log "hdh-gotools $src_hash: done"
fi
