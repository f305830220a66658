"""GetFunction's ``Code.Location``: a presigned URL on the local cloud that downloads the
function's deployment package, as AWS's does (AWS: a presigned S3 URL valid for 10 minutes).

moto answers an S3 address of AWS's (awslambda-REGION-tasks.s3…) that doesn't resolve from a
laptop. Here the URL names the function version and the package's SHA-256 and is signed with
a key of this process: it expires after ``EXPIRES_S``, a changed package or a restart makes it
stale, and a made-up or altered URL is refused — it is the only unsigned request the local
cloud answers besides public S3 reads.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs, quote

from moto.awslambda.models import LambdaFunction

from .. import backends

PATH_PREFIX = "/_localcloud/lambda-code/"
EXPIRES_S = 600
_KEY = secrets.token_bytes(32)
_endpoint = ""


def install(endpoint: str) -> None:
    global _endpoint
    _endpoint = endpoint
    if getattr(LambdaFunction.get_code, "_local_location", False):
        return
    moto_get_code = LambdaFunction.get_code

    def get_code(self) -> dict:
        response = moto_get_code(self)
        code = response.get("Code")
        if code and code.get("RepositoryType") == "S3":
            code["Location"] = location(self)
        return response

    get_code._local_location = True
    LambdaFunction.get_code = get_code


def _signature(parts: tuple[str, ...], expires: int, sha256: str) -> str:
    message = "\n".join((*parts, str(expires), sha256)).encode()
    return hmac.new(_KEY, message, hashlib.sha256).hexdigest()


def location(fn) -> str:
    parts = (fn.region, fn.function_name, str(fn.version))
    path = PATH_PREFIX + "/".join(quote(part, safe="") for part in parts)
    expires = int(time.time()) + EXPIRES_S
    signature = _signature(parts, expires, fn.code_sha_256)
    return f"{_endpoint}{path}?Expires={expires}&Signature={signature}"


def _denied(message: str) -> tuple[int, dict[str, str], bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
    ).encode()
    return 403, {"Content-Type": "application/xml"}, body


def serve(path: str, query_string: str) -> tuple[int, dict[str, str], bytes]:
    """The package a Location names, or S3's AccessDenied for a URL that isn't one.
    ``path`` is the WSGI path, already unquoted once (names hold no "/")."""
    query = parse_qs(query_string)
    parts = tuple(path[len(PATH_PREFIX) :].split("/"))
    try:
        (expires,), (signature,) = query["Expires"], query["Signature"]
        region, name, version = parts
        expires_at = int(expires)
    except (KeyError, ValueError):
        return _denied("Query-string authentication requires the Signature and Expires parameters")
    try:
        fn = backends.awslambda(region).get_function(
            name, None if version == "$LATEST" else version
        )
    except Exception:  # noqa: BLE001 - any lookup failure: the URL names no package
        fn = None
    sha256 = getattr(fn, "code_sha_256", "") if fn is not None else ""
    if not hmac.compare_digest(_signature(parts, expires_at, sha256), signature):
        return _denied(
            "The request signature we calculated does not match the signature you provided."
        )
    if time.time() > expires_at:
        return _denied("Request has expired")
    return 200, {"Content-Type": "application/zip"}, bytes(fn.code_bytes)
