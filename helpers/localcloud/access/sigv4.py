"""Signature Version 4, checked the way AWS checks it, with botocore's own signer.

The request is rebuilt from what arrived — method, URL, the signed headers, the payload hash —
and signed again with the secret that belongs to the access key; the signature must match.
Both forms are understood: the ``Authorization`` header, and the presigned URL
(``X-Amz-Signature`` in the query). S3's payload variants that boto3 sends are taken from the
``X-Amz-Content-SHA256`` header as AWS does (a hash, ``UNSIGNED-PAYLOAD``, or the streaming
``aws-chunked`` forms, whose seed signature is what the header signs).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
MAX_SKEW = timedelta(minutes=15)
STREAMING = ("STREAMING-", "UNSIGNED-PAYLOAD")


class Malformed(Exception):
    """A signature that can't even be read (wrong algorithm, missing parts)."""


class QueryParameters(Malformed):
    """A presigned URL whose X-Amz-Expires is out of range (S3's
    AuthorizationQueryParametersError)."""


# A SigV4 signing key is valid for seven days, so no presigned URL may be valid for longer.
MAX_EXPIRES_S = 7 * 24 * 3600


class Expired(Exception):
    """A presigned URL past its expiry, or a request dated too far from now."""


@dataclass(frozen=True)
class Signed:
    """What a request says about its signature."""

    access_key_id: str
    date: str  # yyyymmdd of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str  # X-Amz-Date, e.g. 20261127T002407Z
    presigned: bool
    expires: int | None = None


def read(headers: dict[str, str], query_string: str) -> Signed | None:
    """The signature of a request; None if it has none. ``headers`` by lower-case name."""
    authorization = headers.get("authorization")
    if authorization:
        match = AUTHORIZATION.match(authorization.strip())
        if not match:
            raise Malformed(authorization.split(" ", 1)[0])
        scope = match["credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise Malformed("credential scope")
        return Signed(
            scope[0],
            scope[1],
            scope[2],
            scope[3],
            tuple(match["signed"].split(";")),
            match["signature"],
            headers.get("x-amz-date", ""),
            False,
        )
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    if "X-Amz-Signature" not in query:
        return None
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        raise Malformed("X-Amz-Algorithm")
    scope = query.get("X-Amz-Credential", "").split("/")
    if len(scope) != 5:
        raise Malformed("X-Amz-Credential")
    expires_text = query.get("X-Amz-Expires", "")
    if not expires_text.lstrip("-").isdigit():
        raise QueryParameters("X-Amz-Expires should be a number")
    expires = int(expires_text)
    if expires < 0:
        raise QueryParameters("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES_S:
        raise QueryParameters(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            f"X-Amz-Expires must be less than {MAX_EXPIRES_S} seconds"
        )
    return Signed(
        scope[0],
        scope[1],
        scope[2],
        scope[3],
        tuple(query.get("X-Amz-SignedHeaders", "host").split(";")),
        query["X-Amz-Signature"],
        query.get("X-Amz-Date", ""),
        True,
        expires,
    )


def _time(timestamp: str) -> datetime:
    try:
        return datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as error:
        raise Malformed("X-Amz-Date") from error


def check_time(signed: Signed, now: datetime | None = None) -> None:
    """Raise Expired for a presigned URL past X-Amz-Expires or a request dated more than 15
    minutes from now (AWS's limit)."""
    now = now or datetime.now(UTC)
    when = _time(signed.timestamp)
    if signed.presigned:
        if now > when + timedelta(seconds=signed.expires or 0):
            raise Expired("Request has expired")
        if when - now > MAX_SKEW:
            raise Expired("Request is not yet valid")
    elif abs(now - when) > MAX_SKEW:
        raise Expired(
            f"Signature expired: {signed.timestamp} is now earlier than "
            f"{(now - MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 15 min.)"
        )


def expected_signature(
    signed: Signed,
    secret: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    body: bytes,
) -> str:
    """The signature botocore computes for this request with ``secret``.

    ``raw_path`` and ``raw_query`` are as the client sent them (still percent-encoded): the
    canonical request encodes them the way the client's signer did.
    """
    auth_class = S3SigV4Auth if signed.service == "s3" else SigV4Auth
    auth = auth_class(Credentials(signed.access_key_id, secret), signed.service, signed.region)
    to_sign = HTTPHeaders()
    for name in signed.signed_headers:
        to_sign[name] = headers.get(name, "")
    if signed.presigned:
        pairs = [p for p in raw_query.split("&") if p and not p.startswith("X-Amz-Signature=")]
        raw_query = "&".join(pairs)
    payload_hash = _payload_hash(signed, headers, body)
    canonical = "\n".join(
        [
            method.upper(),
            auth._normalize_url_path(raw_path),
            auth._canonical_query_string_url(urlsplit("?" + raw_query)),
            auth.canonical_headers(to_sign) + "\n",
            ";".join(signed.signed_headers),
            payload_hash,
        ]
    )
    request = AWSRequest(method=method, url="http://localhost/")
    request.context["timestamp"] = signed.timestamp
    return auth.signature(auth.string_to_sign(request, canonical), request)


def _payload_hash(signed: Signed, headers: dict[str, str], body: bytes) -> str:
    """The payload line of the canonical request. Only S3 takes it from X-Amz-Content-SHA256
    (a hash it checks against the body, UNSIGNED-PAYLOAD, or a streaming form); every other
    service hashes the body it received, so a signature never vouches for another body."""
    if signed.service != "s3":
        return _sha256(body)
    declared = headers.get("x-amz-content-sha256")
    if declared:
        return declared
    return "UNSIGNED-PAYLOAD" if signed.presigned else _sha256(body)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def payload_matches(headers: dict[str, str], body: bytes) -> bool:
    """False if X-Amz-Content-SHA256 names a hash the body doesn't have (S3's
    XAmzContentSHA256Mismatch); streaming and unsigned payloads are taken as declared."""
    declared = headers.get("x-amz-content-sha256")
    if not declared or declared.startswith(STREAMING):
        return True
    return hmac.compare_digest(declared, _sha256(body))


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The data and the trailing headers of an ``aws-chunked`` body (S3's streaming uploads):
    ``hex-size[;chunk-signature=...]\r\n data \r\n`` ... ``0\r\n`` then ``name:value`` lines.
    Raises ValueError if the framing is broken."""
    data = bytearray()
    position = 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end].split(b";", 1)[0], 16)
        position = end + 2
        if size == 0:
            break
        data += body[position : position + size]
        if (
            len(body) < position + size + 2
            or body[position + size : position + size + 2] != b"\r\n"
        ):
            raise ValueError("truncated chunk")
        position += size + 2
    trailers = {}
    for line in body[position:].split(b"\r\n"):
        if b":" in line:
            name, _, value = line.decode("utf-8", "replace").partition(":")
            trailers[name.strip().lower()] = value.strip()
    return bytes(data), trailers
