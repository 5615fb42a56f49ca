"""A stand-in for an MSK IAM listener on loopback, just far enough for a Kafka client to start its SASL exchange.

python -m tests.auth.msk_iam_stand_in --port P --certificate C --key K --record R -- <command...>

Serves TLS on 127.0.0.1:P, answers ApiVersions and a SaslHandshake for AWS_MSK_IAM, then waits
for the client's first SASL token: a client with working IAM settings computes that token from
AWS credentials (its login module and callback handler loaded), so without credentials it fails
there, before sending anything. Runs `command` (the Java client) meanwhile, and writes what it
saw (the mechanisms asked for, the command's exit code and output) as JSON to R.

Run in a network namespace with only `lo` up, so that nothing but loopback can be contacted.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import struct
import subprocess
import threading
from pathlib import Path

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
# What the stand-in claims to serve: just enough for the SASL phase of a connection.
SERVED = {API_VERSIONS: (0, 4), SASL_HANDSHAKE: (0, 1), SASL_AUTHENTICATE: (0, 2)}
COMMAND_SECONDS = 90


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--certificate", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.certificate, args.key)
    listener = socket.create_server(("127.0.0.1", args.port))
    seen: dict[str, list[str]] = {"mechanisms": [], "requests": []}
    threading.Thread(target=serve, args=(listener, context, seen), daemon=True).start()
    try:
        result = subprocess.run(args.command, capture_output=True, text=True, timeout=COMMAND_SECONDS)
        outcome = {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr[-4000:]}
    except subprocess.TimeoutExpired:
        outcome = {"returncode": None, "stdout": "", "stderr": f"timed out after {COMMAND_SECONDS}s"}
    Path(args.record).write_text(json.dumps({**seen, **outcome}))


def serve(listener: socket.socket, context: ssl.SSLContext, seen: dict[str, list[str]]) -> None:
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=converse, args=(connection, context, seen), daemon=True).start()


def converse(connection: socket.socket, context: ssl.SSLContext, seen: dict[str, list[str]]) -> None:
    try:
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.settimeout(30)
            while True:
                request = read_frame(tls)
                api_key, version, correlation_id = struct.unpack(">hhi", request[:8])
                seen["requests"].append(f"{api_key}v{version}")
                if api_key == API_VERSIONS:
                    tls.sendall(frame(struct.pack(">i", correlation_id) + api_versions(version)))
                elif api_key == SASL_HANDSHAKE:
                    mechanism = handshake_mechanism(request)
                    seen["mechanisms"].append(mechanism)
                    body = struct.pack(">hi", 0, 1) + kafka_string(mechanism)
                    tls.sendall(frame(struct.pack(">i", correlation_id) + body))
                else:
                    return  # a SASL token would mean the client found credentials: not expected here
    except (OSError, ssl.SSLError, struct.error):
        return


def api_versions(version: int) -> bytes:
    """An ApiVersions response body; v3 and later are flexible (compact array, tagged fields)."""
    if version >= 3:
        entries = b"".join(struct.pack(">hhh", key, low, high) + b"\x00" for key, (low, high) in SERVED.items())
        return struct.pack(">h", 0) + bytes([len(SERVED) + 1]) + entries + struct.pack(">i", 0) + b"\x00"
    entries = b"".join(struct.pack(">hhh", key, low, high) for key, (low, high) in SERVED.items())
    throttle = struct.pack(">i", 0) if version >= 1 else b""
    return struct.pack(">hi", 0, len(SERVED)) + entries + throttle


def handshake_mechanism(request: bytes) -> str:
    # Header v1: api key, version, correlation id, client id (int16-length string); then the mechanism.
    client_id_length = struct.unpack(">h", request[8:10])[0]
    offset = 10 + max(client_id_length, 0)
    length = struct.unpack(">h", request[offset : offset + 2])[0]
    return request[offset + 2 : offset + 2 + length].decode()


def kafka_string(value: str) -> bytes:
    return struct.pack(">h", len(value)) + value.encode()


def read_frame(tls: ssl.SSLSocket) -> bytes:
    size = struct.unpack(">i", read_exactly(tls, 4))[0]
    return read_exactly(tls, size)


def read_exactly(tls: ssl.SSLSocket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = tls.recv(count - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


if __name__ == "__main__":
    main()
