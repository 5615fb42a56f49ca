#!/usr/bin/env bash
# Builds the Kubernetes resource provider (pulumi-resource-kubernetes) from Go modules into
# "$REPO/.cache/pulumi-kubernetes/v<version>/bin" and prints that directory as the last line of
# stdout, so callers can do:  KUBE_PLUGIN_BIN="$(tools/pulumi-kubernetes/build.sh)"
# Progress goes to stderr. See tools/pulumi-kubernetes/README.md.
#
# The provider module pinned in go.mod is a pseudo-version (the proxy serves no tagged version of
# provider/v4); VERSION holds the release it corresponds to, which is stamped into the binary and
# is the version the plugin must be installed under.
#
# Environment:
#   PULUMI_KUBERNETES_FORCE_BUILD=1  rebuild even if the cached binary is up to date
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PROVIDER_MOD="github.com/pulumi/pulumi-kubernetes/provider/v4"
CMD_PKG="$PROVIDER_MOD/cmd/pulumi-resource-kubernetes"
VERSION_PKG="$PROVIDER_MOD/pkg/version"

log() { printf 'tools/pulumi-kubernetes/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH"

VERSION="$(tr -d '[:space:]' <"$HERE/VERSION")"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION must be like 4.25.0, got '$VERSION'"
MOD_VERSION="$(sed -n "s#^[[:space:]]*$PROVIDER_MOD \(v[^[:space:]]*\).*#\1#p" "$HERE/go.mod" | head -n1)"
[[ -n "$MOD_VERSION" ]] || die "could not read the $PROVIDER_MOD version from go.mod"

CACHE="$REPO/.cache/pulumi-kubernetes"
BIN="$CACHE/v$VERSION/bin"
BINARY=pulumi-resource-kubernetes

# The stamp ties the cached binary to the exact inputs it was built from.
stamp() {
	{
		echo "version=$VERSION module=$MOD_VERSION $(go env GOVERSION GOOS GOARCH | tr "\n" " ")"
		cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/build.sh"
	} | sha256sum | cut -d' ' -f1
}

# One build at a time: a second caller (CI starts this build early, the tests ask for it later)
# waits for the first, then finds the output up to date.
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9

# 1. Already built?
if [[ "${PULUMI_KUBERNETES_FORCE_BUILD:-}" != "1" && -x "$BIN/$BINARY" && -f "$BIN/.stamp" &&
	"$(cat "$BIN/.stamp")" == "$(stamp)" ]]; then
	log "pulumi-resource-kubernetes $VERSION already built in $BIN"
	echo "$BIN"
	exit 0
fi

# 2. Prepare a build copy: the module's source (from the module cache, which stays untouched) plus
#    the two embed files its go:generate step writes, and a copy of our go.mod pointing at it.
mkdir -p "$CACHE"
WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
start=$SECONDS

export CGO_ENABLED=0 GOWORK=off
GO_BUILD=(go build -trimpath -mod=readonly)

log "[1/3] preparing $PROVIDER_MOD@$MOD_VERSION (as $VERSION)"
MOD_DIR="$(cd "$HERE" && go mod download -json "$PROVIDER_MOD@$MOD_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
[[ -n "$MOD_DIR" && -f "$MOD_DIR/cmd/pulumi-resource-kubernetes/generate.go" ]] ||
	die "$PROVIDER_MOD@$MOD_VERSION not found in the module cache"
cp -R "$MOD_DIR" "$WORK/src"
chmod -R u+w "$WORK/src"
mkdir "$WORK/mod"
cp "$HERE/go.mod" "$HERE/go.sum" "$WORK/mod/"
# The provider's own go.mod has a local replace (sdk/v4 => ../sdk); it is ignored here because the
# provider is not the main module, so sdk/v4 resolves to the version it requires (v4.24.0).
(cd "$WORK/mod" && go mod edit -replace "$PROVIDER_MOD=../src")

log "[2/3] writing schema-embed.json and terraform-mapping-embed.json with the module's generate.go"
GEN_DIR="$WORK/src/cmd/pulumi-resource-kubernetes"
(cd "$WORK/mod" && "${GO_BUILD[@]}" -o "$WORK/generate" "$GEN_DIR/generate.go")
(cd "$GEN_DIR" && VERSION="$VERSION" "$WORK/generate")
[[ -s "$GEN_DIR/schema-embed.json" && -s "$GEN_DIR/terraform-mapping-embed.json" ]] ||
	die "generate.go did not write the embed files"
grep -q "\"version\":\"$VERSION\"" "$GEN_DIR/schema-embed.json" ||
	die "schema-embed.json does not carry version $VERSION"

log "[3/3] building $BINARY $VERSION (a cold build takes ~12 min and ~4 GB of memory on 2 cores)"
mkdir "$WORK/bin"
(cd "$WORK/mod" && "${GO_BUILD[@]}" -ldflags "-s -w -X $VERSION_PKG.Version=$VERSION" \
	-o "$WORK/bin/$BINARY" "$CMD_PKG")

# (-trimpath keeps -ldflags out of the binary's build info, so `go version -m` cannot show the -X
# value; the README shows how to read the version the running plugin reports.)
[[ -x "$WORK/bin/$BINARY" ]] || die "go build did not produce $BINARY"
stamp >"$WORK/bin/.stamp"

rm -rf "$BIN"
mkdir -p "$(dirname "$BIN")"
mv "$WORK/bin" "$BIN"
log "done in $((SECONDS - start))s: $BIN"
echo "$BIN"
