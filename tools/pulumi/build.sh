#!/usr/bin/env bash
# Builds the Pulumi CLI and the Python language host from Go modules into
# "$REPO/.cache/pulumi/v<cli-version>/bin" and prints that directory as the last
# line of stdout, so callers can do:  PATH="$(tools/pulumi/build.sh):$PATH"
# Progress goes to stderr. See tools/pulumi/README.md.
#
# Environment:
#   PULUMI_TOOLS_FORCE_BUILD=1  ignore a pulumi already on PATH and use/build our own
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
LANGHOST_DIR="$HERE/language-python"
VERSION_PKG="github.com/pulumi/pulumi/sdk/v3/go/common/version"

log() { printf 'tools/pulumi/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH"

# Versions come from the go.mod files, so bumping go.mod is all it takes.
mod_version() { # $1 = module dir, $2 = module path
	sed -n "s#^[[:space:]]*$2 \(v[^[:space:]]*\).*#\1#p" "$1/go.mod" | head -n1
}
CLI_VERSION="$(mod_version "$HERE" github.com/pulumi/pulumi/pkg/v3)"
SDK_VERSION="$(mod_version "$LANGHOST_DIR" github.com/pulumi/pulumi/sdk/v3)"
[[ -n "$CLI_VERSION" && -n "$SDK_VERSION" ]] || die "could not read pulumi versions from go.mod files"
CLI_MIN="${CLI_VERSION#v}"

# Oldest CLI on PATH we accept instead of building: same 3.x line, not older than ours.
version_ok() { # $1 = version like v3.259.0 or 3.259.0
	local v="${1#v}" major minor patch min_major min_minor min_patch
	IFS=. read -r major minor patch <<<"${v%%[-+]*}"
	IFS=. read -r min_major min_minor min_patch <<<"$CLI_MIN"
	[[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ && "$patch" =~ ^[0-9]+$ ]] || return 1
	((major == min_major)) || return 1
	((minor > min_minor || (minor == min_minor && patch >= min_patch)))
}

# 1. A suitable pulumi already on PATH (e.g. an official install on a developer machine)?
if [[ "${PULUMI_TOOLS_FORCE_BUILD:-}" != "1" ]] && command -v pulumi >/dev/null 2>&1 &&
	command -v pulumi-language-python >/dev/null 2>&1; then
	path_pulumi="$(command -v pulumi)"
	# Our own cache dir on PATH does not count: it is checked (and rebuilt if stale) below.
	if [[ "$path_pulumi" != "$REPO/.cache/pulumi/"* ]]; then
		path_version="$(PULUMI_SKIP_UPDATE_CHECK=true "$path_pulumi" version 2>/dev/null || true)"
		if version_ok "$path_version"; then
			log "using pulumi $path_version already on PATH ($path_pulumi)"
			dirname "$path_pulumi"
			exit 0
		fi
		log "ignoring pulumi on PATH ($path_pulumi, version '${path_version:-unknown}'): need 3.x >= $CLI_MIN"
	fi
fi

CACHE="$REPO/.cache/pulumi"
BIN="$CACHE/$CLI_VERSION/bin"
BINARIES=(pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python)

# The stamp ties the cached binaries to the exact inputs they were built from.
stamp() {
	{
		echo "cli=$CLI_VERSION sdk=$SDK_VERSION $(go env GOVERSION GOOS GOARCH | tr "\n" " ")"
		cat "$HERE/go.mod" "$HERE/go.sum" "$LANGHOST_DIR/go.mod" "$LANGHOST_DIR/go.sum" "$LANGHOST_DIR"/*.go
	} | sha256sum | cut -d' ' -f1
}

# 2. Already built?
up_to_date() {
	local b
	for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
	[[ -f "$BIN/.stamp" && "$(cat "$BIN/.stamp")" == "$(stamp)" ]] || return 1
	[[ "$(PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" version 2>/dev/null)" == "$CLI_VERSION" ]]
}
if up_to_date; then
	log "pulumi $CLI_VERSION already built in $BIN"
	echo "$BIN"
	exit 0
fi

# 3. Build into a scratch directory, then move it into place.
mkdir -p "$CACHE"
WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin"

export CGO_ENABLED=0
GO_BUILD=(go build -trimpath -mod=readonly)
start=$SECONDS

log "[1/3] building pulumi $CLI_VERSION (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi; a cold build takes ~7 min on 2 cores)"
(cd "$HERE" && "${GO_BUILD[@]}" -ldflags "-s -w -X $VERSION_PKG.Version=$CLI_VERSION" \
	-o "$WORK/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)

log "[2/3] building pulumi-language-python (tools/pulumi/language-python, sdk/v3 $SDK_VERSION)"
(cd "$LANGHOST_DIR" && "${GO_BUILD[@]}" -ldflags "-s -w -X $VERSION_PKG.Version=$SDK_VERSION" \
	-o "$WORK/bin/pulumi-language-python" .)

log "[3/3] copying the Python runtime scripts from github.com/pulumi/pulumi/sdk/v3@$SDK_VERSION"
SDK_DIR="$(cd "$LANGHOST_DIR" && go list -mod=readonly -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
[[ -n "$SDK_DIR" && -d "$SDK_DIR/python" ]] || die "sdk/v3 module not found in the module cache"
install -m 0755 "$SDK_DIR/python/cmd/pulumi-language-python-exec" "$WORK/bin/pulumi-language-python-exec"
install -m 0755 "$SDK_DIR/python/dist/pulumi-resource-pulumi-python" "$WORK/bin/pulumi-resource-pulumi-python"

stamp >"$WORK/bin/.stamp"
built_version="$(PULUMI_SKIP_UPDATE_CHECK=true "$WORK/bin/pulumi" version)"
[[ "$built_version" == "$CLI_VERSION" ]] || die "built pulumi reports '$built_version', expected $CLI_VERSION"

rm -rf "$BIN"
mkdir -p "$(dirname "$BIN")"
mv "$WORK/bin" "$BIN"
log "done in $((SECONDS - start))s: $BIN"
echo "$BIN"
