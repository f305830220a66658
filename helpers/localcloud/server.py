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
import threading
from urllib.parse import parse_qs, unquote

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from . import s3public
from .awslambda import responses as lambda_responses
from .awslambda.runtime import LambdaRuntime
from .codepipeline.models import PipelineEngine
from .codepipeline.responses import OWNED, CodePipelineResponses, parse
from .errors import AwsError, status_line

CODEPIPELINE_TARGET = "CodePipeline_20150709."
HEALTH_PATH = "/_localcloud/health"
DEFAULT_REGION = "us-east-1"


class _Engines:
    """One PipelineEngine per region, created on first use."""

    def __init__(self, runtime: LambdaRuntime, job_timeout_s: float):
        self._runtime, self._timeout = runtime, job_timeout_s
        self._engines: dict[str, PipelineEngine] = {}
        self._lock = threading.Lock()

    def __call__(self, region: str) -> PipelineEngine:
        with self._lock:
            if region not in self._engines:
                self._engines[region] = PipelineEngine(region, self._runtime, self._timeout)
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


def _read_body(environ: dict) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)  # moto may still read it
    return body


class LocalCloudApp:
    """The WSGI application of the local cloud."""

    def __init__(self, endpoint: str, job_timeout_s: float = 60.0, state_dir: str | None = None):
        self._cloudformation_lock = threading.Lock()
        self._cloudformation_ready = False
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.runtime = LambdaRuntime(endpoint, state_dir)
        self.engines = _Engines(self.runtime, job_timeout_s)
        self.codepipeline = CodePipelineResponses(self.engines)

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path == HEALTH_PATH:
                return self._reply(start_response, 200, {}, json.dumps(self.health()).encode())
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith(CODEPIPELINE_TARGET):
                return self._codepipeline(environ, start_response, target)
            service, region = _scope(environ)
            if service == "cloudformation" and not self._cloudformation_ready:
                self._install_cloudformation()
            if service == "s3" and method == "PUT":
                bucket, key = s3public.split_path(path)
                query = environ.get("QUERY_STRING", "")
                if bucket and not key and not query:  # CreateBucket
                    return self._moto(
                        environ, start_response, lambda: s3public.block_public_access(bucket)
                    )
                if bucket and not key and query.split("&")[0] in ("policy", "policy="):
                    refused = s3public.policy_refused(bucket, _read_body(environ))
                    if refused:
                        body = AwsError("AccessDenied", refused, 403).s3_xml_body()
                        return self._reply(
                            start_response, 403, {"Content-Type": "application/xml"}, body
                        )
            invoke = lambda_responses.INVOKE_PATH.match(path)
            if invoke and method == "POST" and service in ("lambda", None):
                return self._invoke(environ, start_response, invoke.group("name"), region)
            if method in ("GET", "HEAD") and service is None and s3public.is_anonymous(environ):
                denied = self._anonymous_s3(path)
                if denied is not None:
                    return self._reply(
                        start_response, 403, {"Content-Type": "application/xml"}, denied
                    )
        except AwsError as error:
            return self._reply(
                start_response,
                error.status,
                {"Content-Type": "application/x-amz-json-1.1"},
                error.json_body(),
            )
        return self._moto(environ, start_response)

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
        status = captured.get("status", "500")
        if status.startswith("5") or (
            status.startswith("404") and body[:100].lower().lstrip().startswith(b"<!doctype html")
        ):
            return self._unsupported(environ, start_response)
        if after_success is not None and status.startswith("200"):
            after_success()
        start_response(status, captured["headers"])
        return [body]

    def _unsupported(self, environ: dict, start_response):
        """The error AWS gives an operation it doesn't know, in the request's protocol."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service, _ = _scope(environ)
        path = environ.get("PATH_INFO", "")
        operation = (
            target.rpartition(".")[2]
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
                self._cloudformation_ready = True

    def health(self) -> dict:
        return {"status": "ok", "pid": os.getpid(), "warmWorkers": self.runtime.warm_workers()}

    @staticmethod
    def _reply(start_response, status: int, headers: dict[str, str], body: bytes):
        headers = {**headers, "Content-Length": str(len(body))}
        start_response(status_line(status), list(headers.items()))
        return [body]

    def _codepipeline(self, environ: dict, start_response, target: str):
        operation = target[len(CODEPIPELINE_TARGET) :]
        _, region = _scope(environ)
        body = _read_body(environ)
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        if operation in OWNED:
            try:
                result = self.codepipeline.dispatch(operation, region, parse(body))
            except AwsError as error:
                return self._reply(start_response, error.status, headers, error.json_body())
            return self._reply(start_response, 200, headers, json.dumps(result).encode())
        if operation in ("CreatePipeline", "DeletePipeline"):
            # Let moto store (or drop) the declaration, then do what AWS does next.
            params = json.loads(body or b"{}")
            engine = self.engines(region)
            if operation == "CreatePipeline":
                # AWS starts a pipeline once when it is created.
                def after() -> None:
                    engine.start(params["pipeline"]["name"], trigger_type="CreatePipeline")
            else:

                def after() -> None:
                    engine.forget(params["name"])

            return self._moto(environ, start_response, after)
        return self._moto(environ, start_response)

    def _invoke(self, environ: dict, start_response, name: str, region: str):
        body = _read_body(environ)
        headers = {
            "X-Amz-Invocation-Type": environ.get("HTTP_X_AMZ_INVOCATION_TYPE"),
            "X-Amz-Log-Type": environ.get("HTTP_X_AMZ_LOG_TYPE"),
        }
        try:
            status, out, payload = lambda_responses.handle_invoke(
                self.runtime,
                region,
                unquote(name),
                parse_qs(environ.get("QUERY_STRING", "")),
                headers,
                body,
            )
        except AwsError as error:
            status, out, payload = lambda_responses.error_response(error)
        return self._reply(start_response, status, out, payload)

    @staticmethod
    def _anonymous_s3(path: str) -> bytes | None:
        """None if moto may answer; else AWS's AccessDenied body."""
        bucket, key = s3public.split_path(path)
        if not bucket or not key:
            return AwsError("AccessDenied", "Access Denied", 403).s3_xml_body()
        if s3public.anonymous_read_allowed(bucket, key):
            return None
        return AwsError("AccessDenied", "Access Denied", 403).s3_xml_body()

    def close(self) -> None:
        self.runtime.close()


class _RequestHandler(MotoRequestHandler):
    """moto's request handler, quiet, with TCP_NODELAY (no Nagle delay on small replies)."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args, **kwargs) -> None:
        pass


def serve(port: int, job_timeout_s: float = 60.0, ready=None) -> None:
    """Serve every API on 127.0.0.1:port until interrupted."""
    endpoint = f"http://127.0.0.1:{port}"
    app = LocalCloudApp(endpoint, job_timeout_s)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_RequestHandler)
    server.daemon_threads = True
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
