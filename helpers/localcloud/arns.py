"""Every ARN the local cloud builds, in one place (as moto's ``awslambda/utils.py``)."""

from __future__ import annotations


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    """A function's ARN from its name, partial ARN (``ACCOUNT:function:NAME``) or full ARN."""
    if name.startswith("arn:"):
        arn = name
    elif ":function:" in name:
        arn = f"arn:aws:lambda:{region}:{name}"
    else:
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn


def pipeline_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:codepipeline:{region}:{account}:{name}"


def log_group_arn(region: str, account: str, group: str, stream: str | None = None) -> str:
    if stream:
        return f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}"
    return f"arn:aws:logs:{region}:{account}:log-group:{group}:*"


def stack_arn(region: str, account: str, name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"


def s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"


def role_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def assumed_role_arn(account: str, role: str, session: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role.rsplit('/', 1)[-1]}/{session}"


def runtime_version_arn(region: str, digest: str) -> str:
    """A Lambda runtime version, e.g. ``arn:aws:lambda:us-east-1::runtime:<64 hex>``."""
    return f"arn:aws:lambda:{region}::runtime:{digest}"
