#!/usr/bin/env bash
# Tries the operator on real kubelets, on a machine with Docker: creates the kind cluster of
# hack/kind/cluster.yaml (EU and non-EU workers labelled as the dev cluster's nodes), builds the
# operator's image and loads it into the nodes, installs the Helm chart with that image, a storage
# class for the samples and the sample SovereigntyPolicy.
#
# Needs docker, kind, kubectl and helm on PATH. Environment:
#   KIND_CLUSTER_NAME  the cluster's name (default: hdh); an existing cluster of that name is reused
#   IMAGE              the image to build and install (default: hdh-operator:<package.json version>)
# Remove it all with: kind delete cluster --name hdh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster="${KIND_CLUSTER_NAME:-hdh}"
context="kind-$cluster"
namespace=hdh-system

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "up.sh: $tool is required on PATH" >&2; exit 1; }
done

version="$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' "$root/package.json")"
[[ -n "$version" ]] || { echo "up.sh: no version in $root/package.json" >&2; exit 1; }
image="${IMAGE:-hdh-operator:$version}"
repository="${image%:*}"
tag="${image##*:}"
[[ "$repository:$tag" == "$image" && "$tag" != */* ]] ||
  { echo "up.sh: IMAGE must be <repository>:<tag>, got $image" >&2; exit 1; }

say() { printf '\n== %s\n' "$*"; }

say "kind cluster $cluster"
if kind get clusters | grep -qx "$cluster"; then
  echo "exists: reusing it"
else
  kind create cluster --name "$cluster" --config "$here/cluster.yaml" --wait 180s
fi

say "node labels only an administrator may set"
# Kubelets cannot set labels under node-restriction.kubernetes.io; cluster.yaml stages them under
# kind.hdh.sovereign.eu/ and they are copied here, as cluster admin.
for node in $(kubectl --context "$context" get nodes -o name); do
  # shellcheck disable=SC2016 # a Go template, not shell expansions
  mapfile -t labels < <(
    kubectl --context "$context" get "$node" \
      -o go-template='{{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' |
      sed -n 's#^kind\.hdh\.sovereign\.eu/#sovereign.node-restriction.kubernetes.io/#p'
  )
  if ((${#labels[@]})); then
    kubectl --context "$context" label --overwrite "$node" "${labels[@]}"
  fi
done

say "image $image"
docker build -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"

say "storage class encrypted-eu"
# kind's local-path volumes are plain directories on the node: the encryption attestation below is
# for trying the operator only. On a real cluster, annotate only a class that does encrypt.
kubectl --context "$context" apply --server-side -f - <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: encrypted-eu
  annotations:
    hdh.sovereign.eu/encrypted: 'true'
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
EOF

say "operator (Helm chart, namespace $namespace)"
helm upgrade --install hdh-operator "$root/charts/hdh-operator" \
  --kube-context "$context" --namespace "$namespace" --create-namespace \
  --set "image.repository=$repository" --set "image.tag=$tag" \
  --wait --timeout 5m

say "sample policy"
kubectl --context "$context" apply --server-side -f "$root/config/samples/sovereigntypolicy_eu-hds.yaml"

say "ready"
echo "kubectl --context $context get sovereigntypolicies,nodes -L topology.kubernetes.io/region"
echo "then create a hub in a namespace of yours, e.g. from config/samples/healthdatahub_minimal.yaml"
