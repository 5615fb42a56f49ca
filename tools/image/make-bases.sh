#!/usr/bin/env bash
# Stand-in base images for docker/Dockerfile, for machines that cannot pull its pinned bases (no
# container registry): Debian bookworm root filesystems made with mmdebstrap from the Debian mirror
# apt already uses, imported into podman's storage.
#
#   localhost/mm2-build-base:bookworm    for BUILD_IMAGE (maven:...-eclipse-temurin-17): Maven, JDK 17,
#                                        and this machine's extra CA certificates, so that Maven works
#                                        behind a TLS-inspecting proxy
#   localhost/mm2-runtime-base:bookworm  for RUNTIME_IMAGE (eclipse-temurin:17...-jre): JRE 17, bash,
#                                        passwd (useradd), coreutils (timeout, for healthcheck.sh)
#
# Each image carries a hash of its inputs (package list, this script, the apt sources, the CA
# certificates) as a label; an image whose label matches is kept, so a second run does nothing.
# Both are made in parallel. Needs root, mmdebstrap and podman (tools/system/packages.txt).
#
# Settings: MM2_APT_SOURCES  apt sources files to use (space-separated; default: the active ones of
#                            /etc/apt that name the suite), MM2_IMAGE_CACHE (default .cache/image).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"

SUITE=bookworm
BUILD_BASE="localhost/mm2-build-base:${SUITE}"
RUNTIME_BASE="localhost/mm2-runtime-base:${SUITE}"
BUILD_PACKAGES="maven openjdk-17-jdk-headless ca-certificates"
RUNTIME_PACKAGES="openjdk-17-jre-headless bash passwd coreutils ca-certificates"
EXTRA_CA_DIR=/usr/local/share/ca-certificates
INPUTS_LABEL=io.github.mm2eks.standin-base.inputs

work="${MM2_IMAGE_CACHE:-$repo/.cache/image}/bases"
mkdir -p "$work"

log() { echo "make-bases: $*" >&2; }

# The apt sources this machine uses for the suite (one-line .list or deb822 .sources files).
sources=()
if [ -n "${MM2_APT_SOURCES:-}" ]; then
  read -r -a sources <<<"$MM2_APT_SOURCES"
else
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [ -f "$file" ] && grep -qE "^[^#]*\b${SUITE}\b" "$file"; then
      sources+=("$file")
    fi
  done
fi
[ "${#sources[@]}" -gt 0 ] || log "no apt sources name ${SUITE}; mmdebstrap uses its default mirror"

extra_certs=()
for cert in "$EXTRA_CA_DIR"/*.crt; do
  [ -f "$cert" ] && extra_certs+=("$cert")
done

arch="$(dpkg --print-architecture)"
java_home="/usr/lib/jvm/java-17-openjdk-${arch}"

inputs_hash() { # <kind> <packages>: what the image is made from
  {
    echo "$1 $2 $SUITE $arch"
    cat "${BASH_SOURCE[0]}"
    [ "${#sources[@]}" -eq 0 ] || cat "${sources[@]}"
    if [ "$1" = build ] && [ "${#extra_certs[@]}" -gt 0 ]; then
      cat "${extra_certs[@]}"
    fi
  } | sha256sum | cut -d' ' -f1
}

# <kind> <image> <packages>: makes the image unless its inputs label already matches.
make_base() {
  local kind="$1" image="$2" packages="$3" hash current tar started
  hash="$(inputs_hash "$kind" "$packages")"
  current="$(podman image inspect --format "{{ index .Labels \"${INPUTS_LABEL}\" }}" "$image" 2>/dev/null || true)"
  if [ "$current" = "$hash" ]; then
    log "$image is up to date"
    return 0
  fi
  started=$SECONDS
  tar="$work/${kind}-base.tar"
  # shellcheck disable=SC2016 # "$1" in a hook is the chroot, expanded by mmdebstrap's sh
  local options=(
    --variant=minbase
    --include="${packages// /,}"
    # No manuals, docs or translations in an image. openjdk's postinst still links its manual
    # into man1 (update-alternatives), so that folder must exist.
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --essential-hook='mkdir -p "$1/usr/share/man/man1"'
  )
  if [ "$kind" = build ] && [ "${#extra_certs[@]}" -gt 0 ]; then
    # In place before ca-certificates and ca-certificates-java install, so both the system bundle
    # and Java's cacerts (which Maven uses) trust them; refreshed once more at the end.
    # shellcheck disable=SC2016
    options+=(
      --setup-hook="mkdir -p \"\$1${EXTRA_CA_DIR}\""
      --setup-hook="copy-in ${extra_certs[*]} ${EXTRA_CA_DIR}"
      --customize-hook='chroot "$1" update-ca-certificates'
    )
  fi
  log "making $image (mmdebstrap $SUITE: $packages; log: $work/${kind}-base.log)"
  if ! mmdebstrap "${options[@]}" "$SUITE" "$tar" "${sources[@]}" >"$work/${kind}-base.log" 2>&1; then
    log "mmdebstrap failed for $image; the end of $work/${kind}-base.log:"
    tail -n 40 "$work/${kind}-base.log" >&2
    rm -f "$tar"
    return 1
  fi
  local changes=(
    --change "ENV JAVA_HOME=${java_home}"
    --change "ENV LANG=C.UTF-8"
    --change "LABEL ${INPUTS_LABEL}=${hash}"
    --change "LABEL org.opencontainers.image.description=mm2-eks stand-in ${kind} base: Debian ${SUITE} with ${packages}"
    --change 'CMD ["/bin/bash"]'
  )
  if [ "$kind" = build ]; then
    changes+=(--change "ENV MAVEN_HOME=/usr/share/maven")
  fi
  podman import --quiet "${changes[@]}" "$tar" "$image" >/dev/null
  rm -f "$tar"
  log "$image made in $((SECONDS - started)) s"
}

make_base build "$BUILD_BASE" "$BUILD_PACKAGES" &
build_pid=$!
make_base runtime "$RUNTIME_BASE" "$RUNTIME_PACKAGES" &
runtime_pid=$!
status=0
wait "$build_pid" || status=1
wait "$runtime_pid" || status=1
exit "$status"
