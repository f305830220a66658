"""Which AWS operation a request is — from botocore's own service models — and what IAM checks.

JSON services name the operation in ``X-Amz-Target``, query services in ``Action``; for the REST
services (Lambda, S3) the method and path are matched against each operation's ``requestUri``
in the model, as AWS's front end does. The IAM action is ``service:Operation`` except where IAM
names it otherwise (``lambda:InvokeFunction`` for Invoke, ``s3:ListBucket`` for ListObjectsV2…);
the resource is the ARN the operation acts on, or ``*``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import botocore.session

from ..arns import function_arn, log_group_arn, pipeline_arn, stack_arn

# botocore's name for a signing name, where they differ
SERVICE_MODELS = {"monitoring": "cloudwatch", "states": "stepfunctions", "email": "ses"}

IAM_ACTION = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeFunction",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "CopyObject"): "PutObject",
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetBucketPolicyStatus"): "GetBucketPolicyStatus",
}
VERSIONED_S3_ACTION = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectTagging": "GetObjectVersionTagging",
}


@dataclass(frozen=True)
class Operation:
    """One request, as IAM sees it."""

    service: str  # the signing name: s3, lambda, codepipeline, logs, iam, sts, cloudformation
    name: str  # the model's operation name, e.g. PutJobSuccessResult
    protocol: str  # json, rest-json, query, rest-xml
    params: dict = field(default_factory=dict, compare=False)

    @property
    def action(self) -> str:
        name = IAM_ACTION.get((self.service, self.name), self.name)
        if self.service == "s3" and self.params.get("versionId"):
            name = VERSIONED_S3_ACTION.get(name, name)
        return f"{self.service}:{name}"

    @property
    def passed_role(self) -> str | None:
        """The role an operation hands to a service, which needs iam:PassRole on it."""
        if self.service == "lambda" and self.name in (
            "CreateFunction",
            "UpdateFunctionConfiguration",
        ):
            role = self.params.get("Role")
        elif self.service == "codepipeline" and self.name in ("CreatePipeline", "UpdatePipeline"):
            declared = self.params.get("pipeline")
            role = declared.get("roleArn") if isinstance(declared, dict) else None
        elif self.service == "cloudformation" and self.name in ("CreateStack", "UpdateStack"):
            role = self.params.get("RoleARN")
        else:
            role = None
        return role if isinstance(role, str) else None

    def resource(self, region: str, account: str) -> str:
        p = self.params
        if self.service == "s3":
            bucket, key = p.get("Bucket"), p.get("Key")
            if not bucket:
                return "*"
            if self.name == "DeleteObjects":
                return f"arn:aws:s3:::{bucket}/*"
            return f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
        if self.service == "lambda" and p.get("FunctionName"):
            return function_arn(region, account, p["FunctionName"], p.get("Qualifier"))
        if self.service == "codepipeline":
            declared = p.get("pipeline") if isinstance(p.get("pipeline"), dict) else {}
            name = p.get("name") or p.get("pipelineName") or declared.get("name")
            return pipeline_arn(region, account, name) if isinstance(name, str) else "*"
        if self.service == "logs" and isinstance(p.get("logGroupName"), str):
            return log_group_arn(region, account, p["logGroupName"], p.get("logStreamName"))
        if self.service == "cloudformation" and isinstance(p.get("StackName"), str):
            return stack_arn(region, account, p["StackName"])
        if self.service == "sts" and isinstance(p.get("RoleArn"), str):
            return p["RoleArn"]  # AssumeRole and its web-identity and SAML forms
        if self.service == "iam":
            for key, kind in (("RoleName", "role"), ("UserName", "user")):
                if isinstance(p.get(key), str):
                    return f"arn:aws:iam::{account}:{kind}/{p[key]}"
            if isinstance(p.get("PolicyArn"), str):
                return p["PolicyArn"]
            if isinstance(p.get("PolicyName"), str) and self.name == "CreatePolicy":
                path = p.get("Path") or "/"
                return f"arn:aws:iam::{account}:policy{path}{p['PolicyName']}"
        return "*"


@functools.cache
def _model(service: str):
    name = SERVICE_MODELS.get(service, service)
    try:
        return botocore.session.get_session().get_service_model(name)
    except Exception:  # a service botocore doesn't know
        return None


# botocore's order of preference among the protocols a service supports (its clients use the
# first one they find)
PROTOCOL_PREFERENCE = ("json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2")


@functools.cache
def protocol(service: str) -> str:
    """The wire protocol boto3 speaks to ``service``: json, rest-json, rest-xml or query."""
    model = _model(service)
    if model is None:
        return "rest-xml"
    supported = model.metadata.get("protocols") or [model.metadata["protocol"]]
    return next((p for p in PROTOCOL_PREFERENCE if p in supported), supported[0])


# The query-string parameters of a presigned URL: the signature's, never an operation's input.
SIGNATURE_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
FORM = "application/x-www-form-urlencoded"
FORM_TYPES = (FORM, "multipart/form-data")


class Ambiguous(Exception):
    """A request that could be read as more than one operation (two ``Action`` parameters,
    parameters in both the query string and the body, an ``X-Amz-Target`` a service doesn't
    read…). No SDK sends one; AWS's front end refuses it, and so does the local cloud, so
    that the operation IAM is asked about is the only one that can run."""


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern
    needs: frozenset  # query keys that must be present: the URI's literals, required members
    allowed: frozenset  # query keys the operation reads
    name: str
    header: str  # a header that must be present (S3's copy source), or ""


@functools.cache
def _routes(service: str) -> tuple[tuple[_Route, ...], frozenset]:
    """A REST service's operations as routes, most specific first, and its *selectors*: the
    query keys that choose an operation (``?acl``, ``?uploads``, ``uploadId``…)."""
    model = _model(service)
    routes = []
    selectors: set[str] = set()
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        path, _, query = http["requestUri"].partition("?")
        literals = {k.split("=")[0] for k in query.split("&") if k}
        members = operation.input_shape.members if operation.input_shape else {}
        required = set(operation.input_shape.required_members) if operation.input_shape else set()
        in_query = {
            m.serialization.get("name", member): member in required
            for member, m in members.items()
            if m.serialization.get("location") == "querystring"
        }
        needs = literals | {key for key, is_required in in_query.items() if is_required}
        selectors |= needs
        pattern = ""
        literal = 0
        for piece in re.split(r"(\{[^}]+\})", path):
            if piece.startswith("{"):
                label = piece.strip("{}")
                greedy = label.endswith("+")
                label = label.rstrip("+")
                pattern += f"(?P<{label}>.+)" if greedy else f"(?P<{label}>[^/]+)"
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        if not pattern.endswith("/"):
            pattern += "/?"
        route = _Route(
            http["method"],
            re.compile(f"^{pattern}$"),
            frozenset(needs),
            frozenset(needs | set(in_query)),
            name,
            NEEDS_HEADER.get(name, ""),
        )
        routes.append(((len(needs), bool(route.header), literal), route))
    routes.sort(key=lambda r: r[0], reverse=True)
    return tuple(r for _, r in routes), frozenset(selectors)


# S3 operations that share a method and path with another and differ by a header
NEEDS_HEADER = {"CopyObject": "x-amz-copy-source", "UploadPartCopy": "x-amz-copy-source"}


def _rest(
    service: str, method: str, path: str, query: dict, headers: dict
) -> tuple[str, dict] | None:
    """The operation a REST request names. Query keys that choose another operation than
    the one the path and method match (``GET /bucket?acl&policy``) make it Ambiguous."""
    routes, selectors = _routes(service)
    present = selectors & set(query)
    wanted = query.get("x-id")  # SDKs name the operation of a shared route (S3's x-id)
    conflicting = False
    for route in routes:
        if route.method != method or not route.needs <= set(query):
            continue
        if route.header and route.header not in headers:
            continue
        if wanted is not None and wanted != route.name:
            continue
        match = route.pattern.match(path)
        if not match:
            continue
        if not present <= route.allowed:
            conflicting = True
            continue
        params = dict(match.groupdict())  # the path is decoded already
        return route.name, params
    if conflicting:
        raise Ambiguous("Conflicting query string parameters: " + ", ".join(sorted(present)))
    return None


def _pairs(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True)


def _once(pairs: list[tuple[str, str]], where: str) -> dict[str, str]:
    """Parameters as a dict; a name given twice is Ambiguous (moto reads the first, other
    parsers the last)."""
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise Ambiguous(f"The parameter {key} appears more than once in the {where}.")
        params[key] = value
    return params


def _name(service: str) -> str:
    """The service's name as AWS writes it (IAM, Lambda, CloudWatch Logs…)."""
    return _model(service).metadata.get("serviceId") or service


def _content_type(headers: dict) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _query_protocol(service: str, query_string: str, body: bytes, headers: dict) -> dict:
    """The parameters of a query-protocol request (IAM, STS, CloudFormation): all in the
    query string, or all in an application/x-www-form-urlencoded body."""
    if headers.get("x-amz-target"):
        raise Ambiguous(f"{_name(service)} does not read X-Amz-Target; the operation is Action.")
    query = _once(
        [(k, v) for k, v in _pairs(query_string) if k not in SIGNATURE_PARAMS], "query string"
    )
    if not body:
        return query
    kind = _content_type(headers)
    if kind != FORM:
        raise Ambiguous(
            f"{_name(service)} reads a request's parameters from the query string or from an "
            f"{FORM} body, not from a {kind or 'body without a Content-Type'} body."
        )
    form = _once(_pairs(body.decode("utf-8", "replace")), "body")
    if query:
        raise Ambiguous(
            "The request has parameters in both the query string and the body: "
            + ", ".join(sorted(set(query) | set(form)))
        )
    return form


def _json_target(service: str, target: str) -> str | None:
    """The operation an X-Amz-Target names, which must be of this service."""
    prefix, _, name = target.rpartition(".")
    expected = _model(service).metadata.get("targetPrefix")
    if not target:
        return None
    if prefix != expected:
        raise Ambiguous(
            f"The X-Amz-Target {target} is not an operation of {_name(service)}, the service "
            "the request is signed for."
        )
    return name if name in _model(service).operation_names else None


def _no_other_reading(kind: str, service: str, query: dict, headers: dict) -> None:
    """What JSON and REST services never read, but a second parser could take for the
    operation: an Action parameter or header, a form body, X-Amz-Target on a REST service."""
    if "Action" in query or "action" in headers:
        raise Ambiguous(f"{_name(service)} does not read an Action parameter.")
    if _content_type(headers) in FORM_TYPES:
        raise Ambiguous(f"{_name(service)} does not read a {_content_type(headers)} body.")
    if kind != "json" and headers.get("x-amz-target"):
        raise Ambiguous(f"{_name(service)} does not read X-Amz-Target.")


def identify(
    service: str,
    method: str,
    path: str,
    query_string: str,
    target: str,
    body: bytes,
    headers: dict | frozenset = frozenset(),
) -> Operation | None:
    """The operation of a request to ``service`` (its signing name), or None if it names none
    of the service's operations; Ambiguous if it could be read as more than one.
    ``headers``: the request's headers by lower-case name."""
    if not isinstance(headers, dict):
        headers = dict.fromkeys(headers, "")
    if target and "x-amz-target" not in headers:
        headers = {**headers, "x-amz-target": target}
    if _model(service) is None:
        return None
    kind = protocol(service)
    if kind in ("query", "ec2"):
        params = _query_protocol(service, query_string, body, headers)
        name = params.get("Action")
        return Operation(service, name, "query", params) if name else None
    query = _once(
        [(k, v) for k, v in _pairs(query_string) if k not in SIGNATURE_PARAMS], "query string"
    )
    _no_other_reading(kind, service, query, headers)
    if kind == "json":
        name = _json_target(service, target)
        if name is None:
            return None
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return Operation(service, name, "json", params if isinstance(params, dict) else {})
    found = _rest(service, method, path, query, headers)
    if found is None:
        return None
    name, params = found
    if kind == "rest-json" and method in ("POST", "PUT") and body[:1] == b"{":
        try:
            params = {**json.loads(body), **params}
        except ValueError:
            pass
    if "Qualifier" in query:
        params["Qualifier"] = query["Qualifier"]
    if "versionId" in query:
        params["versionId"] = query["versionId"]
    return Operation(service, name, kind, params)
