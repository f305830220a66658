"""The checks every request passes before the local cloud does anything with it.

1. The ``Host`` must be a loopback name (127.0.0.1, localhost, *.localhost, [::1]): a page that
   rebinds its own DNS name to 127.0.0.1 gets nothing.
2. A request from a web page of another origin (``Origin`` or ``Referer`` not on loopback) is
   refused; SDKs and the CLI send neither header.
3. It must be signed (SigV4) with a key the local cloud knows — the owner's, an IAM user's, or a
   role session it issued — and the signature must match. The only unsigned requests served are
   S3 GET/HEAD of objects a bucket policy makes public, as on AWS.
4. The caller's IAM policies must allow the operation (unless started with ``--no-iam``).

Refusals are AWS's errors in the request's own protocol, so botocore raises the same exception
a learner would see on AWS.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from ..arns import log_group_arn
from ..errors import AwsError
from . import operations, policies, sigv4
from .policies import Principal

INVALID_TOKEN = "The security token included in the request is invalid."
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
# What an anonymous caller may do: read an object a bucket policy makes public.
PUBLIC_READS = frozenset({"GetObject", "HeadObject"})
S3_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your key and signing method."
)


class Refused(AwsError):
    """A refusal, with the protocol it must be written in."""

    def __init__(self, code: str, message: str, status: int, protocol: str):
        super().__init__(code, message, status)
        self.protocol = protocol


class RoleNotAssumable(Exception):
    """A service may not assume a role: its trust policy doesn't name the service."""

    def __init__(self, role_arn: str, service: str):
        super().__init__(f"{service} may not assume {role_arn}")
        self.role_arn, self.service = role_arn, service


@dataclass(frozen=True)
class Caller:
    """Who made a request, and which operation it is (None for an anonymous public read)."""

    principal: Principal | None
    operation: operations.Operation | None
    region: str


@dataclass(frozen=True)
class _Keyed:
    """An authenticated principal and the secret its requests are signed with."""

    principal: Principal
    secret: str


@dataclass
class Session:
    """Temporary credentials the local cloud issued for a role."""

    secret: str
    token: str
    principal: Principal
    expiration: datetime


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1, localhost and *.localhost, with any port."""
    if not host:
        return False
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else ""
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_origin(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and is_loopback_host(parts.netloc)


def browser_refusal(environ: dict) -> str | None:
    """Why a request from a browser (or a rebinding DNS name) is refused, or None."""
    if not is_loopback_host(environ.get("HTTP_HOST", "")):
        return "the Host header is not a loopback name"
    for header in ("HTTP_ORIGIN", "HTTP_REFERER"):
        value = environ.get(header)
        if value is not None and not is_loopback_origin(value):
            return "the request comes from a web page of another origin"
    return None


def _protocol_of(environ: dict, body: bytes = b"") -> str:
    """The protocol of an unsigned request, from its shape."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if environ.get("PATH_INFO", "").startswith("/20"):
        return "rest-json"
    form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    if "Action=" in environ.get("QUERY_STRING", "") or (form and b"Action=" in body):
        return "query"
    return "rest-xml"


def _refuse(protocol: str, kind: str, detail: str = "") -> Refused:
    """AWS's refusal of ``kind`` in ``protocol``: json, rest-json, query or rest-xml (S3)."""
    rest_json = protocol == "rest-json"
    json_status = 403 if rest_json else 400
    if kind == "missing":
        if protocol == "rest-xml":
            return Refused("AccessDenied", "Access Denied", 403, protocol)
        if protocol == "query":
            return Refused(
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
                403,
                protocol,
            )
        return Refused(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
            json_status,
            protocol,
        )
    if kind == "unknown-key":
        if protocol == "rest-xml":
            return Refused(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                403,
                protocol,
            )
        if protocol == "query":
            return Refused("InvalidClientTokenId", INVALID_TOKEN, 403, protocol)
        return Refused("UnrecognizedClientException", INVALID_TOKEN, json_status, protocol)
    if kind == "bad-token":
        if protocol == "rest-xml":
            return Refused(
                "InvalidToken",
                "The provided token is malformed or otherwise invalid.",
                400,
                protocol,
            )
        if protocol == "query":
            return Refused("InvalidClientTokenId", INVALID_TOKEN, 403, protocol)
        return Refused("UnrecognizedClientException", INVALID_TOKEN, json_status, protocol)
    if kind == "expired-token":
        if protocol == "rest-xml":
            return Refused("ExpiredToken", "The provided token has expired.", 400, protocol)
        if protocol == "query":
            return Refused(
                "ExpiredToken",
                "The security token included in the request is expired",
                403,
                protocol,
            )
        return Refused(
            "ExpiredTokenException",
            "The security token included in the request is expired",
            json_status,
            protocol,
        )
    if kind == "signature":
        if protocol == "rest-xml":
            return Refused("SignatureDoesNotMatch", S3_BAD_SIGNATURE, 403, protocol)
        if protocol == "query":
            return Refused("SignatureDoesNotMatch", BAD_SIGNATURE, 403, protocol)
        return Refused("InvalidSignatureException", BAD_SIGNATURE, json_status, protocol)
    if kind == "expired":
        if protocol == "rest-xml":
            if detail.startswith("Request has expired") or detail.startswith("Request is not"):
                return Refused("AccessDenied", detail, 403, protocol)
            return Refused(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                403,
                protocol,
            )
        if protocol == "query":
            return Refused("SignatureDoesNotMatch", detail, 403, protocol)
        return Refused("InvalidSignatureException", detail, json_status, protocol)
    if kind == "ambiguous":  # a request that reads as more than one operation
        code = {
            "rest-xml": "InvalidArgument",
            "query": "MalformedQueryString",
        }.get(protocol, "SerializationException")
        return Refused(code, detail, 400, protocol)
    if kind == "query-parameters":  # a presigned URL's parameters out of range
        return Refused("AuthorizationQueryParametersError", detail, 400, protocol)
    if kind == "payload":
        return Refused(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
            protocol,
        )
    if kind == "malformed":
        if protocol == "rest-xml":
            return Refused(
                "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; {detail}",
                400,
                protocol,
            )
        code = "IncompleteSignature" if protocol == "query" else "IncompleteSignatureException"
        return Refused(
            code,
            f"Authorization header requires a valid {detail}",
            400 if not rest_json else 403,
            protocol,
        )
    # access denied
    code = "AccessDeniedException" if protocol in ("json", "rest-json") else "AccessDenied"
    return Refused(code, detail, json_status if code == "AccessDeniedException" else 403, protocol)


def denied_message(principal: Principal, action: str, resource: str, explicit: bool) -> str:
    """AWS's wording of an authorization failure."""
    where = "" if resource == "*" else f" on resource: {resource}"
    why = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal.arn} is not authorized to perform: {action}{where} {why}"


class Gate:
    """Authenticates and authorizes requests; issues the role sessions functions run with."""

    def __init__(self, account: str, enforce_iam: bool = True):
        self.account = account
        self.enforce_iam = enforce_iam
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    # -- credentials ------------------------------------------------------------------------
    def issue_role_session(
        self,
        role_arn: str,
        session_name: str,
        duration_s: int,
        service: str | None = None,
        source_arn: str | None = None,
    ) -> dict:
        """Temporary credentials for a role (assumed-role/ROLE/SESSION), valid ``duration_s``,
        as ``service`` (lambda.amazonaws.com for a function, codepipeline.amazonaws.com for a
        pipeline) gets them: with IAM enforced, only if the role's trust policy lets that
        service assume it (else RoleNotAssumable) — ``source_arn`` (the function or pipeline)
        is what the service says about itself to the trust policy's conditions."""
        if self.enforce_iam and service is not None:
            context = {"aws:SourceAccount": self.account}
            if source_arn:
                context["aws:SourceArn"] = source_arn
            trust = policies.role_trust_policy(self.account, role_arn)
            if not policies.trusts_service(trust, service, context):
                raise RoleNotAssumable(role_arn, service)
        backend = sts_backends[self.account]["aws"]
        assumed = backend.assume_role(
            region_name="us-east-1",
            role_session_name=session_name[:64],
            role_arn=role_arn,
            policy=None,
            duration=duration_s,
            external_id=None,
        )
        role_name = role_arn.rsplit("/", 1)[-1]
        with self._lock:
            self._sessions[assumed.access_key_id] = Session(
                assumed.secret_access_key,
                assumed.session_token,
                Principal(self.account, "assumed-role", role_name, assumed.session_name),
                assumed.expiration.replace(tzinfo=UTC),
            )
        return {
            "AccessKeyId": assumed.access_key_id,
            "SecretAccessKey": assumed.secret_access_key,
            "SessionToken": assumed.session_token,
            "Expiration": assumed.expiration.replace(tzinfo=UTC),
        }

    def role_may_log(self, role_arn: str, region: str, group: str, stream: str) -> bool:
        """Whether Lambda, acting with the function's role, may write its log stream."""
        if not self.enforce_iam:
            return True
        arn = log_group_arn(region, self.account, group, stream)
        return all(
            role_allows(self.account, role_arn, action, arn)
            for action in ("logs:CreateLogStream", "logs:PutLogEvents")
        )

    def _session(self, access_key_id: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(access_key_id)
        if session is not None:
            return session
        # sessions from the STS AssumeRole API (moto's)
        assumed = sts_backends[self.account]["aws"].get_assumed_role_from_access_key(access_key_id)
        if assumed is None:
            return None
        return Session(
            assumed.secret_access_key,
            assumed.session_token,
            Principal(
                self.account,
                "assumed-role",
                assumed.role_arn.rsplit("/", 1)[-1],
                assumed.session_name,
            ),
            assumed.expiration.replace(tzinfo=UTC),
        )

    def _user_key(self, access_key_id: str) -> tuple[str, Principal] | None:
        backend = iam_backends[self.account]["aws"]
        for user in list(backend.users.values()):
            for key in user.access_keys:
                if key.access_key_id == access_key_id and key.status == "Active":
                    return key.secret_access_key, Principal(self.account, "user", user.name)
        return None

    # -- the checks -------------------------------------------------------------------------
    def check(self, environ: dict, body: bytes, anonymous_read_allowed, decode=None) -> Caller:
        """The caller of a request, or Refused. ``anonymous_read_allowed(bucket, key)`` says
        whether a bucket policy makes an object public; ``decode(environ, body)`` turns the
        body as signed into the body the operation reads (aws-chunked, gzip; with the
        signing name as third argument), once the
        signature is checked.

        The operation is read once, strictly (``operations.identify``): a request that
        could be read as another operation is refused, one that names no operation is
        refused when IAM is enforced, and the operation IAM allows is the one that runs —
        the server dispatches on it, and moto's own dispatch is held to it
        (``dispatch.py``)."""
        headers = _headers(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        raw_path, raw_query = _raw_target(environ)
        try:
            signed = sigv4.read(headers, raw_query)
        except sigv4.QueryParameters as error:
            raise _refuse(_protocol_of(environ, body), "query-parameters", str(error)) from None
        except sigv4.Malformed as error:
            raise _refuse(_protocol_of(environ, body), "malformed", str(error)) from None
        if signed is None:
            return self._anonymous(environ, body, method, anonymous_read_allowed)
        protocol = operations.protocol(signed.service)
        keyed = self._authenticate(signed, protocol, headers, raw_query)
        try:
            sigv4.check_time(signed)
        except sigv4.Expired as error:
            raise _refuse(protocol, "expired", str(error)) from None
        except sigv4.Malformed as error:
            raise _refuse(protocol, "malformed", str(error)) from None
        expected = sigv4.expected_signature(
            signed, keyed.secret, method, raw_path, raw_query, headers, body
        )
        if not sigv4.same(expected, signed.signature):
            raise _refuse(protocol, "signature")
        if signed.service == "s3" and not sigv4.payload_matches(headers, body):
            raise _refuse(protocol, "payload")
        if decode is not None:
            body = decode(environ, body, signed.service)
            headers = _headers(environ)
        try:
            operation = operations.identify(
                signed.service,
                method,
                request_path(environ),
                environ.get("QUERY_STRING", ""),
                headers.get("x-amz-target", ""),
                body,
                headers,
            )
        except operations.Ambiguous as error:
            raise _refuse(protocol, "ambiguous", str(error)) from None
        caller = Caller(keyed.principal, operation, signed.region)
        if self.enforce_iam:
            if operation is None:  # fail closed: what can't be named can't be allowed
                raise _refuse(
                    protocol,
                    "denied",
                    f"User: {keyed.principal.arn} is not authorized to perform this "
                    f"request: it names no operation of {signed.service} the local cloud "
                    "knows, so no policy can allow it",
                )
            self.authorize(caller, protocol)
        return caller

    def _authenticate(self, signed, protocol: str, headers: dict, raw_query: str) -> _Keyed:
        """Who holds the access key the request is signed with, and their secret."""
        token = headers.get("x-amz-security-token") or _query_value(
            raw_query, "X-Amz-Security-Token"
        )
        user = self._user_key(signed.access_key_id)
        if user is not None:
            if token:
                raise _refuse(protocol, "bad-token")
            return _Keyed(user[1], user[0])
        session = self._session(signed.access_key_id)
        if session is None:
            raise _refuse(protocol, "unknown-key")
        if not token or not sigv4.same(token, session.token):
            raise _refuse(protocol, "bad-token")
        if datetime.now(UTC) >= session.expiration:
            raise _refuse(protocol, "expired-token")
        return _Keyed(session.principal, session.secret)

    def authorize(self, caller: Caller, protocol: str) -> None:
        operation = caller.operation
        action = operation.action
        if action == "sts:GetCallerIdentity":  # always allowed, even with an explicit deny
            return
        if action == "sts:AssumeRole":
            self._authorize_assume_role(caller, protocol)
            return
        checks = [(action, operation.resource(caller.region, self.account), None)]
        if operation.passed_role:  # handing a role to a service needs iam:PassRole on it
            service = {"iam:PassedToService": f"{operation.service}.amazonaws.com"}
            checks.append(("iam:PassRole", operation.passed_role, service))
        for needed, resource, conditions in checks:
            verdict = policies.evaluate(caller.principal, needed, resource, conditions)
            if verdict != "allowed":
                message = denied_message(caller.principal, needed, resource, verdict == "explicit")
                if protocol == "rest-xml" and resource != "*":
                    message = message.replace(f"resource: {resource}", f'resource: "{resource}"')
                raise _refuse(protocol, "denied", message)

    def _authorize_assume_role(self, caller: Caller, protocol: str) -> None:
        """AssumeRole as AWS decides it: the role's trust policy must allow the caller — by its
        ARN (a grant on its own), or by its account, and then the caller's identity policies
        must allow sts:AssumeRole on the role too; an explicit Deny in either refuses, and so
        does a role that doesn't exist."""
        principal, params = caller.principal, caller.operation.params
        role = params.get("RoleArn") if isinstance(params.get("RoleArn"), str) else ""
        trust = policies.role_trust_policy(self.account, role) if role else None
        context = {"aws:PrincipalArn": principal.arn, "aws:PrincipalAccount": self.account}
        if isinstance(params.get("ExternalId"), str):
            context["sts:ExternalId"] = params["ExternalId"]
        verdict = policies.trust_verdict(trust, principal, context=context)
        identity = policies.evaluate(principal, "sts:AssumeRole", role or "*")
        allowed = identity != "explicit" and (
            verdict == policies.NAMED or (verdict == policies.ACCOUNT and identity == "allowed")
        )
        if not allowed:
            resource = role or "*"
            message = f"User: {principal.arn} is not authorized to perform: sts:AssumeRole"
            raise _refuse(protocol, "denied", f"{message} on resource: {resource}")

    def _anonymous(self, environ: dict, body: bytes, method: str, anonymous_read_allowed):
        """An unsigned request: served only if it is GetObject or HeadObject (no version, no
        sub-resource) of an object a bucket policy makes public, as AWS serves the site."""
        protocol = _protocol_of(environ, body)
        if protocol == "rest-xml" and method in ("GET", "HEAD"):
            try:
                operation = operations.identify(
                    "s3",
                    method,
                    request_path(environ),
                    environ.get("QUERY_STRING", ""),
                    "",
                    body,
                    _headers(environ),
                )
            except operations.Ambiguous:
                operation = None
            if (
                operation is not None
                and operation.name in PUBLIC_READS
                and not operation.params.get("versionId")
                and anonymous_read_allowed(
                    operation.params.get("Bucket", ""), operation.params.get("Key", "")
                )
            ):
                return Caller(None, operation, "us-east-1")
        raise _refuse(protocol, "missing")


def role_allows(account: str, role_arn: str, action: str, resource: str) -> bool:
    """Whether a role's policies allow ``action`` on ``resource`` (the pipeline's checks)."""
    principal = Principal(account, "assumed-role", role_arn.rsplit("/", 1)[-1], "codepipeline")
    return policies.evaluate(principal, action, resource) == "allowed"


def request_path(environ: dict) -> str:
    """The request's path, decoded: WSGI hands it over as the URL's bytes read as latin-1,
    and S3 keys and function names are UTF-8."""
    path = environ.get("PATH_INFO", "/")
    try:
        return path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path


def _headers(environ: dict) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def _raw_target(environ: dict) -> tuple[str, str]:
    """The path and query exactly as the client sent them (percent-encoding intact)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if raw.startswith(("http://", "https://")):
            raw = raw.split("/", 3)[3] if raw.count("/") >= 3 else "/"
            raw = "/" + raw
        path, _, query = raw.partition("?")
        return path, query
    from urllib.parse import quote

    return quote(environ.get("PATH_INFO", "/"), safe="/~"), environ.get("QUERY_STRING", "")


def _query_value(raw_query: str, name: str) -> str | None:
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        if key == name:
            return value
    return None
