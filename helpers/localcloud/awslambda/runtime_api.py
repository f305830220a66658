"""The Lambda Runtime API, served to one worker process.

AWS gives every execution environment its own Runtime API endpoint; so do we: each worker gets
a small HTTP/1.1 server on 127.0.0.1 with TCP_NODELAY (without it a warm round-trip costs tens
of milliseconds of Nagle delay instead of well under one).
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .worker import Worker

PREFIX = "/2018-06-01/runtime"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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
        worker = self.server.worker
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"InvalidRequest","errorMessage":"Not found"}')
            return
        invocation = worker.next_invocation()  # blocks until there is work
        if invocation is None:  # the worker is being retired
            self._reply(410, b'{"errorType":"Gone","errorMessage":"Worker retired"}')
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
        worker = self.server.worker
        body = self._body()
        path = self.path
        peak = self.headers.get("Lambda-Runtime-Peak-Memory-Kb", "")
        if peak.isdigit():
            worker.peak_memory_reported(int(peak))
        if path == f"{PREFIX}/init/error":
            worker.init_failed(_error_body(body, self.headers))
            self._accepted()
            return
        parts = path[len(PREFIX) :].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            request_id = parts[1]
            if parts[2] == "response":
                known = worker.invocation_succeeded(request_id, body)
            else:
                known = worker.invocation_failed(request_id, _error_body(body, self.headers))
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
    block_on_close = False  # a worker's /next may be parked forever; don't join it

    def __init__(self, worker: Worker):
        self.worker = worker
        super().__init__(("127.0.0.1", 0), _Handler)


class RuntimeApi:
    """One worker's Runtime API endpoint (``AWS_LAMBDA_RUNTIME_API``)."""

    def __init__(self, worker: Worker):
        self._server = _RuntimeApiServer(worker)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
