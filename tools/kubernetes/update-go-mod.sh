#!/usr/bin/env bash
# Rewrites go.mod and go.sum here for another Kubernetes release:  tools/kubernetes/update-go-mod.sh v1.35.4
# k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with local
# directories, which the go command ignores in a dependency. So this wrapper replaces each of them with
# the tagged staging release the proxy serves (v1.X.Y -> v0.X.Y), listed from k8s.io/kubernetes's own go.mod.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_VERSION="${1:?usage: update-go-mod.sh v1.X.Y}"
[[ "$K8S_VERSION" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { echo "update-go-mod.sh: version must be like v1.35.4" >&2; exit 1; }
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
export GOWORK=off

K8S_GOMOD="$(cd "$HERE" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
	sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
[[ -f "$K8S_GOMOD" ]] || { echo "update-go-mod.sh: no go.mod for k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
GO_LINE="$(grep -m1 '^go ' "$K8S_GOMOD")"
# "	k8s.io/api => ./staging/src/k8s.io/api"  ->  "k8s.io/api"
mapfile -t STAGING < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/.*#\1#p' "$K8S_GOMOD")
((${#STAGING[@]} > 0)) || { echo "update-go-mod.sh: no staging replaces found in $K8S_GOMOD" >&2; exit 1; }

{
	echo "module mm2-eks/tools/kubernetes"
	echo
	echo "// Builds the Kubernetes binaries (see build.sh and README.md). Written by update-go-mod.sh $K8S_VERSION:"
	echo "// k8s.io/kubernetes's staging modules (local replaces there) are replaced with their $STAGING_VERSION tags."
	echo
	echo "$GO_LINE"
	echo
	# The tool block keeps the whole dependency graph of the commands build.sh builds in go.sum.
	echo "tool ("
	for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
		printf '\tk8s.io/kubernetes/cmd/%s\n' "$cmd"
	done
	echo ")"
	echo
	echo "require k8s.io/kubernetes $K8S_VERSION"
	echo
	echo "replace ("
	for m in "${STAGING[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
	echo ")"
} >"$HERE/go.mod"
rm -f "$HERE/go.sum"
(cd "$HERE" && go mod tidy)
echo "update-go-mod.sh: go.mod has ${#STAGING[@]} staging replaces at $STAGING_VERSION" >&2
