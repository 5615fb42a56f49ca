#!/usr/bin/env bash
# Health probe of one Kafka Connect worker: GET /health on its REST API, healthy only on HTTP 200.
# Kafka Connect answers 200 once the worker has finished starting, 503 while it starts, and 401
# without valid credentials (BasicAuthSecurityRestExtension). Kubernetes runs this as the exec probe,
# and the image's HEALTHCHECK runs it too.
#
# The JRE image has neither curl nor wget, so the request goes over bash's /dev/tcp.
# Settings (all optional):
#   MM2_REST_HOST        worker REST address (default 127.0.0.1: the probe runs inside the pod)
#   MM2_REST_PORT        worker REST port (default 8083)
#   MM2_PROBE_AUTH_FILE  file holding the Basic auth token, base64 of "user:password"
#                        (default /etc/mm2/rest-auth/probe-authorization); set it to the empty
#                        string when REST authentication is off, and no Authorization header is sent
#   MM2_PROBE_TIMEOUT_SECONDS  the whole exchange's deadline (default 12); keep the Kubernetes
#                        probe's timeoutSeconds above it, or the kubelet gives up first. Above
#                        Connect's own /health deadline (10 s, fixed by KIP-1017), so that a worker
#                        whose herder is stuck is reported with Connect's 500 and the stage it is
#                        stuck in, not with a bare "no answer"
# Exit status: 0 healthy, 1 anything else (the reason goes to stderr, which the kubelet records).
set -uo pipefail

host="${MM2_REST_HOST:-127.0.0.1}"
port="${MM2_REST_PORT:-8083}"
# No colon: an empty value means "no authentication", an unset one means the mounted default.
auth_file="${MM2_PROBE_AUTH_FILE-/etc/mm2/rest-auth/probe-authorization}"
timeout_seconds="${MM2_PROBE_TIMEOUT_SECONDS:-12}"

fail() {
  echo "healthcheck: $*" >&2
  exit 1
}

case "$timeout_seconds" in
  '' | *[!0-9]* | 0) fail "MM2_PROBE_TIMEOUT_SECONDS must be a positive whole number, got '${timeout_seconds}'" ;;
esac

# /dev/tcp has no connect timeout of its own: a dropped SYN would hang the probe for minutes.
# So the script re-runs itself under coreutils' timeout, which bounds connect, send and receive.
if [ "${1:-}" != "--under-timeout" ] && command -v timeout >/dev/null 2>&1; then
  timeout --kill-after=1 "$timeout_seconds" "$BASH" "${BASH_SOURCE[0]}" --under-timeout
  status=$?
  case "$status" in
    124 | 137) fail "no answer from ${host}:${port} within ${timeout_seconds}s" ;;
    *) exit "$status" ;;
  esac
fi

auth_header=""
if [ -n "$auth_file" ]; then
  [ -r "$auth_file" ] || fail "probe credentials not readable: ${auth_file}"
  token=""
  # The token is one line; `read` drops the trailing newline a mounted Secret may carry.
  IFS=$' \t\r\n' read -r token <"$auth_file" || true
  [ -n "$token" ] || fail "probe credentials file is empty: ${auth_file}"
  auth_header="Authorization: Basic ${token}"$'\r\n'
fi

# The braces keep 2>/dev/null (bash's own "connection refused" line) from sticking to the shell.
{ exec 3<>"/dev/tcp/${host}/${port}"; } 2>/dev/null || fail "cannot connect to ${host}:${port} (worker not listening yet?)"

printf 'GET /health HTTP/1.1\r\nHost: %s:%s\r\nAccept: application/json\r\n%sConnection: close\r\n\r\n' \
  "$host" "$port" "$auth_header" >&3 || fail "cannot send the request to ${host}:${port}"

status_line=""
IFS= read -r -t "$timeout_seconds" status_line <&3 || [ -n "$status_line" ] || fail "no HTTP answer from ${host}:${port}"
status_line="${status_line%$'\r'}"

if [[ "$status_line" =~ ^HTTP/1\.[01]\ 200([[:space:]]|$) ]]; then
  # Read the rest before closing: closing with unread data sends a reset, which the worker may log.
  IFS= read -r -d '' -t 1 _ <&3 || true
  exec 3<&-
  exit 0
fi

# Not healthy: skip the headers and show the start of the body, where Connect says why
# (for example {"status":"starting","message":"Worker is still starting up."}).
line="x"
while [ -n "$line" ] && IFS= read -r -t 1 line <&3; do
  line="${line%$'\r'}"
done
body=""
IFS= read -r -t 1 -N 300 body <&3 || true
exec 3<&-
body="${body//$'\r'/}"
body="${body//$'\n'/ }"

case "$status_line" in
  "HTTP/1."?" 401"*)
    if [ -n "$auth_file" ]; then
      hint=" (the REST API rejected the credentials in ${auth_file})"
    else
      hint=" (REST authentication is on but MM2_PROBE_AUTH_FILE is empty, so none were sent)"
    fi
    ;;
  "HTTP/1."?" 503"*) hint=" (worker not ready: still starting, or its startup is blocked)" ;;
  HTTP/*) hint="" ;;
  *) fail "not an HTTP answer from ${host}:${port}: '${status_line}'" ;;
esac
fail "GET /health on ${host}:${port} answered '${status_line}'${hint}${body:+: ${body}}"
