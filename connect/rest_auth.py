"""Files for Kafka Connect's REST basic auth (BasicAuthSecurityRestExtension).

The JAAS file only names the users file, so it is not secret; the users file is.
"""

from __future__ import annotations

import base64

from connect.cluster_connection import properties_escape

LOGIN_MODULE = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"


def rest_jaas_config(users_file: str) -> str:
    return f'KafkaConnect {{\n  {LOGIN_MODULE} required\n  file="{users_file}";\n}};\n'


def rest_users_file_content(username: str, password: str) -> str:
    # PropertyFileLoginModule reads `user: password` lines with java.util.Properties.
    return f"{username}: {properties_escape(password)}\n"


def basic_authorization(username: str, password: str) -> str:
    """The value after `Authorization: Basic ` for these credentials (the readiness probe's file)."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()
