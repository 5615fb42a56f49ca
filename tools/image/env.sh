#!/usr/bin/env bash
# The environment of every podman/buildah call of this project: CONTAINERS_CONF points at
# tools/image/containers.conf (ulimits and runtime this machine needs).
#
#   . tools/image/env.sh                  # in a shell script: exports CONTAINERS_CONF
#   tools/image/env.sh podman run ...     # one command with it
#
# Python callers (the container tests) set the same variable on their subprocess instead:
#   env = {**os.environ, "CONTAINERS_CONF": str(REPO / "tools/image/containers.conf")}
CONTAINERS_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf"
export CONTAINERS_CONF

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then
  exec "$@"
fi
