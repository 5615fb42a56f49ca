#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kubectl from Go modules,
# and the pause image (the pod sandbox), into "$REPO/.cache/kubernetes/<version>/bin" and prints that
# directory as the last line of stdout, so callers can do:  KUBE_BIN="$(tools/kubernetes/build.sh)"
# Progress goes to stderr. See tools/kubernetes/README.md.
#
# Output, next to each other:
#   .cache/kubernetes/<version>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kubectl,pause}
#   .cache/kubernetes/<version>/images/pause.oci.tar   (ctr -n k8s.io images import; named localhost/pause:<tag>)
#
# Environment:
#   KUBERNETES_TOOLS_FORCE_BUILD=1  rebuild even if the cached binaries are up to date
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

log() { printf 'tools/kubernetes/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in go gcc python3; do command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH"; done
export GOWORK=off

# The version comes from go.mod, so bumping go.mod (update-go-mod.sh) is all it takes.
VERSION="$(sed -En 's#^[[:space:]]*(require )?k8s.io/kubernetes (v[^[:space:]]*).*#\2#p' "$HERE/go.mod" | head -n1)"
[[ "$VERSION" =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || die "could not read the k8s.io/kubernetes v1.X.Y requirement from $HERE/go.mod"
MINOR="${BASH_REMATCH[1]}"

CACHE="$REPO/.cache/kubernetes"
OUT="$CACHE/$VERSION"
BIN="$OUT/bin"
PAUSE_ARCHIVE="$OUT/images/pause.oci.tar"

# The stamp ties the cached output to the exact inputs it was built from.
stamp() {
	{
		echo "version=$VERSION $(go env GOVERSION GOOS GOARCH | tr "\n" " ") $(gcc -dumpfullversion)"
		cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/build.sh" "$HERE/oci_archive.py"
	} | sha256sum | cut -d' ' -f1
}

# One build at a time: a second caller (CI starts this build early, the tests ask for it later)
# waits for the first, then finds the output up to date.
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9

# 1. Already built?
up_to_date() {
	local b
	for b in "${COMMANDS[@]}" pause; do [[ -x "$BIN/$b" ]] || return 1; done
	[[ -s "$PAUSE_ARCHIVE" && -f "$BIN/.stamp" && "$(cat "$BIN/.stamp")" == "$(stamp)" ]]
}
if [[ "${KUBERNETES_TOOLS_FORCE_BUILD:-}" != "1" ]] && up_to_date; then
	log "kubernetes $VERSION already built in $BIN"
	echo "$BIN"
	exit 0
fi

# 2. Build into a scratch directory, then move it into place.
mkdir -p "$CACHE"
WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/out/bin" "$WORK/out/images"
start=$SECONDS

K8S_DIR="$(cd "$HERE" && go mod download -json "k8s.io/kubernetes@$VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
[[ -n "$K8S_DIR" && -d "$K8S_DIR/cmd" ]] || die "k8s.io/kubernetes@$VERSION not found in the module cache"

# What hack/lib/version.sh would stamp, for both version packages (kubectl reports client-go's).
# The build date is the module's publication time on the proxy, so rebuilds give the same binaries.
# The proxy does not say which commit the tag is, so gitCommit stays empty.
BUILD_DATE="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$VERSION.info")"
LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	LDFLAGS+=" -X $pkg.gitVersion=$VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
	LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit= -X $pkg.buildDate=${BUILD_DATE:-1970-01-01T00:00:00Z}"
done

# Upstream builds these statically without cgo, too; -p=2 matches the 2-core machines (and bounds memory).
log "[1/2] building ${COMMANDS[*]} $VERSION with one go build (a cold build takes ~7 min and ~2 GB on 2 cores)"
pkgs=()
for cmd in "${COMMANDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
(cd "$HERE" && CGO_ENABLED=0 nice -n 10 go build -p=2 -trimpath -mod=readonly -ldflags "$LDFLAGS" \
	-o "$WORK/out/bin/" "${pkgs[@]}")

# The pause image: upstream's build/pause (Makefile: CFLAGS = -Os -Wall -Werror -static -DVERSION=v$(TAG)-$(REV)).
PAUSE_SRC="$K8S_DIR/build/pause/linux/pause.c"
PAUSE_TAG="$(sed -n 's/^TAG ?= *//p' "$K8S_DIR/build/pause/Makefile")"
[[ -f "$PAUSE_SRC" && -n "$PAUSE_TAG" ]] || die "no build/pause/linux/pause.c or TAG in build/pause/Makefile under $K8S_DIR"
log "[2/2] building the pause image localhost/pause:$PAUSE_TAG from build/pause/linux/pause.c (gcc -static)"
gcc -Os -Wall -Werror -static -s -DVERSION="v$PAUSE_TAG-$VERSION" -o "$WORK/out/bin/pause" "$PAUSE_SRC"
python3 "$HERE/oci_archive.py" --user 65535:65535 "$WORK/out/bin/pause" /pause "localhost/pause:$PAUSE_TAG" \
	"$WORK/out/images/pause.oci.tar"

for b in "${COMMANDS[@]}" pause; do [[ -x "$WORK/out/bin/$b" ]] || die "the build did not produce $b"; done
built="$("$WORK/out/bin/kube-apiserver" --version)"
[[ "$built" == "Kubernetes $VERSION" ]] || die "built kube-apiserver reports '$built', expected 'Kubernetes $VERSION'"
stamp >"$WORK/out/bin/.stamp"

rm -rf "$OUT"
mv "$WORK/out" "$OUT"
log "done in $((SECONDS - start))s: $BIN"
echo "$BIN"
