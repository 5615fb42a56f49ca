"""The image's layout: paths, ports and the user, as the Kubernetes objects, the container tests and
the local runtime see them.

docker/Dockerfile and docker/entrypoint.sh use the same values; tests/unit/test_image.py checks
that they agree.
"""

from __future__ import annotations

REST_PORT = 8083
METRICS_PORT = 9404
RUN_AS_USER = 10001

MM2_HOME = "/opt/mm2"
ENTRYPOINT = f"{MM2_HOME}/bin/entrypoint.sh"
HEALTHCHECK = f"{MM2_HOME}/bin/healthcheck.sh"

WORKER_CONFIG_DIR = "/etc/mm2/worker"
WORKER_PROPERTIES_FILE = "connect-distributed.properties"
WORKER_PROPERTIES = f"{WORKER_CONFIG_DIR}/{WORKER_PROPERTIES_FILE}"
# SASL credentials of the clusters, one `<cluster>.properties` each, read by FileConfigProvider.
SECRETS_DIR = "/etc/mm2/secrets"
# REST basic auth: the JAAS file, the users file, and the probe's Authorization header value.
REST_AUTH_DIR = "/etc/mm2/rest-auth"
REST_JAAS_FILE = "jaas.conf"
REST_USERS_FILE = "rest-users.properties"
PROBE_AUTH_FILE = "probe-authorization"
TMP_DIR = "/tmp"
