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
from urllib.parse import parse_qs, unquote

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


@functools.cache
def _routes(service: str) -> list[tuple]:
    """(method, path regex, required query keys, operation name) for a REST service's
    operations, most specific first."""
    model = _model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        required = tuple(
            sorted(k.split("=")[0] for k in query.split("&") if k)
        )  # e.g. ("versioning",) or ("uploads",)
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
        routes.append(
            (http["method"], re.compile(f"^{pattern}$"), required, name, (len(required), literal))
        )
    routes.sort(key=lambda r: r[4], reverse=True)
    return [r[:4] for r in routes]


# S3 operations that share a method and path with another and differ by a header
NEEDS_HEADER = {"CopyObject": "x-amz-copy-source", "UploadPartCopy": "x-amz-copy-source"}


def _rest(
    service: str, method: str, path: str, query: dict, headers: frozenset
) -> tuple[str, dict] | None:
    for route_method, pattern, required, name in _routes(service):
        if route_method != method or not all(k in query for k in required):
            continue
        if NEEDS_HEADER.get(name, "") not in headers | {""}:
            continue
        match = pattern.match(path)
        if match:
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            return name, params
    return None


def identify(
    service: str,
    method: str,
    path: str,
    query_string: str,
    target: str,
    body: bytes,
    headers: frozenset = frozenset(),
) -> Operation | None:
    """The operation of a request to ``service`` (its signing name), or None if unknown.
    ``headers``: the lower-case names of the request's headers."""
    kind = protocol(service)
    query = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
    if kind == "json" or (target and "." in target):
        name = target.rpartition(".")[2]
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return Operation(service, name, "json", params if isinstance(params, dict) else {})
    if kind in ("query", "ec2"):
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        params = {**query, **form}
        name = params.get("Action")
        return Operation(service, name, "query", params) if name else None
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
