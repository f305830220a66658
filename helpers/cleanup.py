"""Step 5 of the page: delete everything the workbook created — in dependency order,
idempotently — and list what is left (nothing, when it worked).

Notebook 08 makes these deletes in its own cells, each guarded by ``deleting(...)``;
``clean_up(book)`` is the same sequence in one call (for a second run, or a facilitator's
sweep), and ``remaining(book)`` asks every service what still carries the workbook's prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from . import timings
from .workbook import Workbook

GONE = {
    "NoSuchEntity",
    "NoSuchBucket",
    "ResourceNotFoundException",
    "PipelineNotFoundException",
    "NoSuchBucketPolicy",
    "404",
}


@contextmanager
def deleting(what: str, *already_gone: type[Exception]) -> Iterator[None]:
    """Run the delete in the ``with`` block and say what happened: "deleted <what>", or
    "<what>: already gone (<error code>)" when it raised one of ``already_gone`` — the specific
    "not found" errors that make a second run of the same cell harmless. Anything else raises."""
    try:
        yield
    except already_gone as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        print(f"{what}: already gone ({code})")
    else:
        print(f"deleted {what}")


def _ignore_missing(call, *args, **kwargs) -> bool:
    """Run a delete; True if it deleted something, False if it was already gone."""
    try:
        call(*args, **kwargs)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in GONE:
            return False
        raise


def delete_pipeline(book: Workbook) -> bool:
    codepipeline = book.client("codepipeline")
    try:
        codepipeline.get_pipeline(name=book.names.pipeline)
    except ClientError:
        return False  # DeletePipeline itself doesn't say whether there was one
    codepipeline.delete_pipeline(name=book.names.pipeline)
    return True


def delete_stack(book: Workbook) -> bool:
    cloudformation = book.client("cloudformation")
    try:
        cloudformation.describe_stacks(StackName=book.names.stack)
    except ClientError:
        return False
    cloudformation.delete_stack(StackName=book.names.stack)
    cloudformation.get_waiter("stack_delete_complete").wait(
        StackName=book.names.stack, WaiterConfig={"Delay": 1 if book.endpoint else 5}
    )
    return True


def delete_function(book: Workbook, name: str) -> bool:
    deleted = _ignore_missing(book.client("lambda").delete_function, FunctionName=name)
    _ignore_missing(book.client("logs").delete_log_group, logGroupName=f"/aws/lambda/{name}")
    return deleted


def delete_lambda_role(book: Workbook) -> bool:
    """Detach and delete CodePipelineLambdaExecPolicy (its non-default versions first), delete
    the role's inline policies (if an exercise added one), then the role."""
    iam = book.client("iam")
    arn = f"arn:aws:iam::{book.account}:policy/{book.names.lambda_policy}"
    _ignore_missing(iam.detach_role_policy, RoleName=book.names.lambda_role, PolicyArn=arn)
    try:
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    except ClientError:
        versions = []
    for version in versions:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    _ignore_missing(iam.delete_policy, PolicyArn=arn)
    return _delete_role(book, book.names.lambda_role)


def delete_pipeline_role(book: Workbook) -> bool:
    return _delete_role(book, book.names.pipeline_role)


def _delete_role(book: Workbook, role: str) -> bool:
    """A role can only be deleted without policies: detach the managed ones, delete the
    inline ones, then the role."""
    iam = book.client("iam")
    try:
        for policy in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] not in GONE:
            raise
    return _ignore_missing(iam.delete_role, RoleName=role)


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object version and delete marker (a versioned bucket keeps them all);
    returns how many were deleted."""
    count = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):  # DeleteObjects takes up to 1000 keys
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000]})
        count += len(doomed)
    return count


def empty_and_delete_bucket(book: Workbook, bucket: str) -> bool:
    """Empty the bucket (every version), then delete it (its policy goes with it)."""
    s3 = book.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    empty_bucket(s3, bucket)
    return _ignore_missing(s3.delete_bucket, Bucket=bucket)


def clean_up(book: Workbook) -> list[str]:
    """Delete it all, pipeline first (it uses everything else); returns what was deleted."""
    names = book.names
    deleted = []
    steps = (
        [
            (f"pipeline {names.pipeline}", lambda: delete_pipeline(book)),
            (f"stack {names.stack}", lambda: delete_stack(book)),
            (
                f"function {names.health_function}",
                lambda: delete_function(book, names.health_function),
            ),
            (
                f"function {names.deployer_function}",
                lambda: delete_function(book, names.deployer_function),
            ),
        ]
        + [
            # 07's experiment functions, if a learner stopped before 07 deleted them
            (f"function {name}", lambda n=name: delete_function(book, n))
            for name in timings.experiment_functions(book)
        ]
        + [
            (
                f"role {names.lambda_role} and policy {names.lambda_policy}",
                lambda: delete_lambda_role(book),
            ),
            (f"role {names.pipeline_role}", lambda: delete_pipeline_role(book)),
        ]
        + [
            (f"bucket {bucket}", lambda b=bucket: empty_and_delete_bucket(book, b))
            for bucket in (names.site_bucket, names.source_bucket, names.artifact_bucket)
        ]
    )
    for label, step in steps:
        if step():
            deleted.append(label)
    return deleted


def remaining(book: Workbook) -> list[str]:
    """Everything that still carries the workbook's prefix, asked of each service."""
    prefix = book.names.prefix + "-"
    left = []
    codepipeline = book.client("codepipeline")
    left += [
        f"pipeline {p['name']}"
        for p in codepipeline.list_pipelines()["pipelines"]
        if p["name"].startswith(prefix)
    ]
    lam = book.client("lambda")
    for page in lam.get_paginator("list_functions").paginate():
        left += [
            f"function {f['FunctionName']}"
            for f in page["Functions"]
            if f["FunctionName"].startswith(prefix)
        ]
    iam = book.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        left += [f"role {r['RoleName']}" for r in page["Roles"] if r["RoleName"].startswith(prefix)]
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        left += [
            f"policy {p['PolicyName']}"
            for p in page["Policies"]
            if p["PolicyName"].startswith(prefix)
        ]
    s3 = book.client("s3")
    left += [
        f"bucket {b['Name']}" for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(prefix)
    ]
    cloudformation = book.client("cloudformation")
    for page in cloudformation.get_paginator("list_stacks").paginate():
        left += [
            f"stack {s['StackName']}"
            for s in page["StackSummaries"]
            if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE"
        ]
    logs = book.client("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=f"/aws/lambda/{prefix}"
    ):
        left += [f"log group {g['logGroupName']}" for g in page["logGroups"]]
    return sorted(left)
