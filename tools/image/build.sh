#!/usr/bin/env bash
# `make image`: builds docker/ into localhost/mm2-eks:dev with buildah (no Docker engine needed) and
# writes it as an OCI archive for containerd:
#   ctr -n k8s.io images import .cache/image/mm2-eks.oci.tar      # -> localhost/mm2-eks:dev
#
# Base images: docker/Dockerfile's pinned defaults (BUILD_IMAGE, RUNTIME_IMAGE) when they are in
# podman's storage already; otherwise the Debian stand-ins of tools/image/make-bases.sh. Nothing is
# pulled unless MM2_IMAGE_BASES=pinned says so: test machines may reach no registry at all.
# Every RUN of the Dockerfile executes, the Maven `verify` of the replication policy included; only
# layers whose inputs are unchanged come from buildah's layer cache (--layers).
# Nothing is rebuilt when the image, the archive and the stamp of the inputs (the files of docker/
# that the build context sends, the base image IDs, the build arguments) all still match.
#
# Settings:
#   MM2_IMAGE_BASES         auto (default): pinned if in storage, else stand-ins, never pulling;
#                           pinned: pull the pinned bases if needed, fail without them;
#                           standin: always the stand-ins
#   MM2_IMAGE_PULL_TIMEOUT  seconds for the one pull attempt of each pinned base (default 60)
#   MM2_IMAGE               the tag to build (default localhost/mm2-eks:dev)
#   MM2_IMAGE_VERSION       org.opencontainers.image.version (default: git describe, or dev)
#   MM2_IMAGE_CACHE         where the archive, the stamp and the logs go (default .cache/image)
#   MM2_IMAGE_CONTEXT       the build context (default docker; another one only to test this script)
# podman and buildah run with CONTAINERS_CONF=tools/image/containers.conf (tools/image/env.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"
cd "$repo"

image="${MM2_IMAGE:-localhost/mm2-eks:dev}"
cache="${MM2_IMAGE_CACHE:-$repo/.cache/image}"
archive="$cache/mm2-eks.oci.tar"
stamp="$cache/mm2-eks.stamp"
build_log="$cache/build.log"
bases_mode="${MM2_IMAGE_BASES:-auto}"
pull_timeout="${MM2_IMAGE_PULL_TIMEOUT:-60}"
context="${MM2_IMAGE_CONTEXT:-docker}"

log() { echo "build.sh: $*" >&2; }
fail() {
  log "$*"
  exit 1
}

for tool in buildah podman; do
  command -v "$tool" >/dev/null || fail "$tool not found; tools/system/install.sh installs it (tools/system/packages.txt)"
done
case "$bases_mode" in
  auto | pinned | standin) ;;
  *) fail "MM2_IMAGE_BASES must be auto, pinned or standin, got '$bases_mode'" ;;
esac
mkdir -p "$cache"

# --- Base images ---------------------------------------------------------------------------------

dockerfile_default() { # <ARG name>: its default in docker/Dockerfile
  local value
  value="$(sed -n "s/^ARG $1=//p" "$context/Dockerfile" | head -n 1)"
  [ -n "$value" ] || fail "$context/Dockerfile has no 'ARG $1=<image>' line"
  echo "$value"
}

qualified() { # Docker Hub short names as podman stores them: maven:x -> docker.io/library/maven:x
  local first="${1%%/*}"
  if [[ "$1" != */* ]]; then
    echo "docker.io/library/$1"
  elif [[ "$first" == *.* || "$first" == *:* || "$first" == localhost ]]; then
    echo "$1"
  else
    echo "docker.io/$1"
  fi
}

pinned_build="$(qualified "$(dockerfile_default BUILD_IMAGE)")"
pinned_runtime="$(qualified "$(dockerfile_default RUNTIME_IMAGE)")"

have_or_pull() { # <ref>: in storage already, or (MM2_IMAGE_BASES=pinned only) one pull attempt
  podman image exists "$1" && return 0
  [ "$bases_mode" = pinned ] || return 1
  log "pulling $1 (one attempt, ${pull_timeout} s at most)"
  if timeout --kill-after=5 "$pull_timeout" podman pull --quiet "$1" >/dev/null 2>"$cache/pull.log"; then
    return 0
  fi
  log "cannot pull $1: $(grep -v '^[[:space:]]*$' "$cache/pull.log" | tail -n 1 || echo "no answer within ${pull_timeout} s")"
  return 1
}

if [ "$bases_mode" != standin ] && have_or_pull "$pinned_build" && have_or_pull "$pinned_runtime"; then
  build_base="$pinned_build"
  runtime_base="$pinned_runtime"
elif [ "$bases_mode" = pinned ]; then
  fail "the pinned base images are not available and MM2_IMAGE_BASES=pinned"
else
  [ "${MM2_IMAGE_BASES:-auto}" = standin ] || log "using the Debian stand-in bases instead of the pinned ones"
  "$here/make-bases.sh"
  build_base=localhost/mm2-build-base:bookworm
  runtime_base=localhost/mm2-runtime-base:bookworm
fi
log "bases: BUILD_IMAGE=$build_base RUNTIME_IMAGE=$runtime_base"

# --- Inputs and the stamp ---------------------------------------------------------------------------

image_version="${MM2_IMAGE_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
vcs_ref="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
build_args=(
  --build-arg "BUILD_IMAGE=$build_base"
  --build-arg "RUNTIME_IMAGE=$runtime_base"
  --build-arg "IMAGE_VERSION=$image_version"
  --build-arg "VCS_REF=$vcs_ref"
)

image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# What the build context sends (docker/.dockerignore leaves out target/ and editor files), with
# modes, plus the bases and the arguments.
inputs_hash() {
  {
    find "$context" \( -name target -o -name .idea -o -name .vscode \) -prune -o \
      -type f ! -name '*.iml' ! -name .DS_Store -print0 |
      sort -z | xargs -0 stat -c '%a %n' | tr '\n' ' '
    find "$context" \( -name target -o -name .idea -o -name .vscode \) -prune -o \
      -type f ! -name '*.iml' ! -name .DS_Store -print0 |
      sort -z | xargs -0 sha256sum
    echo "$image ${build_args[*]} $(image_id "$build_base") $(image_id "$runtime_base")"
    cat "${BASH_SOURCE[0]}"
  } | sha256sum | cut -d' ' -f1
}

inputs="$(inputs_hash)"
current_id="$(image_id "$image")"
if [ -n "$current_id" ] && [ -f "$archive" ] && [ -f "$stamp" ] &&
  [ "$(cat "$stamp")" = "$inputs $current_id" ]; then
  log "$image is up to date ($current_id), archive $archive"
  exit 0
fi

# --- Build ---------------------------------------------------------------------------------------

log "building $image from $context/ (version $image_version); log: $build_log"
rm -f "$stamp"
set +e
buildah bud --format docker --layers --network host --pull=never \
  "${build_args[@]}" -t "$image" "$context/" 2>&1 | tee "$build_log"
status="${PIPESTATUS[0]}"
set -e
if [ "$status" -ne 0 ]; then
  step="$(grep -oE 'STEP [0-9]+/[0-9]+: .*' "$build_log" | tail -n 1 || true)"
  {
    log "buildah bud failed (exit $status) at ${step:-a step buildah did not name}"
    echo "--- the last 60 lines of $build_log ---"
    tail -n 60 "$build_log"
  } >&2
  exit "$status"
fi

# --- The OCI archive for containerd ------------------------------------------------------------------

current_id="$(image_id "$image")"
rm -f "$archive.partial"
podman save --quiet --format oci-archive -o "$archive.partial" "$image"
mv "$archive.partial" "$archive"
echo "$inputs $current_id" >"$stamp"
size="$(podman image inspect --format '{{.Size}}' "$image")"
log "built $image ($current_id, $((size / 1000000)) MB); OCI archive: $archive ($(du -m "$archive" | cut -f1) MiB)"
