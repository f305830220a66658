"""Tests for helpers/functions/health_check.py, the health-check Lambda function.

Pages come from a loopback HTTP server run by each test. moto doesn't implement CodePipeline's
PutJobSuccessResult and PutJobFailureResult, so a botocore ``before-call`` handler on the
function's client records them: botocore has already validated and serialized the parameters
against the service model when ``before-call`` fires, and the first handler response is used
instead of sending the request (botocore.client.BaseClient._make_api_call).
"""

import ast
import contextlib
import copy
import datetime
import json
import socket
import ssl
import sys
import threading
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

import health_check  # noqa: E402 - from the deployment package's root (tests/conftest.py)
import page_fetch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EVENT_FILE = ROOT / "data" / "events" / "codepipeline_job_event.json"
FUNCTION_FILE = ROOT / "helpers" / "functions" / "health_check.py"
EVENT = json.loads(EVENT_FILE.read_text(encoding="utf-8"))
JOB_ID = EVENT["CodePipeline.job"]["id"]
CREDENTIALS = EVENT["CodePipeline.job"]["data"]["artifactCredentials"]
REQUEST_ID = "3f2c9a1e-0b7d-4c55-9e8a-7d1f0c2b4a66"
PAGE = b"<html><body><h1>Congratulations</h1><p>You deployed it.</p></body></html>"
MIB = 1024 * 1024


# --- Lambda event and context -------------------------------------------------------------


def job_event(user_parameters: str | None) -> dict[str, Any]:
    """The example job event with UserParameters set (None removes the key)."""
    event = copy.deepcopy(EVENT)
    configuration = event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]
    if user_parameters is None:
        del configuration["UserParameters"]
    else:
        configuration["UserParameters"] = user_parameters
    return event


class LambdaContext:
    """The parts of Lambda's context object the function uses; the clock really runs down."""

    function_name = "MyLambdaFunctionForAWSCodePipeline"
    aws_request_id = REQUEST_ID

    def __init__(self, remaining_ms: int = 20_000) -> None:
        self.deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


# --- CodePipeline results -----------------------------------------------------------------


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the call was made


class JobResults:
    """Records PutJobSuccessResult / PutJobFailureResult as sent by the function's client."""

    def __init__(self, client: Any) -> None:
        self.calls: list[Call] = []
        self.answer_with_error = False
        self.raise_error = False
        for operation in ("PutJobSuccessResult", "PutJobFailureResult"):
            client.meta.events.register(f"before-call.codepipeline.{operation}", self._record)

    def _record(self, model: Any, params: dict[str, Any], **kwargs: Any) -> tuple[Any, dict]:
        # params is the serialized request; its JSON body is exactly what AWS would receive.
        self.calls.append(Call(model.name, json.loads(params["body"]), time.monotonic()))
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
        if self.raise_error:
            raise ClientError(error, model.name)
        if self.answer_with_error:
            return AWSResponse(params["url"], 400, {}, None), {**error, "ResponseMetadata": {}}
        return AWSResponse(params["url"], 200, {}, None), {"ResponseMetadata": {}}

    def only(self) -> Call:
        assert len(self.calls) == 1, self.calls
        assert self.calls[0].params["jobId"] == JOB_ID
        return self.calls[0]

    def success_summary(self) -> str:
        call = self.only()
        assert call.operation == "PutJobSuccessResult", call
        return call.params["executionDetails"]["summary"]

    def failure(self, failure_type: str = "JobFailed") -> str:
        """The failure message, after checking type and externalExecutionId."""
        call = self.only()
        assert call.operation == "PutJobFailureResult", call
        details = call.params["failureDetails"]
        assert details["type"] == failure_type, details
        assert details["externalExecutionId"] == REQUEST_ID
        assert 0 < len(details["message"]) <= 5000
        return details["message"]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials in us-east-1; no endpoint override, profile, config file or proxy."""
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_CODEPIPELINE",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_CA_BUNDLE",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def results() -> Iterator[JobResults]:
    """The function's CodePipeline client, created inside moto's mock, with calls recorded."""
    with mock_aws():
        health_check._codepipeline.cache_clear()
        page_fetch._tls_context.cache_clear()
        yield JobResults(health_check._codepipeline())
    health_check._codepipeline.cache_clear()
    page_fetch._tls_context.cache_clear()


# --- A loopback web site ------------------------------------------------------------------

Body = bytes | Callable[[threading.Event], Iterable[bytes]]


@dataclass
class Page:
    status: int = 200
    body: Body = PAGE  # bytes, or a generator function streaming chunks (gets the stop event)
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"}
    )
    delay: float = 0.0  # seconds before the status line


class Site:
    """What the loopback server serves, and what it saw."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.pages: dict[str, Page] = {}
        self.requests: list[str] = []
        self.bytes_sent = 0
        self.finished = threading.Event()  # set when a response ended (sent or cut off)
        self.stop = threading.Event()  # set at teardown: ends delays and streams

    def serve(self, path: str = "/", **page: Any) -> str:
        """Serve a Page at path; returns its URL."""
        self.pages[path] = Page(**page)
        return self.url(path)

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


class PageHandler(BaseHTTPRequestHandler):
    """Answers GET with the Site's page for the path (404 when none)."""

    server: Any

    def do_GET(self) -> None:
        site: Site = self.server.site
        site.requests.append(self.path)
        page = site.pages.get(self.path, Page(status=404, body=b"no such page"))
        if page.delay and site.stop.wait(page.delay):
            return
        self.send_response(page.status)
        headers = dict(page.headers)
        if isinstance(page.body, bytes):
            headers.setdefault("Content-Length", str(len(page.body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        chunks = [page.body] if isinstance(page.body, bytes) else page.body(site.stop)
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                site.bytes_sent += len(chunk)
        except OSError:
            pass  # the client stopped reading
        finally:
            site.finished.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[Site]:
    """Run server in a thread with a Site of its own; stop it, and any slow answer, on exit."""
    site = Site(server.server_address[1])
    server.site = site  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def site() -> Iterator[Site]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)) as site:
        yield site


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL urllib is asked to open (redirects included); file/ftp/data openers blocked."""
    urls: list[str] = []
    original = urllib.request.OpenerDirector.open

    def spy(self: Any, fullurl: Any, *args: Any, **kwargs: Any) -> Any:
        urls.append(fullurl if isinstance(fullurl, str) else fullurl.full_url)
        return original(self, fullurl, *args, **kwargs)

    def blocked(self: Any, req: Any) -> Any:
        urls.append(f"OPENED {req.full_url}")
        raise urllib.error.URLError("blocked by the test")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", spy)
    monkeypatch.setattr(urllib.request.FileHandler, "file_open", blocked)
    monkeypatch.setattr(urllib.request.FTPHandler, "ftp_open", blocked)
    monkeypatch.setattr(urllib.request.DataHandler, "data_open", blocked)
    return urls


def run(user_parameters: str | None, context: LambdaContext | None = None) -> dict[str, Any]:
    return health_check.lambda_handler(job_event(user_parameters), context or LambdaContext())


# --- The module -----------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["health_check.py", "page_fetch.py"])
def test_module_imports_only_what_the_lambda_runtime_provides(module: str) -> None:
    """The standard library, boto3 (in every Python runtime) and the package's own modules."""
    tree = ast.parse((FUNCTION_FILE.parent / module).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for alias in n.names
    }
    imported |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert all(n.level == 0 for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert imported - set(sys.stdlib_module_names) <= {"boto3", "page_fetch"}


def test_client_is_created_once_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    health_check._codepipeline.cache_clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    try:
        client = health_check._codepipeline()
        assert health_check._codepipeline() is client
        assert client.meta.region_name == "us-east-1"
        assert client.meta.endpoint_url == "http://localhost:4566"
    finally:
        health_check._codepipeline.cache_clear()


@pytest.mark.parametrize(
    ("remaining_ms", "timeout"),
    [
        (900_000, 897.0),  # Lambda's maximum: all but the 3 s margin
        (20_000, 17.0),  # the page's 20 s timeout
        (3_500, 0.875),  # little left: a quarter of it
        (3_000, 0.75),  # Lambda's default 3 s timeout
        (0, 0.1),  # nothing left: still a usable socket timeout
    ],
)
def test_request_timeout_leaves_time_to_report(remaining_ms: int, timeout: float) -> None:
    assert page_fetch.request_timeout(remaining_ms) == pytest.approx(timeout)


# --- Success and failure of the check -------------------------------------------------------


def test_page_with_congratulations_succeeds(
    site: Site, results: JobResults, capsys: pytest.CaptureFixture[str]
) -> None:
    url = site.serve("/")
    outcome = run(url)
    summary = results.success_summary()
    assert summary.startswith(f"{url}: HTTP 200, found 'Congratulations' (")
    assert summary.endswith(" ms)")
    assert outcome == {"jobId": JOB_ID, "outcome": "succeeded", "summary": summary}
    assert site.requests == ["/"]
    log = capsys.readouterr().out
    for expected in (JOB_ID, url, "HTTP 200", "succeeded", "success reported"):
        assert expected in log


@pytest.mark.parametrize(
    ("parameters", "body", "passes"),
    [
        ({"expect": "Hello, pipeline"}, b"<p>Hello, pipeline</p>", True),
        ({"expect": "Version 2"}, b"<p>Version 1</p>", False),
        ({}, PAGE, True),  # JSON with only a URL looks for Congratulations
        ({}, b"<p>Hello, pipeline</p>", False),
    ],
)
def test_json_user_parameters_choose_the_text(
    site: Site, results: JobResults, parameters: dict[str, str], body: bytes, passes: bool
) -> None:
    url = site.serve("/app", body=body)
    run(json.dumps({"url": url, **parameters}))
    expect = parameters.get("expect", "Congratulations")
    if passes:
        assert f"found {expect!r}" in results.success_summary()
    else:
        message = results.failure()
        assert f"{url}: HTTP 200, but the page does not contain {expect!r}" in message


def test_missing_text_names_url_status_and_text(
    site: Site, results: JobResults, capsys: pytest.CaptureFixture[str]
) -> None:
    url = site.serve("/", body=b"<h1>Welcome to nginx!</h1>")
    outcome = run(url)
    message = results.failure("JobFailed")
    assert message.startswith(f"{url}: HTTP 200, but the page does not contain 'Congratulations'")
    assert outcome["outcome"] == "failed" and outcome["message"] == message
    assert "failure reported" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (404, "HTTP 404 Not Found"),
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
        (403, "HTTP 403 Forbidden"),
        (302, "HTTP 302 Found"),  # a redirect without Location cannot be followed
        (201, "HTTP 201 Created"),  # 2xx but not 200
    ],
)
def test_status_other_than_200_fails_naming_it(
    site: Site, results: JobResults, status: int, phrase: str
) -> None:
    url = site.serve("/", status=status, body=b"<h1>Congratulations</h1>")
    run(url)
    message = results.failure()
    assert message.startswith(f"{url}: {phrase}")
    assert "expected 200" in message


def test_status_without_body_fails(site: Site, results: JobResults) -> None:
    url = site.serve("/", status=204, body=b"")
    run(url)
    assert results.failure().startswith(f"{url}: HTTP 204 No Content, expected 200")


# --- URLs and UserParameters refused without opening anything -------------------------------


@pytest.mark.parametrize(
    ("user_parameters", "reason"),
    [
        ("file:///etc/passwd", "'file:///etc/passwd' uses the file: scheme"),
        ("ftp://127.0.0.1:{port}/", "uses the ftp: scheme"),
        ("javascript:alert(1)", "uses the javascript: scheme"),
        ("gopher://127.0.0.1:{port}/", "uses the gopher: scheme"),
        ("127.0.0.1:{port}/", "has no scheme"),
        ("www.example.com", "has no scheme: write it as http://www.example.com"),
        ("localhost:{port}", "has no scheme: write it as http://localhost:"),
        ("example.com:80/index.html", "has no scheme"),
        ("http://", "has no host name"),
        ("http://127.0.0.1:port/", "is not a valid URL"),
        ("http://127.0.0.1:{port}/a page", "contains spaces"),
        ("not a url", "'not a url' contains spaces"),  # no "write it as http://not a url"
        ("", "UserParameters is empty"),
        ("   ", "UserParameters is empty"),
        (None, "UserParameters is empty"),
        ('{"url": "http://127.0.0.1:{port}/"', "looks like JSON but is not valid JSON"),
        ("{url: http://127.0.0.1:{port}/}", "looks like JSON but is not valid JSON"),
        ('["http://127.0.0.1:{port}/"]', "must be an object"),
        ('{"expect": "Congratulations"}', 'needs a "url" string'),
        ('{"url": 8080}', 'needs a "url" string'),
        ('{"url": "http://127.0.0.1:{port}/", "expect": 5}', "must be a non-empty string"),
        ('{"url": "http://127.0.0.1:{port}/", "expect": ""}', "must be a non-empty string"),
        ('{"url": "http://127.0.0.1:{port}/", "expected": "Hi"}', "unknown key(s) 'expected'"),
        ('{"url": "file:///etc/passwd"}', "uses the file: scheme"),
    ],
)
def test_bad_user_parameters_are_refused_without_opening(
    site: Site,
    results: JobResults,
    opened: list[str],
    user_parameters: str | None,
    reason: str,
) -> None:
    site.serve("/")
    if user_parameters is not None:
        user_parameters = user_parameters.replace("{port}", str(site.port))
    run(user_parameters)
    message = results.failure("ConfigurationError")
    assert reason in message
    assert opened == []
    assert site.requests == []


def test_https_url_is_accepted_and_attempted(results: JobResults, opened: list[str]) -> None:
    # A plain TCP server answers the TLS handshake with plain HTTP, so TLS fails.
    with socket.create_server(("127.0.0.1", 0)) as server:
        url = f"https://127.0.0.1:{server.getsockname()[1]}/"

        def answer_in_plain_text() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)  # the ClientHello
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                conn.shutdown(socket.SHUT_WR)
                with contextlib.suppress(OSError):  # the client hangs up after its TLS alert
                    conn.recv(4096)

        thread = threading.Thread(target=answer_in_plain_text, daemon=True)
        thread.start()
        run(url, LambdaContext(remaining_ms=5_000))
        thread.join(timeout=5)
    message = results.failure("JobFailed")
    assert opened == [url]
    assert message.startswith(f"{url}: the TLS/SSL connection failed")
    assert "only http:// and https://" not in message


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[Site, Path]]:
    """The loopback site over HTTPS with a fresh self-signed certificate for localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server) as site:
        yield site, cert_file


def test_https_site_with_trusted_certificate_succeeds(
    tls_site: tuple[Site, Path], results: JobResults, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, cert_file = tls_site
    url = site.serve("/").replace("http://127.0.0.1", "https://localhost")
    default_context = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda: default_context(cafile=cert_file))
    run(url)
    assert results.success_summary().startswith(f"{url}: HTTP 200, found 'Congratulations'")
    assert site.requests == ["/"]


def test_https_site_with_untrusted_certificate_fails(
    tls_site: tuple[Site, Path], results: JobResults
) -> None:
    site, _ = tls_site
    url = site.serve("/").replace("http://127.0.0.1", "https://localhost")
    run(url)
    message = results.failure()
    assert message.startswith(f"{url}: the TLS/SSL connection failed")
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert site.requests == []


# --- Slow, dead, huge --------------------------------------------------------------------------


def test_slow_site_fails_with_timeout_before_the_function_would(
    site: Site, results: JobResults
) -> None:
    url = site.serve("/", delay=10)
    context = LambdaContext(remaining_ms=3_500)  # request timeout 0.875 s
    started = time.monotonic()
    run(url, context)
    elapsed = time.monotonic() - started
    message = results.failure()
    assert message.startswith(f"{url}: timed out: no complete answer within 0.9 s")
    assert "timeout" in message
    assert 0.8 < elapsed < 2.5
    assert results.calls[0].at < context.deadline - 1


def stalls(stop: threading.Event) -> Iterator[bytes]:
    """Part of a page, then nothing."""
    yield b"<html><body>" + b"<p>loading</p>" * 100
    stop.wait(10)
    yield b"Congratulations"


def drips(stop: threading.Event) -> Iterator[bytes]:
    """A page arriving a few bytes every 0.2 s: each read is quick, the whole is not."""
    for _ in range(50):
        yield b"<p>..."
        if stop.wait(0.2):
            return
    yield b"Congratulations"


@pytest.mark.parametrize("body", [stalls, drips])
def test_site_slow_in_the_middle_of_the_page_fails_in_time(
    site: Site, results: JobResults, body: Callable[[threading.Event], Iterable[bytes]]
) -> None:
    url = site.serve("/", body=body, headers={"Content-Type": "text/html"})
    context = LambdaContext(remaining_ms=3_500)  # request timeout 0.875 s, for the whole page
    started = time.monotonic()
    run(url, context)
    assert time.monotonic() - started < 1.5
    assert results.failure().startswith(f"{url}: timed out")
    assert results.calls[0].at < context.deadline - 1


def test_connection_refused_fails(results: JobResults) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/"
    run(url)
    message = results.failure()
    assert message.startswith(f"{url}: could not connect (")
    assert "refused" in message.lower()


def test_huge_page_is_read_only_up_to_the_cap(site: Site, results: JobResults) -> None:
    chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>"
    size = 64 * MIB

    def huge(stop: threading.Event) -> Iterator[bytes]:
        for _ in range(size // len(chunk)):
            if stop.is_set():
                return
            yield chunk

    url = site.serve("/", body=huge, headers={"Content-Length": str(size)})
    tracemalloc.start()
    try:
        run(url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = results.failure()
    assert message.startswith(
        f"{url}: HTTP 200, but 'Congratulations' is not in the first 5 MiB of the page"
    )
    assert "capped" in message
    assert peak < 20 * MIB
    assert site.finished.wait(10)
    assert site.bytes_sent < size  # the function stopped reading; the rest was never sent


# --- Encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expect"),
    [
        ("<h1>Congratulations</h1>".encode("utf-16"), "text/html; charset=utf-16", None),
        ("<h1>Congratulations</h1>".encode("utf-16"), "text/html", None),  # BOM only
        ("\ufeff<h1>Congratulations</h1>".encode("utf-16-be"), "text/html", None),
        (
            "<h1>Félicitations</h1>".encode("latin-1"),
            "text/html; charset=ISO-8859-1",
            "Félicitations",
        ),
        ("<h1>Congratulations</h1>".encode("latin-1"), "text/html; charset=latin-1", None),
        ("<h1>Grüße</h1>".encode("cp1252"), "text/html; charset=windows-1252", "Grüße"),
        ("\ufeff<h1>Félicitations</h1>".encode(), "text/html", "Félicitations"),
        ("<h1>Félicitations</h1>".encode(), "text/html", "Félicitations"),  # UTF-8 by default
        (b"<h1>Congratulations</h1>", "text/html; charset=no-such-charset", None),
    ],
    ids=[
        "utf-16-declared",
        "utf-16le-bom-only",
        "utf-16be-bom-only",
        "latin-1-accented",
        "latin-1-ascii",
        "windows-1252",
        "utf-8-bom",
        "utf-8-undeclared",
        "unknown-charset",
    ],
)
def test_pages_in_any_encoding_are_decoded(
    site: Site, results: JobResults, body: bytes, content_type: str, expect: str | None
) -> None:
    url = site.serve("/", body=body, headers={"Content-Type": content_type})
    run(json.dumps({"url": url, "expect": expect}) if expect else url)
    assert f"found {expect or 'Congratulations'!r}" in results.success_summary()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_text_split_between_two_reads_is_found(
    site: Site, results: JobResults, encoding: str
) -> None:
    body = ("<p>" + "filler " * 3000 + "Congratulations</p>").encode(encoding)
    split = body.index("Congratulations".encode(encoding)[2:]) + 7  # odd: mid-character in UTF-16

    def in_two_parts(stop: threading.Event) -> Iterator[bytes]:
        yield body[:split]
        stop.wait(0.2)
        yield body[split:]

    url = site.serve(
        "/", body=in_two_parts, headers={"Content-Type": f"text/html; charset={encoding}"}
    )
    run(url)
    assert "found 'Congratulations'" in results.success_summary()


# --- Redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1:{port}/", "data:,hi"])
def test_redirect_to_other_scheme_is_not_followed(
    site: Site, results: JobResults, opened: list[str], target: str
) -> None:
    target = target.replace("{port}", str(site.port))
    url = site.serve("/", status=301, headers={"Location": target}, body=b"")
    run(url)
    message = results.failure()
    assert message.startswith(f"{url}: HTTP 301 Moved Permanently, a redirect to {target!r}")
    assert "not followed" in message
    assert opened == [url]
    assert site.requests == ["/"]
    assert "root:" not in message


def test_redirect_to_http_is_followed(site: Site, results: JobResults, opened: list[str]) -> None:
    url = site.serve("/old", status=302, headers={"Location": "/new"}, body=b"")
    site.serve("/new")
    run(url)
    assert results.success_summary().startswith(f"{url}: HTTP 200, found 'Congratulations'")
    assert opened == [url, site.url("/new")]
    assert site.requests == ["/old", "/new"]


# --- Limits on what is reported ---------------------------------------------------------------


def test_failure_message_is_capped_at_5000_characters(site: Site, results: JobResults) -> None:
    url = site.url("/" + "a" * 6000)  # not served: 404, and the message quotes the URL
    outcome = run(url)
    message = results.failure()
    assert len(message) == 5000
    assert message.startswith(url[:100])
    assert message.endswith("\u2026")
    assert outcome["message"].startswith(url)  # the untruncated message


def test_success_summary_is_capped_at_2048_characters(site: Site, results: JobResults) -> None:
    url = site.serve("/" + "b" * 3000)
    run(url)
    summary = results.success_summary()
    assert len(summary) == 2048
    assert summary.startswith(url[:100])


# --- Errors ---------------------------------------------------------------------------------


def test_unexpected_error_is_reported_as_failure(
    site: Site,
    results: JobResults,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(url: str, expect: str, timeout: float) -> str:
        raise RuntimeError("something broke")

    monkeypatch.setattr(page_fetch, "check_page", broken)
    outcome = run(site.serve("/"))
    message = results.failure("JobFailed")
    assert message == "The health check function failed unexpectedly: RuntimeError: something broke"
    assert outcome["outcome"] == "failed"
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("how", ["error response", "raised"])
@pytest.mark.parametrize(("body", "operation"), [(PAGE, "Success"), (b"nothing", "Failure")])
def test_failure_to_report_is_logged_and_raised(
    site: Site,
    results: JobResults,
    capsys: pytest.CaptureFixture[str],
    how: str,
    body: bytes,
    operation: str,
) -> None:
    results.answer_with_error = how == "error response"
    results.raise_error = how == "raised"
    url = site.serve("/", body=body)
    with pytest.raises(ClientError) as raised:
        run(url)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert results.only().operation == f"PutJob{operation}Result"
    log = capsys.readouterr().out
    assert f"could not report {operation.lower()} to CodePipeline" in log
    assert f"codepipeline:PutJob{operation}Result" in log


def test_event_without_a_job_is_an_error_not_a_report(results: JobResults) -> None:
    with pytest.raises(KeyError):
        health_check.lambda_handler({"Records": []}, LambdaContext())
    assert results.calls == []


def test_artifact_credentials_are_never_logged(
    site: Site,
    results: JobResults,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(site.serve("/"))  # success
    run(site.serve("/missing", body=b"nothing"))  # check failed
    run("file:///etc/passwd")  # configuration error
    monkeypatch.setattr(page_fetch, "check_page", lambda *args: 1 / 0)
    run(site.url("/"))  # unexpected error
    assert [call.operation for call in results.calls] == [
        "PutJobSuccessResult",
        "PutJobFailureResult",
        "PutJobFailureResult",
        "PutJobFailureResult",
    ]
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert JOB_ID in logs
    for secret in CREDENTIALS.values():
        assert secret not in logs
