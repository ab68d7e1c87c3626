#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go module proxy:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes),
#   etcd (go.etcd.io/etcd/server/v3) and kwok (sigs.k8s.io/kwok) plus kwok's stage files.
# Output: $OUT_DIR/bin (default ~/.cache/hdh-operator/k8s-v$K8S_VERSION/bin).
# Idempotent: binaries already present are kept. Go caches (GOMODCACHE, GOCACHE) are reused.
set -euo pipefail

# shellcheck source=go-build-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-build-env.sh" build-control-plane k8s-v K8S_VERSION

have() { for b in "$@"; do [[ -x "$bin_dir/$b" ]] || return 1; done; }

command -v go >/dev/null || { echo "go is required to build the control plane (Go >= 1.26), or set KUBEBUILDER_ASSETS" >&2; exit 1; }

# --- etcd -------------------------------------------------------------------------------
build_etcd() {
  have etcd && { log "etcd v$ETCD_VERSION: cached"; return; }
  log "etcd v$ETCD_VERSION: building"
  local mod="$work_dir/etcd-v$ETCD_VERSION"
  mkdir -p "$mod"
  cat >"$mod/go.mod" <<GOMOD
module hdh-operator.local/etcdbuild

go 1.24

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
GOMOD
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  (cd "$mod" && go mod tidy >/dev/null && \
    go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin_dir/etcd.tmp" "$bin_dir/etcd"
  log "etcd v$ETCD_VERSION: done"
}

# --- kwok -------------------------------------------------------------------------------
build_kwok() {
  if ! have kwok; then
    log "kwok v$KWOK_VERSION: building"
    local mod="$work_dir/kwok-v$KWOK_VERSION"
    mkdir -p "$mod"
    cat >"$mod/go.mod" <<GOMOD
module hdh-operator.local/kwokbuild

go 1.26

require sigs.k8s.io/kwok v$KWOK_VERSION
GOMOD
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
GO
    (cd "$mod" && go mod tidy >/dev/null && \
      go build -trimpath -ldflags "-s -w" -o "$bin_dir/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok)
    mv "$bin_dir/kwok.tmp" "$bin_dir/kwok"
    log "kwok v$KWOK_VERSION: done"
  else
    log "kwok v$KWOK_VERSION: cached"
  fi
  # Stage definitions (how kwok makes nodes and pods progress) ship in kwok's module.
  local src
  src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage"
  [[ -d "$src" ]] || (cd "$work_dir" && GOFLAGS=-mod=mod go mod download "sigs.k8s.io/kwok@v$KWOK_VERSION")
  local stages="$out_dir/kwok-stages"
  mkdir -p "$stages"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    if [[ -f "$src/$f" ]]; then
      install -m 0644 "$src/$f" "$stages/$(echo "$f" | tr / _)"
    else
      echo "kwok stage $f not found under $src" >&2; ls -R "$src" >&2; exit 1
    fi
  done
}

# --- Kubernetes ---------------------------------------------------------------------------
build_kubernetes() {
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  have "${bins[@]}" && { log "kubernetes v$K8S_VERSION: cached"; return; }
  log "kubernetes v$K8S_VERSION: resolving modules"
  local mod="$work_dir/kubernetes-v$K8S_VERSION"
  mkdir -p "$mod"
  local upstream_mod
  upstream_mod="$(cd "$work_dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$upstream_mod" ]] || { echo "could not download k8s.io/kubernetes@v$K8S_VERSION" >&2; exit 1; }
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local staging_version="v0.$minor.${K8S_VERSION##*.}"
  # Staging modules = upstream's `k8s.io/<x> => ./staging/src/k8s.io/<x>` replaces.
  local staging
  staging="$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$upstream_mod")"
  {
    echo "module hdh-operator.local/kubernetesbuild"
    echo
    grep -E '^go [0-9]' "$upstream_mod"
    grep -E '^godebug ' "$upstream_mod" || true
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  log "kubernetes v$K8S_VERSION: $(echo "$staging" | wc -w) staging modules replaced by $staging_version; go mod tidy"
  (cd "$mod" && go mod tidy >/dev/null)
  local major="${K8S_VERSION%%.*}"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  log "kubernetes v$K8S_VERSION: compiling ${bins[*]} (a cold build takes tens of minutes on 2 cores)"
  local tmp="$bin_dir/.tmp-k8s"
  mkdir -p "$tmp"
  (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  for b in "${bins[@]}"; do mv "$tmp/$b" "$bin_dir/$b"; done
  rmdir "$tmp"
  log "kubernetes v$K8S_VERSION: done"
}

build_etcd
build_kwok
build_kubernetes
log "all binaries ready in $bin_dir"
