"""The Lambda Runtime API, served to one execution environment.

AWS gives every execution environment its own Runtime API endpoint; so do we: each environment
gets a small HTTP/1.1 server on 127.0.0.1 with TCP_NODELAY (without it a warm round-trip costs
tens of milliseconds of Nagle delay instead of well under one). It talks to an
``ExecutionEnvironment`` (``models.py``) and knows nothing of the process behind it.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .models import ExecutionEnvironment

PREFIX = "/2018-06-01/runtime"
# The largest response (or error) a function may post: 6 MB and 100 bytes, as the Runtime
# Interface Emulator's MaxPayloadSize. A larger one gets 413, and the invocation fails with
# Function.ResponseSizeTooLarge, in AWS's words.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 + 100
TOO_LARGE_FOR_THE_API = json.dumps(
    {
        "errorMessage": f"Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
        "errorType": "RequestEntityTooLarge",
    }
).encode()
RESPONSE_TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size "
    f"({MAX_PAYLOAD_BYTES} bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def _body(self) -> bytes | None:
        """The request's body; None (read and dropped) if it is over MAX_PAYLOAD_BYTES."""
        length = int(self.headers.get("Content-Length") or 0)
        if length <= MAX_PAYLOAD_BYTES:
            return self.rfile.read(length) if length else b""
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)
        return None

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the environment's process is gone (retired or crashed): nobody to answer

    def _accepted(self) -> None:
        self._reply(202, b'{"status":"OK"}')

    def _from_a_browser(self) -> bool:
        """A web page may POST to any port on 127.0.0.1; only the runtime client may talk here."""
        origin = self.headers.get("Origin") or self.headers.get("Referer")
        if origin is None:
            return False
        self._reply(403, b'{"errorType":"Forbidden","errorMessage":"Not for browsers"}')
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self._from_a_browser():
            return
        environment = self.server.environment
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"InvalidRequest","errorMessage":"Not found"}')
            return
        invocation = environment.next_invocation()  # blocks until there is work
        if invocation is None:  # the environment is being retired
            self._reply(410, b'{"errorType":"Gone","errorMessage":"Environment retired"}')
            return
        self._reply(
            200,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            },
        )

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if self._from_a_browser():
            return
        environment = self.server.environment
        body = self._body()
        path = self.path
        peak = self.headers.get("Lambda-Runtime-Peak-Memory-Kb", "")
        if peak.isdigit():
            environment.peak_memory_reported(int(peak))
        if body is None:
            parts = path[len(PREFIX) :].strip("/").split("/")
            if len(parts) == 3 and parts[0] == "invocation":
                environment.invocation_failed(parts[1], dict(RESPONSE_TOO_LARGE))
            self._reply(413, TOO_LARGE_FOR_THE_API)
            return
        if path == f"{PREFIX}/init/error":
            environment.init_failed(_error_body(body, self.headers))
            self._accepted()
            return
        parts = path[len(PREFIX) :].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            request_id = parts[1]
            if parts[2] == "response":
                known = environment.invocation_succeeded(request_id, body)
            else:
                known = environment.invocation_failed(request_id, _error_body(body, self.headers))
            if known:
                self._accepted()
            else:
                self._reply(
                    400,
                    b'{"errorType":"InvalidRequestID","errorMessage":"Invalid request ID"}',
                )
            return
        self._reply(404, b'{"errorType":"InvalidRequest","errorMessage":"Not found"}')


def _error_body(body: bytes, headers) -> dict:
    try:
        error = json.loads(body or b"{}")
    except ValueError:
        error = {"errorMessage": body.decode("utf-8", "replace")}
    if not isinstance(error, dict):
        error = {"errorMessage": str(error)}
    error.setdefault("errorType", headers.get("Lambda-Runtime-Function-Error-Type") or "Unknown")
    return error


class _RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a /next may be parked until the environment retires; don't join it

    def __init__(self, environment: ExecutionEnvironment):
        self.environment = environment
        super().__init__(("127.0.0.1", 0), _Handler)


class RuntimeApi:
    """One execution environment's Runtime API endpoint (``AWS_LAMBDA_RUNTIME_API``)."""

    def __init__(self, environment: ExecutionEnvironment):
        self._server = _RuntimeApiServer(environment)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
