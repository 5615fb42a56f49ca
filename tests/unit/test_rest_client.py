"""The REST client's retry and error rules, against an HTTP server that answers from a script.

Real Connect cannot be made to answer 409 on demand (tests/faults provoke the transient answers a
joining worker really gives); this server replays the answers Connect documents, so that every
rule of `ConnectClient._request` is exercised exactly.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connect.rest import ConnectClient, ConnectEndpoint, ConnectError, ConnectorAlreadyExists, ConnectUnavailable

Answer = tuple[int, str, str]  # status, content type, body


class ScriptedConnect:
    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[tuple[str, str, str | None]] = []
        server = self
        self.delay = 0.0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the request body, unused
                server.seen.append((self.command, self.path, self.headers.get("Authorization")))
                time.sleep(server.delay)
                status, content_type, text = (
                    server.answers.pop(0) if server.answers else (200, "application/json", "{}")
                )
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def json_answer(status: int, payload: object) -> Answer:
    return status, "application/json", json.dumps(payload)


def client(server: ScriptedConnect, deadline: float = 10, timeout: float = 5) -> ConnectClient:
    return ConnectClient(
        ConnectEndpoint(server.url, "mm2-admin", "pw", timeout_seconds=timeout, deadline_seconds=deadline)
    )


def test_409_during_a_rebalance_is_retried_until_it_succeeds(connect: ScriptedConnect) -> None:
    conflict = {
        "error_code": 409,
        "message": "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
    }
    connect.answers = [json_answer(409, conflict), json_answer(409, conflict), json_answer(201, {"name": "orders"})]
    with client(connect) as rest:
        rest.create_connector("orders", {"connector.class": "MirrorSourceConnector"})
    assert [verb for verb, _, _ in connect.seen] == ["POST", "POST", "POST"]


def test_500_rebalance_expected_is_retried(connect: ScriptedConnect) -> None:
    expected = {"error_code": 500, "message": "Request cannot be completed because a rebalance is expected"}
    connect.answers = [json_answer(500, expected), json_answer(200, {"tasks.max": "1"})]
    with client(connect) as rest:
        assert rest.connector_config("orders") == {"tasks.max": "1"}


def test_already_exists_is_not_retried(connect: ScriptedConnect) -> None:
    connect.answers = [json_answer(409, {"error_code": 409, "message": "Connector orders already exists"})]
    with client(connect) as rest, pytest.raises(ConnectorAlreadyExists, match="Connector orders already exists"):
        rest.create_connector("orders", {})
    assert len(connect.seen) == 1


def test_client_errors_carry_connects_message_the_verb_and_the_connector(connect: ScriptedConnect) -> None:
    message = "Connector configuration is invalid and contains the following 1 error(s): tasks.max"
    connect.answers = [json_answer(400, {"error_code": 400, "message": message})]
    with client(connect) as rest, pytest.raises(ConnectError) as raised:
        rest.put_connector_config("orders", {"tasks.max": "x"})
    assert str(raised.value) == (
        f"Kafka Connect PUT /connectors/orders/config (connector 'orders') failed: HTTP 400: {message}"
    )
    assert len(connect.seen) == 1


def test_html_404_of_a_starting_worker_is_retried_but_a_json_404_means_absent(connect: ScriptedConnect) -> None:
    connect.answers = [
        (404, "text/html", "<html>Error 404 Not Found</html>"),
        json_answer(404, {"error_code": 404, "message": "Connector orders not found"}),
    ]
    with client(connect) as rest:
        assert rest.connector_config("orders") is None
    assert len(connect.seen) == 2


def test_jettys_json_404_of_a_stopping_worker_is_retried(connect: ScriptedConnect) -> None:
    # Jetty's own error page, in JSON for `Accept: application/json`: no Connect `error_code`.
    jetty = {"url": "/connectors", "status": "404", "message": "Not Found", "servlet": "null"}
    connect.answers = [json_answer(404, jetty), json_answer(200, ["orders"])]
    with client(connect) as rest:
        assert rest.connectors() == ["orders"]
    assert len(connect.seen) == 2


def test_a_forward_to_a_leader_that_is_gone_is_retried(connect: ScriptedConnect) -> None:
    gone = "IO Error trying to forward REST request: java.net.SocketTimeoutException: Connect Timeout"
    connect.answers = [json_answer(500, {"error_code": 500, "message": gone}), (204, "application/json", "")]
    with client(connect) as rest:
        assert rest.delete_connector("orders")
    assert [verb for verb, _, _ in connect.seen] == ["DELETE", "DELETE"]


def test_a_failed_write_to_the_config_topic_is_retried(connect: ScriptedConnect) -> None:
    # Connect's words (KafkaConfigBackingStore), answered to a DELETE in CI while a worker left.
    failed = (
        "Failed to write to config topic; this may be due to a transient error and the request can be safely retried"
    )
    connect.answers = [json_answer(500, {"error_code": 500, "message": failed}), (204, "application/json", "")]
    with client(connect) as rest:
        assert rest.delete_connector("streams")
    assert [verb for verb, _, _ in connect.seen] == ["DELETE", "DELETE"]


def test_health_503_is_waited_out(connect: ScriptedConnect) -> None:
    starting = {"status": "starting", "message": "Worker is still starting up."}
    connect.answers = [
        json_answer(503, starting),
        json_answer(404, {"message": "HTTP 404 Not Found"}),
        json_answer(200, {"status": "healthy"}),
    ]
    with client(connect) as rest:
        rest.wait_until_ready()
    assert [path for _, path, _ in connect.seen] == ["/health"] * 3


def test_persistent_transient_answers_give_up_at_the_deadline_with_the_last_message(connect: ScriptedConnect) -> None:
    connect.answers = [json_answer(409, {"message": "rebalance in progress"})] * 50
    started = time.monotonic()
    with client(connect, deadline=2) as rest, pytest.raises(ConnectUnavailable) as raised:
        rest.connectors()
    assert time.monotonic() - started < 4
    assert f"still failing after 2s of retries against {connect.url}: rebalance in progress" in str(raised.value)


def test_a_slow_worker_times_out_each_call_and_gives_up_at_the_deadline(connect: ScriptedConnect) -> None:
    connect.delay = 2.0
    started = time.monotonic()
    with client(connect, deadline=2, timeout=0.5) as rest, pytest.raises(ConnectUnavailable, match="ReadTimeout"):
        rest.connectors()
    assert time.monotonic() - started < 5


def test_refused_connections_give_up_at_the_deadline_naming_the_url() -> None:
    endpoint = ConnectEndpoint("http://127.0.0.1:9", deadline_seconds=1, timeout_seconds=0.5)
    with ConnectClient(endpoint) as rest, pytest.raises(ConnectUnavailable, match=r"against http://127\.0\.0\.1:9"):
        rest.connectors()


def test_every_call_sends_basic_auth_and_names_are_url_encoded(connect: ScriptedConnect) -> None:
    connect.answers = [json_answer(404, {"message": "not found"})]
    with client(connect) as rest:
        rest.connector_status("a/b c")
    verb, path, authorization = connect.seen[0]
    assert (verb, path) == ("GET", "/connectors/a%2Fb%20c/status")
    assert authorization == "Basic bW0yLWFkbWluOnB3"
