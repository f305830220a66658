"""Fetching a page the way a health check must: bounded in time, size and scheme.

The second module of the health check's deployment package (health_check.py is the first and
the one to read: parse the job, check the page, report). The page's Node.js sample simply
called http.get(url); a check that runs in a pipeline needs more care, and all of it is here:

- only http:// and https:// URLs are opened (file://, ftp://, javascript: are refused unopened),
  and redirects are followed only to http(s) URLs;
- the request must finish by a deadline taken from the function's remaining time, minus a margin
  for reporting, so a slow or dead site ends in a reported failure, not a silent Lambda timeout;
- the body is read in chunks, stopping once the text is found or MAX_BODY_BYTES were read, and
  decoded with the page's charset (UTF-16, Latin-1, ...) instead of assuming UTF-8;
- every outcome is a summary or a CheckFailure whose message names the URL, the HTTP status and
  the missing text, and whose class name is CodePipeline's failure type.
"""

import codecs
import functools
import http.client
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, NamedTuple

ALLOWED_SCHEMES = ("http", "https")
REPORT_MARGIN_SECONDS = 3.0  # time kept back to report the result to CodePipeline
MIN_TIMEOUT_SECONDS = 0.1
MAX_BODY_BYTES = 5 * 1024 * 1024  # stop reading a page after 5 MiB
CHUNK_BYTES = 64 * 1024
USER_AGENT = "codepipeline-lambda-health-check"


class CheckFailure(Exception):
    """A check that did not pass; the subclass name is the CodePipeline failure type."""


class ConfigurationError(CheckFailure):
    """UserParameters cannot be used: the pipeline action, not the site, needs fixing."""


class JobFailed(CheckFailure):
    """The site was checked and did not pass."""


def validate_url(url: str) -> str:
    """Return url if it is an http(s) URL with a host; refuse anything else without opening it."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ConfigurationError(f"{url!r} is not a valid URL ({exc}).") from None
    if any(ch.isspace() or not ch.isprintable() for ch in url):  # before the scheme's hint
        raise ConfigurationError(f"{url!r} contains spaces or control characters.")
    scheme = parts.scheme.lower()
    host_and_port = "://" not in url and url.partition(":")[2].partition("/")[0].isdigit()
    if not scheme or host_and_port:  # "localhost:8080" parses as scheme "localhost"
        raise ConfigurationError(
            f"{url!r} has no scheme: write it as http://{url} or https://{url}."
        )
    if scheme not in ALLOWED_SCHEMES:
        raise ConfigurationError(
            f"{url!r} uses the {scheme}: scheme; only http:// and https:// URLs are checked, "
            "others are refused without being opened."
        )
    if not parts.hostname:
        raise ConfigurationError(f"{url!r} has no host name.")
    return url


def request_timeout(remaining_ms: int) -> float:
    """Seconds the check may take: what the function has left, minus time to report the result.

    Keeps REPORT_MARGIN_SECONDS back, or three quarters of the time when little is left
    (with Lambda's default 3 s timeout the check gets 0.75 s; with the page's 20 s, 17 s).
    """
    remaining = max(remaining_ms, 0) / 1000
    return max(remaining - REPORT_MARGIN_SECONDS, remaining / 4, MIN_TIMEOUT_SECONDS)


def _seconds_left(deadline: float) -> float:
    """Time until deadline (time.monotonic()), raising TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("time limit reached")
    return left


class _DeadlineConnectionMixin:
    """Gives every socket wait of an http.client connection only the time left until deadline.

    A plain socket timeout applies to each wait separately, so a server that answers slowly,
    a little at a time, could otherwise outlast the function.
    """

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        self.timeout = _seconds_left(self.deadline)
        super().connect()

    def getresponse(self) -> http.client.HTTPResponse:
        sock = self.sock
        sock.settimeout(_seconds_left(self.deadline))
        response = super().getresponse()
        # urllib drops the connection's socket once the response owns it; keep it so that
        # each read of the body can be given only the time left.
        response.deadline_sock = sock
        return response


class _DeadlineHTTPConnection(_DeadlineConnectionMixin, http.client.HTTPConnection):
    """http:// connection bounded by a deadline."""


class _DeadlineHTTPSConnection(_DeadlineConnectionMixin, http.client.HTTPSConnection):
    """https:// connection bounded by a deadline."""


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    """urllib handler opening http:// URLs with deadline-bounded connections."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_DeadlineHTTPConnection, deadline=self.deadline)
        return self.do_open(connection, req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    """urllib handler opening https:// URLs with deadline-bounded, certificate-checked TLS."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_DeadlineHTTPSConnection, deadline=self.deadline)
        return self.do_open(connection, req, context=_tls_context())


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built on the first https check and reused while the environment stays warm: loading the
    CA certificates takes tens of milliseconds, longer than a whole warm check of a fast page."""
    return ssl.create_default_context()


class _HttpOnlyRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only (urllib itself would also follow ftp://)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ALLOWED_SCHEMES:
            return None  # urllib then raises HTTPError with the redirect's status
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(deadline: float) -> urllib.request.OpenerDirector:
    """A urllib opener for http(s) only: it has no file://, ftp:// or data: handlers at all."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        _DeadlineHTTPHandler(deadline),
        _DeadlineHTTPSHandler(deadline),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpOnlyRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


class _BodyScan(NamedTuple):
    """What reading the body found."""

    found: bool
    bytes_read: int
    charset: str
    capped: bool  # stopped at MAX_BODY_BYTES before the end of the page


def _charset(response: http.client.HTTPResponse, first_chunk: bytes) -> str:
    """The page's encoding: a byte-order mark, else the Content-Type charset, else UTF-8."""
    if first_chunk.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if first_chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    declared = response.headers.get_content_charset()
    if declared:
        try:
            return codecs.lookup(declared).name
        except LookupError:
            print(f"Unknown charset {declared!r} in Content-Type; decoding as UTF-8")
    return "utf-8"


def _scan_body(response: http.client.HTTPResponse, expect: str, deadline: float) -> _BodyScan:
    """Read the body chunk by chunk until expect is found, the page ends or the cap is hit.

    Only one chunk and a tail as long as expect are held at a time, whatever the page size.
    """
    sock = response.deadline_sock
    decoder = None
    charset = "utf-8"
    tail = ""
    bytes_read = 0
    while bytes_read < MAX_BODY_BYTES:
        sock.settimeout(_seconds_left(deadline))
        chunk = response.read1(min(CHUNK_BYTES, MAX_BODY_BYTES - bytes_read))
        if decoder is None:
            charset = _charset(response, chunk)
            decoder = codecs.getincrementaldecoder(charset)(errors="replace")
        bytes_read += len(chunk)
        text = tail + decoder.decode(chunk, final=not chunk)
        if expect in text:
            return _BodyScan(True, bytes_read, charset, capped=False)
        if not chunk:
            return _BodyScan(False, bytes_read, charset, capped=False)
        tail = text[max(0, len(text) - len(expect) + 1) :]  # expect may straddle two chunks
    return _BodyScan(False, bytes_read, charset, capped=True)


def _http_error_message(url: str, err: urllib.error.HTTPError, expect: str) -> str:
    """Explain a response urllib did not accept: 3xx not followed, 4xx, 5xx."""
    phrase = http.client.responses.get(err.code, "")
    status = f"HTTP {err.code} {phrase}".rstrip()
    location = err.headers.get("Location") if err.headers else None
    if 300 <= err.code < 400:
        if location and urllib.parse.urlsplit(location).scheme.lower() not in ALLOWED_SCHEMES:
            return (
                f"{url}: {status}, a redirect to {location!r}, which was not followed: only "
                "http:// and https:// redirects are followed. Point UserParameters at the "
                "final http(s) page."
            )
        return (
            f"{url}: {status} (expected 200); the redirect was not followed "
            f"(no usable Location, or too many redirects). The text {expect!r} was not checked."
        )
    at = "" if err.url in (None, url) else f" (at {err.url})"
    return (
        f"{url}: {status}{at}, expected 200; the text {expect!r} was not checked. "
        "Check that the URL is right and that the deployment finished."
    )


def check_page(url: str, expect: str, timeout: float) -> str:
    """GET url; return a success summary, or raise JobFailed saying what was wrong.

    Passes when the status is 200 and the body contains expect.
    """
    started = time.monotonic()
    deadline = started + timeout
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with _opener(deadline).open(request, timeout=timeout) as response:
            status = response.status
            print(f"HTTP {status} {response.reason} from {response.url}")
            if status != 200:
                raise JobFailed(
                    f"{url}: HTTP {status} {response.reason}, expected 200; "
                    f"the text {expect!r} was not checked."
                )
            scan = _scan_body(response, expect, deadline)
    except urllib.error.HTTPError as err:
        print(f"HTTP {err.code} for {url}")
        err.close()
        raise JobFailed(_http_error_message(url, err, expect)) from None
    except (TimeoutError, urllib.error.URLError) as err:
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        if isinstance(reason, TimeoutError):
            raise JobFailed(
                f"{url}: timed out: no complete answer within {timeout:.1f} s. The time limit is "
                "the function's remaining time minus a margin for reporting; if the site is "
                "just slow, raise the Lambda function's timeout."
            ) from None
        if isinstance(reason, ssl.SSLError):
            raise JobFailed(
                f"{url}: the TLS/SSL connection failed ({reason}). Check that the site serves "
                "HTTPS on that port with a valid certificate, or use http://."
            ) from None
        raise JobFailed(
            f"{url}: could not connect ({reason}). Check the host name and port, that the "
            "site is up, and that the function can reach it."
        ) from None
    except (OSError, http.client.HTTPException) as err:
        raise JobFailed(
            f"{url}: the connection failed while reading the answer ({type(err).__name__}: {err})."
        ) from None

    elapsed_ms = round((time.monotonic() - started) * 1000)
    if scan.found:
        return f"{url}: HTTP 200, found {expect!r} ({elapsed_ms} ms)"
    if scan.capped:
        raise JobFailed(
            f"{url}: HTTP 200, but {expect!r} is not in the first {MAX_BODY_BYTES // 2**20} MiB "
            "of the page; reading stopped there (the read is capped so a huge page cannot "
            "exhaust the function's memory). Look for a text nearer the top of the page."
        )
    raise JobFailed(
        f"{url}: HTTP 200, but the page does not contain {expect!r} (read {scan.bytes_read} "
        f"bytes as {scan.charset} in {elapsed_ms} ms). Check that the new version was deployed, "
        'or set the text to look for with UserParameters {"url": ..., "expect": ...}.'
    )
