#!/usr/bin/env bash
# Builds, from the Go module proxy, the tools that check what the project ships with its
# consumers' own code:
#   helm        helm.sh/helm/v3 (lint, values schema, renders, install/uninstall)
#   promtool    github.com/prometheus/prometheus (check and unit-test the alert rules; built
#               without the service-discovery plugins, which it does not need for that)
#   actionlint  github.com/rhysd/actionlint (the GitHub workflow)
#   hdh-gotools hack/tools: kstatus (sigs.k8s.io/cli-utils), Argo CD health scripts (gopher-lua),
#               kind cluster config (sigs.k8s.io/kind types, strict)
# and copies, from the Go modules that publish them, the policy report CRDs the operator writes to
# when they are served (the end-to-end tests install them):
#   openreports.io/v1alpha1 Report, ClusterReport      github.com/openreports/reports-api
#   wgpolicyk8s.io/v1alpha2 PolicyReport, Cluster…     github.com/kyverno/kyverno (ships them)
# Output: ~/.cache/hdh-operator/tools-$TOOLS_CACHE_GENERATION/bin (or $OUT_DIR/bin), and crds/<name>-v<version>/
# beside it. A binary of the pinned version already present is kept; hdh-gotools is rebuilt when
# hack/tools changes.
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

# CRD files as a module publishes them: only downloaded (go mod download), nothing is compiled.
copy_crds() { # name module version folder-in-module file...
  local name="$1" module="$2" version="$3" from="$4"
  shift 4
  local dest="$out_dir/crds/$name-$version"
  if [[ -f "$dest/.complete" ]]; then
    log "$name $version CRDs: cached"
    return
  fi
  local dir
  dir="$(cd "$work_dir" && GOFLAGS=-mod=mod go mod download -json "$module@$version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir/$from" ]] || { echo "$module@$version has no $from (download: '$dir')" >&2; exit 1; }
  mkdir -p "$dest"
  for f in "$@"; do
    [[ -f "$dir/$from/$f" ]] || { echo "$module@$version has no $from/$f" >&2; ls "$dir/$from" >&2; exit 1; }
    install -m 0644 "$dir/$from/$f" "$dest/$f"
  done
  touch "$dest/.complete"
  log "$name $version CRDs: copied from $module"
}

copy_crds openreports github.com/openreports/reports-api "v$OPENREPORTS_VERSION" config/crd \
  openreports.io_reports.yaml openreports.io_clusterreports.yaml
copy_crds wgpolicyk8s github.com/kyverno/kyverno "v$KYVERNO_VERSION" config/crds/policyreport \
  wgpolicyk8s.io_policyreports.yaml wgpolicyk8s.io_clusterpolicyreports.yaml
