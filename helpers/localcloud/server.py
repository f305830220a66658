"""The local cloud's thin HTTP layer: one WSGI app in front of moto's server.

Requests for what we emulate beyond moto go to our engine and runtime (CodePipeline runs and
jobs, Lambda Invoke, anonymous S3 reads, CloudFormation fidelity); everything else goes to
moto's own server application unchanged.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import sys
import threading
import time
import zlib
from urllib.parse import parse_qs

# AWS managed policies (AdministratorAccess, AWSLambdaBasicExecutionRole, ...) exist on AWS, so
# they exist here: moto loads them only when asked, before its IAM backend is first used.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import ThreadedWSGIServer  # noqa: E402

from . import backends, cloudwatchlogs, s3public, stepfunctions  # noqa: E402
from .access import credentials, dispatch, sigv4  # noqa: E402
from .access.gate import Caller, Gate, Refused, RoleNotAssumable, browser_refusal  # noqa: E402
from .access.policies import role_trust_policy, trusts_service  # noqa: E402
from .awslambda import code_location  # noqa: E402
from .awslambda import responses as lambda_responses  # noqa: E402
from .awslambda.asynchronous import AWS_JOB_TIMEOUT_S  # noqa: E402
from .awslambda.exceptions import InvalidParameterValueException  # noqa: E402
from .awslambda.runtime import LambdaRuntime  # noqa: E402
from .codepipeline.models import PipelineEngine  # noqa: E402
from .codepipeline.responses import CodePipelineResponses  # noqa: E402
from .errors import AwsError, status_line  # noqa: E402
from .persistence import Persistence, changes_state, units_changed_by  # noqa: E402

HEALTH_PATH = "/_localcloud/health"
DEFAULT_REGION = "us-east-1"
BODY_TIMEOUT_S = 10.0  # a client that stops sending its body mid-way gets an answer by then
ROLE_SESSION_S = 3600  # how long the credentials of a function's environment are valid
CORS_HEADERS = ("access-control-",)
LAMBDA_SERVICE = "lambda.amazonaws.com"
ROLE_NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."


class _Engines:
    """One PipelineEngine per region, created on first use."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        job_timeout_s: float,
        gate: Gate,
        poll_interval_s: float | None = None,
    ):
        self._runtime, self._timeout, self._gate = runtime, job_timeout_s, gate
        self._poll_interval_s = poll_interval_s
        self._engines: dict[str, PipelineEngine] = {}
        self._lock = threading.Lock()

    def __call__(self, region: str) -> PipelineEngine:
        with self._lock:
            if region not in self._engines:
                self._engines[region] = PipelineEngine(
                    region,
                    self._runtime,
                    self._timeout,
                    issue_credentials=self._gate.issue_role_session,
                    enforce_iam=self._gate.enforce_iam,
                    poll_interval_s=self._poll_interval_s,
                )
            return self._engines[region]

    def all(self) -> list[PipelineEngine]:
        with self._lock:
            return list(self._engines.values())


def _scope(environ: dict) -> tuple[str | None, str]:
    """(service, region) from a SigV4 Authorization header's credential scope."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", auth)
    if match:
        return match.group(2), match.group(1)
    return None, DEFAULT_REGION


class BodyTimeout(Exception):
    """The client declared a body and stopped sending it."""


def _read_body(environ: dict) -> bytes:
    """The request's body, read once (within BODY_TIMEOUT_S) and kept for moto and for us."""
    if "localcloud.body" in environ:
        return environ["localcloud.body"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    sock = environ.get("werkzeug.socket")
    previous = sock.gettimeout() if sock is not None else None
    try:
        if sock is not None:
            sock.settimeout(BODY_TIMEOUT_S)
        if length:
            body = environ["wsgi.input"].read(length)
            if len(body) < length:
                raise BodyTimeout
        elif environ.get("wsgi.input_terminated"):  # chunked transfer encoding
            body = environ["wsgi.input"].read()
        else:
            body = b""
    except OSError as error:  # the socket timed out or broke mid-body
        raise BodyTimeout from error
    finally:
        if sock is not None:
            try:
                sock.settimeout(previous)
            except OSError:
                pass
    environ["localcloud.body"] = body
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _unchunk(environ: dict, body: bytes) -> bytes:
    """Hand moto an aws-chunked upload as the plain body it stands for (moto stores such
    uploads empty), with the trailing checksum as a header."""
    try:
        data, trailers = sigv4.decode_aws_chunked(body)
    except ValueError:
        data, trailers = None, {}
    declared = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH")
    if data is None or (declared is not None and declared.isdigit() and int(declared) != len(data)):
        raise Refused("IncompleteBody", "The request body terminated unexpectedly", 400, "rest-xml")
    for name, value in trailers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ["HTTP_X_AMZ_CONTENT_SHA256"] = "UNSIGNED-PAYLOAD"
    environ.pop("HTTP_CONTENT_ENCODING", None)
    environ.pop("HTTP_X_AMZ_TRAILER", None)
    return _replace_body(environ, data)


# The most a gzip-compressed request body may inflate to: above Lambda's largest request (a
# 50 MB zip, base64-encoded in CreateFunction's JSON), and a bomb stops there.
MAX_INFLATED_BYTES = 128 * 1024 * 1024


def _gunzip(environ: dict, body: bytes) -> bytes:
    """A gzip-compressed body (botocore compresses some requests), inflated once so the gate
    and moto read the same parameters (moto would inflate it itself, after the gate)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_INFLATED_BYTES)
    except zlib.error:
        data = None
    if data is None or inflater.unconsumed_tail:
        raise Refused(
            "SerializationException",
            "The request body is not valid gzip, or inflates past "
            f"{MAX_INFLATED_BYTES // (1024 * 1024)} MiB.",
            400,
            "json",
        )
    environ.pop("HTTP_CONTENT_ENCODING", None)
    return _replace_body(environ, data)


def _replace_body(environ: dict, data: bytes) -> bytes:
    environ["localcloud.body"] = data
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    return data


def decode_body(environ: dict, body: bytes, service: str) -> bytes:
    """The body an operation reads, from the body as signed: S3's aws-chunked uploads
    un-chunked, a gzip body (any other service: S3 keeps Content-Encoding as the object's
    metadata) inflated."""
    if environ.get("HTTP_X_AMZ_CONTENT_SHA256", "").startswith("STREAMING-"):
        return _unchunk(environ, body)
    encodings = [e.strip().lower() for e in environ.get("HTTP_CONTENT_ENCODING", "").split(",")]
    if "gzip" in encodings and service != "s3":
        return _gunzip(environ, body)
    return body


# Paths moto serves for itself — its admin API (reset, state, seeding) and a fake instance
# metadata service — which no AWS endpoint has: the local cloud serves them to nobody.
MOTO_OWN_PATHS = ("/moto-api", "/latest/meta-data", "/latest/api", "/favicon.ico")


class LocalCloudApp:
    """The WSGI application of the local cloud."""

    def __init__(
        self,
        endpoint: str,
        job_timeout_s: float = 60.0,
        state_dir: str | None = None,
        python_client: str | None = None,
        enforce_iam: bool = True,
        idle_timeout_s: float | None = None,
        persist: bool = True,
        poll_interval_s: float | None = None,
    ):
        self._cloudformation_lock = threading.Lock()
        self._cloudformation_ready = False
        self.moto = DomainDispatcherApplication(create_backend_app)
        dispatch.install()  # moto runs only the operation the gate allowed
        s3public.install()  # a HEAD of a public object is a GetObject, as IAM names it
        cloudwatchlogs.install()
        lambda_responses.install()  # function states (Pending, InProgress) on moto's functions
        code_location.install(endpoint)  # Code.Location downloads the package from here
        self.gate = Gate(backends.ACCOUNT_ID, enforce_iam)
        # Step Functions executions run, their Tasks signed with the execution's role
        stepfunctions.install(endpoint, self.gate.issue_role_session)
        # The state directory keeps everything across restarts (persistence/): loaded back
        # before anything is served, saved as requests change it.
        self.persistence: Persistence | None = None
        restored: dict[str, int] = {}
        if state_dir is not None and persist:
            self.persistence = Persistence(state_dir)
            restored = self.persistence.restore()
            backends.on_change = self.persistence.on_change
        if state_dir is not None:
            owner = credentials.load_or_create(state_dir)
            credentials.install_owner(owner, backends.ACCOUNT_ID)
        self.runtime = LambdaRuntime(
            endpoint,
            python_client=python_client,
            issue_credentials=self._function_session,
            can_log=self.gate.role_may_log,
            idle_timeout_s=idle_timeout_s,
            # AWS's waits (async retries, event age) scaled as the job time-out is
            time_scale=job_timeout_s / AWS_JOB_TIMEOUT_S,
            environments_file=(
                os.path.join(state_dir, "environments.json") if state_dir is not None else None
            ),
        )
        self.engines = _Engines(self.runtime, job_timeout_s, self.gate, poll_interval_s)
        self.codepipeline = CodePipelineResponses(self.engines)
        if self.persistence is not None:
            executions = self.persistence.restore_engines(self.engines)
            self.persistence.start()
            if restored or executions:
                kept = ", ".join(f"{unit} ({n})" for unit, n in restored.items())
                print(
                    f"Restored the state kept in {state_dir}: {kept or 'nothing of moto'}; "
                    f"{executions} pipeline execution(s)",
                    file=sys.stderr,
                    flush=True,
                )

    def __call__(self, environ: dict, start_response):
        environ[dispatch.SERVED_KEY] = True  # moto's dispatch is held to the gate (dispatch.py)
        path = environ.get("PATH_INFO", "")
        refusal = browser_refusal(environ)
        if refusal is None and path.startswith(MOTO_OWN_PATHS):
            refusal = "the local cloud doesn't serve moto's own API"
        if refusal is not None:
            body = json.dumps({"message": f"Forbidden: {refusal}."}).encode()
            return self._reply(start_response, 403, {"Content-Type": "application/json"}, body)
        if path == HEALTH_PATH:
            return self._reply(start_response, 200, {}, json.dumps(self.health()).encode())
        if path.startswith(code_location.PATH_PREFIX) and environ["REQUEST_METHOD"] == "GET":
            # GetFunction's Code.Location: presigned by the local cloud itself
            status, headers, body = code_location.serve(path, environ.get("QUERY_STRING", ""))
            return self._reply(start_response, status, headers, body)
        try:
            body = _read_body(environ)
        except BodyTimeout:
            error = AwsError(
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within "
                "the timeout period. Idle connections will be closed.",
            )
            return self._error(start_response, error, "rest-xml")
        try:
            caller = self.gate.check(
                environ, body, s3public.anonymous_read_allowed, decode=decode_body
            )
        except Refused as refused:
            return self._error(start_response, refused, refused.protocol)
        environ[dispatch.CALLER_KEY] = caller  # moto's dispatch is held to it (dispatch.py)
        reply = self._answer(environ, start_response, caller, _read_body(environ))
        self._keep(caller)  # before the answer leaves: an answered request is on disk
        return reply

    def _keep(self, caller: Caller) -> None:
        """Save what a request may have changed (the units of state of its service)."""
        operation = caller.operation
        if self.persistence is None or operation is None or not changes_state(operation.name):
            return
        if operation.service == "lambda" and operation.name.startswith("Invoke"):
            return  # an invocation changes only logs, which the flusher writes
        self.persistence.save(*units_changed_by(operation.service))

    def _answer(self, environ: dict, start_response, caller: Caller, body: bytes):
        """Dispatch on the operation the gate identified (and IAM allowed): the engine's,
        the runtime's and the S3 checks' own, else moto's (held to it by dispatch.py)."""
        operation = caller.operation
        service, name = (operation.service, operation.name) if operation else (None, None)
        region = caller.region
        try:
            if service == "codepipeline":
                return self._codepipeline(environ, start_response, name, region)
            if service == "cloudformation" and not self._cloudformation_ready:
                self._install_cloudformation()
            if service == "lambda":
                self._check_function_role(caller, body)
                lambda_responses.before_moto(operation, region, self.runtime)
                if name == "Invoke":
                    return self._invoke(environ, start_response, operation, region)
            if service == "s3" and name == "CreateBucket":
                bucket = operation.params["Bucket"]
                return self._moto(
                    environ, start_response, lambda: s3public.block_public_access(bucket)
                )
            if service == "s3" and name == "PutBucketPolicy":
                refused = s3public.policy_refused(operation.params["Bucket"], body)
                if refused:
                    error = AwsError("AccessDenied", refused, 403)
                    return self._error(start_response, error, "rest-xml")
        except AwsError as error:
            return self._error(start_response, error, operation.protocol if operation else "json")
        return self._moto(environ, start_response)

    def _function_session(self, role: str, name: str) -> dict:
        """The credentials Lambda runs a function with: its execution role, assumed by
        lambda.amazonaws.com (which its trust policy must allow, even if it changed since
        the function was created)."""
        try:
            return self.gate.issue_role_session(role, name, ROLE_SESSION_S, service=LAMBDA_SERVICE)
        except RoleNotAssumable:
            raise InvalidParameterValueException(ROLE_NOT_ASSUMABLE) from None

    def _check_function_role(self, caller: Caller, body: bytes) -> None:
        """Lambda refuses an execution role that doesn't trust lambda.amazonaws.com."""
        if not self.gate.enforce_iam:
            return
        if caller.operation.name not in ("CreateFunction", "UpdateFunctionConfiguration"):
            return
        role = caller.operation.params.get("Role")
        if not isinstance(role, str):
            return
        trust = role_trust_policy(backends.ACCOUNT_ID, role)
        context = {"aws:SourceAccount": backends.ACCOUNT_ID}
        if trust is None or not trusts_service(trust, LAMBDA_SERVICE, context):
            raise InvalidParameterValueException(ROLE_NOT_ASSUMABLE)

    def _error(self, start_response, error: AwsError, protocol: str):
        headers, body = error.render(protocol)
        return self._reply(start_response, error.status, headers, body)

    def _moto(self, environ: dict, start_response, after_success=None):
        """moto's answer — or, where moto has no answer (an unimplemented operation makes it
        raise or reply with an HTML error page), AWS's modelled "unknown operation" error.
        ``after_success`` runs once moto has accepted the request."""
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        try:
            result = self.moto(environ, capture)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            captured, body = {}, b""
        refused = environ.get(dispatch.REFUSED_KEY)
        if refused is not None:  # moto read the request as another operation than the gate
            return self._error(start_response, refused, refused.protocol)
        status = captured.get("status", "500")
        if status.startswith("5") or (
            status.startswith("404") and body[:100].lower().lstrip().startswith(b"<!doctype html")
        ):
            return self._unsupported(environ, start_response)
        if after_success is not None and status.startswith("200"):
            after_success()
        # moto's CORS layer reflects any Origin; the local cloud serves no browser
        headers = [
            (name, value)
            for name, value in captured["headers"]
            if not name.lower().startswith(CORS_HEADERS)
        ]
        start_response(status, headers)
        return [body]

    def _unsupported(self, environ: dict, start_response):
        """The error AWS gives an operation it doesn't know, in the request's protocol."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service, _ = _scope(environ)
        path = environ.get("PATH_INFO", "")
        caller = environ.get("localcloud.caller")
        named = getattr(getattr(caller, "operation", None), "name", None)
        operation = (
            named
            or target.rpartition(".")[2]
            or parse_qs((_read_body(environ) or b"").decode("utf-8", "replace")).get(
                "Action", [f"{environ.get('REQUEST_METHOD')} {path}"]
            )[0]
        )
        message = (
            f"The local cloud does not emulate {service or 'this service'} {operation}. "
            "Run it against AWS (WORKBOOK_TARGET=aws)."
        )
        if target:
            error = AwsError("UnknownOperationException", message)
            return self._reply(
                start_response,
                400,
                {"Content-Type": "application/x-amz-json-1.1"},
                error.json_body(),
            )
        if path.startswith("/20"):  # restJson1 services such as Lambda
            error = AwsError("UnknownOperationException", message)
            return self._reply(
                start_response,
                400,
                {"Content-Type": "application/json", "X-Amzn-ErrorType": error.code},
                error.rest_json_body(),
            )
        if service in (None, "s3"):
            error = AwsError("NotImplemented", message)
            return self._reply(
                start_response, 400, {"Content-Type": "application/xml"}, error.s3_xml_body()
            )
        error = AwsError("InvalidAction", message)
        return self._reply(
            start_response, 400, {"Content-Type": "text/xml"}, error.query_xml_body()
        )

    def _install_cloudformation(self) -> None:
        """Patch moto's CloudFormation on first use: importing it takes ~2 s (it loads the
        models of every service a template can name), which start-up shouldn't pay."""
        with self._cloudformation_lock:
            if not self._cloudformation_ready:
                from . import cloudformation

                cloudformation.install()
                if self.persistence is not None:
                    self.persistence.restore_lazy("cloudformation")
                self._cloudformation_ready = True

    def health(self) -> dict:
        """What ``is_healthy`` and the notebooks' set-up check read: nothing secret."""
        return {
            "status": "ok",
            "cloudformationReady": self._cloudformation_ready,
            "pid": os.getpid(),
            "warmWorkers": self.runtime.warm_workers(),
            "pythonClient": self.runtime.python_client,
            "state": self.persistence.figures() if self.persistence is not None else None,
        }

    @staticmethod
    def _reply(start_response, status: int, headers: dict[str, str], body: bytes):
        headers = {**headers, "Content-Length": str(len(body))}
        start_response(status_line(status), list(headers.items()))
        return [body]

    def _codepipeline(self, environ: dict, start_response, operation: str, region: str):
        """CodePipeline: the engine answers every operation it emulates (declarations,
        executions, jobs, tags); any other gets AWS's "unknown operation" error."""
        if not self.codepipeline.handles(operation):
            return self._unsupported(environ, start_response)
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        try:
            result = self.codepipeline.dispatch(operation, region, _read_body(environ))
        except AwsError as error:
            return self._reply(start_response, error.status, headers, error.json_body())
        except Exception as error:  # an engine bug: say so, in JSON, never as an HTML page
            failure = AwsError(
                "InternalFailure", f"The local cloud failed on {operation}: {error!r}", 500
            )
            return self._reply(start_response, 500, headers, failure.json_body())
        return self._reply(start_response, 200, headers, json.dumps(result).encode())

    def _invoke(self, environ: dict, start_response, operation, region: str):
        body = _read_body(environ)
        headers = {
            "X-Amz-Invocation-Type": environ.get("HTTP_X_AMZ_INVOCATION_TYPE"),
            "X-Amz-Log-Type": environ.get("HTTP_X_AMZ_LOG_TYPE"),
        }
        try:
            status, out, payload = lambda_responses.handle_invoke(
                self.runtime,
                region,
                operation.params["FunctionName"],
                parse_qs(environ.get("QUERY_STRING", "")),
                headers,
                body,
            )
        except AwsError as error:
            status, out, payload = lambda_responses.error_response(error)
        return self._reply(start_response, status, out, payload)

    def close(self) -> None:
        """Stop the execution environments, then write what is still unsaved."""
        self.runtime.close()
        if self.persistence is not None:
            self.persistence.close()


# Connections: a keep-alive connection that sends nothing for IDLE_CONNECTION_S is closed (an
# SDK reconnects on its next call); at most MAX_CONNECTIONS are open at once, each with a
# thread. Past that, the connection idle the longest is closed to make room, and if none is
# idle the newcomer gets 503 (SDKs retry it), so idle sockets can never exhaust the threads.
IDLE_CONNECTION_S = float(os.environ.get("LOCALCLOUD_IDLE_CONNECTION_S") or 60)
MAX_CONNECTIONS = int(os.environ.get("LOCALCLOUD_MAX_CONNECTIONS") or 128)
BUSY = None
_FULL_BODY = b'{"message": "The local cloud has too many open connections: try again shortly."}'
FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Connection: close\r\nRetry-After: 1\r\n"
    + f"Content-Length: {len(_FULL_BODY)}\r\n\r\n".encode()
    + _FULL_BODY
)


class Connections:
    """The open connections, each busy (a request is being answered) or idle since when."""

    def __init__(self, limit: int = MAX_CONNECTIONS):
        self.limit = limit
        self._open: dict[socket.socket, float | None] = {}
        self._lock = threading.Lock()

    def admit(self, connection: socket.socket) -> bool:
        """Room for a new connection (closing the longest-idle one if need be), or False."""
        with self._lock:
            if len(self._open) >= self.limit:
                idle = [(since, c) for c, since in self._open.items() if since is not BUSY]
                if not idle:
                    return False
                _, oldest = min(idle, key=lambda pair: pair[0])
                del self._open[oldest]
                try:
                    oldest.shutdown(socket.SHUT_RDWR)  # its thread's read returns, and it ends
                except OSError:
                    pass
            self._open[connection] = time.monotonic()
            return True

    def busy(self, connection: socket.socket) -> None:
        with self._lock:
            if connection in self._open:
                self._open[connection] = BUSY

    def idle(self, connection: socket.socket) -> None:
        with self._lock:
            if connection in self._open:
                self._open[connection] = time.monotonic()

    def closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.pop(connection, None)

    def count(self) -> int:
        with self._lock:
            return len(self._open)


class _RequestHandler(MotoRequestHandler):
    """moto's request handler, quiet, with TCP_NODELAY (no Nagle delay on small replies) and
    a bound on how long a connection may sit idle."""

    timeout = IDLE_CONNECTION_S  # socketserver applies it to the connection's socket
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        self.server.connections.busy(self.connection)
        try:
            super().run_wsgi()
        finally:
            self.server.connections.idle(self.connection)

    def log_request(self, *args, **kwargs) -> None:
        pass


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, with its connections counted and bounded."""

    daemon_threads = True

    def __init__(self, port: int, app):
        self.connections = Connections()
        super().__init__("127.0.0.1", port, app, _RequestHandler)

    def process_request(self, request, client_address) -> None:
        if not self.connections.admit(request):
            try:
                request.sendall(FULL)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def close_request(self, request) -> None:
        self.connections.closed(request)
        super().close_request(request)


def serve(
    port: int,
    job_timeout_s: float = 60.0,
    ready=None,
    python_client: str | None = None,
    state_dir: str | None = None,
    enforce_iam: bool = True,
    idle_timeout_s: float | None = None,
    persist: bool = True,
    poll_interval_s: float | None = None,
) -> None:
    """Serve every API on 127.0.0.1:port until interrupted."""
    endpoint = f"http://127.0.0.1:{port}"
    app = LocalCloudApp(
        endpoint,
        job_timeout_s,
        state_dir=state_dir,
        python_client=python_client,
        enforce_iam=enforce_iam,
        idle_timeout_s=idle_timeout_s,
        persist=persist,
        poll_interval_s=poll_interval_s,
    )
    server = _Server(port, app)
    if ready is not None:
        ready(endpoint)
    # Pay moto's slow CloudFormation import now, in the background, rather than in the middle
    # of a learner's first stack deployment.
    threading.Thread(target=app._install_cloudformation, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        app.close()
        server.server_close()
