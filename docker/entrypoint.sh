#!/usr/bin/env bash
# Starts one Kafka Connect worker that runs MirrorMaker 2 connectors.
# The container image runs it as its entrypoint; the local runtime (python -m localkafka) runs the
# very same script with its own paths in the MM2_* variables below.
set -euo pipefail

# Usage: entrypoint.sh [connect-distributed.properties]
# The properties are rendered by connect/worker_properties.py and mounted from the ConfigMap.
# Per-pod values, such as the pod IP in rest.advertised.host.name, are ${env:...} references
# that the worker resolves itself.
MM2_WORKER_PROPERTIES="${1:-${MM2_WORKER_PROPERTIES:-/etc/mm2/worker/connect-distributed.properties}}"
MM2_LIBS_DIR="${MM2_LIBS_DIR:-/opt/mm2/libs}"
MM2_JMX_AGENT_JAR="${MM2_JMX_AGENT_JAR:-/opt/mm2/agent/jmx_prometheus_javaagent.jar}"
MM2_CONFIG_DIR="${MM2_CONFIG_DIR:-/opt/mm2/config}"
MM2_JMX_EXPORTER_PORT="${MM2_JMX_EXPORTER_PORT:-9404}"
# JAAS file naming the REST API's basic-auth user file; empty turns REST authentication off.
MM2_REST_JAAS_CONFIG="${MM2_REST_JAAS_CONFIG-/etc/mm2/rest-auth/jaas.conf}"
# Container memory limits drive the heap unless told otherwise.
MM2_HEAP_OPTS="${MM2_HEAP_OPTS:--XX:InitialRAMPercentage=50 -XX:MaxRAMPercentage=70}"
# Java writes its perf data and temporary files here; the root filesystem may be read-only.
MM2_TMP_DIR="${MM2_TMP_DIR:-/tmp}"
# Extra JVM options, such as -XX:StartFlightRecording=... to profile a worker.
MM2_JAVA_OPTS="${MM2_JAVA_OPTS:-}"

fail() {
  echo "entrypoint: $*" >&2
  exit 64
}

[ -r "$MM2_WORKER_PROPERTIES" ] || fail "worker properties not readable: $MM2_WORKER_PROPERTIES"
[ -d "$MM2_LIBS_DIR" ] || fail "jar folder missing: $MM2_LIBS_DIR"
[ -r "$MM2_JMX_AGENT_JAR" ] || fail "JMX exporter agent missing: $MM2_JMX_AGENT_JAR"
[ -r "$MM2_CONFIG_DIR/log4j2.properties" ] || fail "log4j2.properties missing in $MM2_CONFIG_DIR"
[ -r "$MM2_CONFIG_DIR/jmx-exporter.yaml" ] || fail "jmx-exporter.yaml missing in $MM2_CONFIG_DIR"

java_options=()
read -r -a heap_options <<< "$MM2_HEAP_OPTS"
java_options+=("${heap_options[@]}")
java_options+=(
  "-javaagent:${MM2_JMX_AGENT_JAR}=${MM2_JMX_EXPORTER_PORT}:${MM2_CONFIG_DIR}/jmx-exporter.yaml"
  "-Dlog4j2.configurationFile=${MM2_CONFIG_DIR}/log4j2.properties"
  "-Djava.io.tmpdir=${MM2_TMP_DIR}"
  "-Djava.awt.headless=true"
  "-XX:+ExitOnOutOfMemoryError"
)
if [ -n "$MM2_JAVA_OPTS" ]; then
  read -r -a extra_options <<< "$MM2_JAVA_OPTS"
  java_options+=("${extra_options[@]}")
fi
if [ -n "$MM2_REST_JAAS_CONFIG" ]; then
  [ -r "$MM2_REST_JAAS_CONFIG" ] || fail "REST auth JAAS file not readable: $MM2_REST_JAAS_CONFIG"
  java_options+=("-Djava.security.auth.login.config=${MM2_REST_JAAS_CONFIG}")
fi

echo "entrypoint: starting Kafka Connect with ${MM2_WORKER_PROPERTIES}" >&2
exec java "${java_options[@]}" -cp "${MM2_LIBS_DIR}/*" \
  org.apache.kafka.connect.cli.ConnectDistributed "$MM2_WORKER_PROPERTIES"
