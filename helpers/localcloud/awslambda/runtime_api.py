"""The Lambda Runtime API, served to one execution environment.

AWS gives every execution environment its own Runtime API endpoint; so do we: each environment
gets a small HTTP/1.1 server on 127.0.0.1 with TCP_NODELAY (without it a warm round-trip costs
tens of milliseconds of Nagle delay instead of well under one). It talks to an
``ExecutionEnvironment`` (``models.py``) and knows nothing of the process behind it.

On AWS nothing but the function's sandbox can reach its Runtime API. Here any process of the
machine can reach 127.0.0.1 — another user's on a shared server too — and whoever gets
``/invocation/next`` first would read the event (a pipeline job's carries artifact
credentials) and could post a response of its own. So the API is locked to its environment
(``Lock``), in one of two ways (``LOCALCLOUD_RUNTIME_API_CHECK``):

- ``peer`` (Linux, the default there): the kernel says which process holds the other end of
  each connection (``peer.py``); only the environment's process, or one it started, is served.
  awslambdaric, which can't be told to send anything more, needs nothing else.
- ``token`` (elsewhere, and on Linux if asked for): each request must carry the
  environment's secret, as ``Authorization: Basic`` of ``lambda:SECRET``. The client reads it
  from its stdin, a pipe the worker writes it to and closes (never an environment variable:
  those are readable in ``/proc/PID/environ``). The workbook's clients send it themselves;
  awslambdaric is started through ``awslambdaric_with_secret.py``.

A refused request gets 403 with a short JSON error, its connection is closed, and it learns
nothing of any invocation.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import peer
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
NOT_THIS_ENVIRONMENT = (
    b'{"errorType":"Forbidden","errorMessage":"Only this execution environment may use its '
    b'Runtime API"}'
)
CHECKS = ("peer", "token")
# How long a connection waits for the worker to name the environment's process (it does so
# as soon as the process is started, before its client can have connected)
ADMIT_WAIT_S = 10.0
RESPONSE_TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size "
    f"({MAX_PAYLOAD_BYTES} bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}


def choose_check(wanted: str | None = None) -> str:
    """How Runtime APIs are locked: ``peer`` where the kernel can name a connection's process
    (Linux), else ``token``; ``wanted`` (or ``LOCALCLOUD_RUNTIME_API_CHECK``) forces one."""
    wanted = (wanted or os.environ.get("LOCALCLOUD_RUNTIME_API_CHECK") or "auto").strip().lower()
    if wanted == "auto":
        return "peer" if sys.platform.startswith("linux") and peer.works() is None else "token"
    if wanted not in CHECKS:
        raise ValueError(f"LOCALCLOUD_RUNTIME_API_CHECK must be one of {CHECKS}, not {wanted!r}")
    if wanted == "peer" and peer.works() is not None:
        raise ValueError(f"The Runtime API's peer check doesn't work here: {peer.works()}")
    return wanted


def authorization(secret: str) -> str:
    """The header value that carries an environment's secret (what curl, and so awslambdaric's
    native client, sends for the user ``lambda:SECRET@`` of an address)."""
    return "Basic " + base64.b64encode(f"lambda:{secret}".encode()).decode()


class Lock:
    """Who may use one environment's Runtime API: its process (``peer``) or whoever sends its
    secret (``token``)."""

    def __init__(self, check: str):
        if check not in CHECKS:
            raise ValueError(f"the Runtime API's check must be one of {CHECKS}, not {check!r}")
        self.check = check
        self.secret = secrets.token_urlsafe(32) if check == "token" else None
        self._expected = authorization(self.secret).encode() if self.secret else b""
        self._pid: int | None = None
        self._named = threading.Event()

    def admit(self, pid: int | None) -> None:
        """The environment's process (``peer``): it and its descendants are served; None (the
        process could not start, or has ended) serves nobody."""
        self._pid = pid
        self._named.set()

    def allows_connection(self, connection: socket.socket) -> bool:
        """``peer``: whether the connection comes from the environment's process tree (asked
        once per connection)."""
        if self.check != "peer":
            return True
        self._named.wait(ADMIT_WAIT_S)
        return self._pid is not None and peer.is_from(connection, self._pid)

    def allows_request(self, headers) -> bool:
        """``token``: whether the request carries the environment's secret."""
        if self.check != "token":
            return True
        given = (headers.get("Authorization") or "").encode("latin-1", "replace")
        return hmac.compare_digest(given, self._expected)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._own_connection: bool | None = None  # the peer check, once per connection

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

    def _refused(self) -> bool:
        """A web page may POST to any port on 127.0.0.1, and any process may connect to it:
        only the environment's runtime client may talk here. A refused request is answered 403
        (its body dropped) and its connection closed."""
        if self.headers.get("Origin") or self.headers.get("Referer"):
            body = b'{"errorType":"Forbidden","errorMessage":"Not for browsers"}'
        else:
            lock = self.server.lock
            if self._own_connection is None:
                self._own_connection = lock.allows_connection(self.connection)
            if self._own_connection and lock.allows_request(self.headers):
                return False
            body = NOT_THIS_ENVIRONMENT
        self._discard_body()  # unread, it would turn the close into a reset that loses the 403
        self._reply(403, body, {"Connection": "close"})
        return True

    def _discard_body(self) -> None:
        """Read and drop a refused request's body (up to MAX_PAYLOAD_BYTES, for 2 s at most)."""
        length = self.headers.get("Content-Length") or "0"
        left = min(int(length), MAX_PAYLOAD_BYTES) if length.isdigit() else 0
        try:
            self.connection.settimeout(2.0)
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self._refused():
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
        if self._refused():
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

    def __init__(self, environment: ExecutionEnvironment, lock: Lock):
        self.environment = environment
        self.lock = lock
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the environment's process was stopped mid-request: nobody to tell
        super().handle_error(request, client_address)


class RuntimeApi:
    """One execution environment's Runtime API endpoint (``AWS_LAMBDA_RUNTIME_API``), locked
    to it: ``check`` is ``peer`` or ``token`` (``choose_check``). With ``peer`` it serves
    nobody until ``admit`` names the environment's process; with ``token`` the client must send
    ``secret`` (``authorization``)."""

    def __init__(self, environment: ExecutionEnvironment, check: str | None = None):
        self.lock = Lock(check or choose_check())
        self.check, self.secret = self.lock.check, self.lock.secret
        self._server = _RuntimeApiServer(environment, self.lock)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True
        )
        self._thread.start()

    def admit(self, pid: int | None) -> None:
        """Serve process ``pid`` and its descendants (``peer``; with ``token`` nothing
        changes)."""
        self.lock.admit(pid)

    def close(self) -> None:
        self.lock.admit(None)
        self._server.shutdown()
        self._server.server_close()
