"""Public buckets as AWS has them: Block Public Access on new buckets, and anonymous reads
allowed only by a public bucket policy.

The health check fetches the deployed sample site with a plain HTTP GET, no signature. AWS
answers such a request only when a bucket policy grants s3:GetObject to everyone and Block
Public Access doesn't forbid it; otherwise 403 AccessDenied. Since April 2023 every new bucket
starts with all four Block Public Access settings on, so a public policy is refused until they
are relaxed. The local cloud does the same, so the workbook's steps are the ones AWS needs.
"""

from __future__ import annotations

import fnmatch
import json

from moto.s3.exceptions import MissingBucket

from . import backends

# IAM has no s3:HeadObject: AWS authorizes a HEAD of an object as s3:GetObject (and of a
# bucket as s3:ListBucket). moto asks the bucket policy about "s3:HeadObject", which no policy
# grants, so an anonymous HEAD of a public object got 403 where AWS answers 200.
IAM_NAME_OF = {"s3:HeadObject": "s3:GetObject", "s3:HeadBucket": "s3:ListBucket"}


def install() -> None:
    """Patch moto's ``FakeBucket.get_permission`` to ask the bucket policy about the IAM
    action AWS checks (IAM_NAME_OF) rather than the HTTP method's name."""
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission
    if getattr(original, "_localcloud", False):
        return

    def get_permission(self, action: str, resource: str):
        return original(self, IAM_NAME_OF.get(action, action), resource)

    get_permission._localcloud = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission


def _matches(patterns, value: str) -> bool:
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _public_principal(principal) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def block_public_access(bucket_name: str) -> None:
    """What AWS does to every new bucket: all four Block Public Access settings on."""
    backends.s3().put_public_access_block(
        bucket_name,
        {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def is_public_policy(policy: dict) -> bool:
    """A policy that allows something to everyone (Principal "*")."""
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return any(
        s.get("Effect") == "Allow" and _public_principal(s.get("Principal")) for s in statements
    )


def policy_refused(bucket_name: str, body: bytes) -> str | None:
    """AWS's AccessDenied message if Block Public Access refuses this bucket policy."""
    try:
        bucket = backends.s3().get_bucket(bucket_name)
        policy = json.loads(body or b"{}")
    except (MissingBucket, ValueError):
        return None  # moto answers these itself
    block = bucket.public_access_block
    if block is None or str(block.block_public_policy).lower() != "true":
        return None
    if not isinstance(policy, dict) or not is_public_policy(policy):
        return None
    return (
        f"User: arn:aws:iam::{backends.ACCOUNT_ID}:root is not authorized to perform: "
        f's3:PutBucketPolicy on resource: "arn:aws:s3:::{bucket_name}" because public policies '
        "are blocked by the BlockPublicPolicy block public access setting."
    )


def anonymous_read_allowed(bucket_name: str, key: str) -> bool:
    """True if the bucket policy lets anyone GetObject this key and nothing blocks it."""
    try:
        bucket = backends.s3().get_bucket(bucket_name)
    except MissingBucket:
        return False
    block = bucket.public_access_block
    if block is not None and str(block.restrict_public_buckets).lower() == "true":
        return False
    if not bucket.policy:
        return False
    try:
        policy = json.loads(bucket.policy)
    except ValueError:
        return False
    resource = f"arn:aws:s3:::{bucket_name}/{key}"
    allowed = False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if not _public_principal(statement.get("Principal")):
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        if not _matches(actions, "s3:getobject"):
            continue
        if not _matches(statement.get("Resource", []), resource):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def split_path(path: str) -> tuple[str, str]:
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key
