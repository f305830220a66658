"""Step 5 of the page: delete everything the workbook created — in dependency order,
idempotently — and list what is left (nothing, when it worked)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from .workbook import Workbook

GONE = {
    "NoSuchEntity",
    "NoSuchBucket",
    "ResourceNotFoundException",
    "PipelineNotFoundException",
    "NoSuchBucketPolicy",
    "404",
}


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
        StackName=book.names.stack, WaiterConfig={"Delay": 1 if book.target == "local" else 5}
    )
    return True


def delete_function(book: Workbook, name: str) -> bool:
    deleted = _ignore_missing(book.client("lambda").delete_function, FunctionName=name)
    _ignore_missing(book.client("logs").delete_log_group, logGroupName=f"/aws/lambda/{name}")
    return deleted


def delete_lambda_role(book: Workbook) -> bool:
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
    return _ignore_missing(iam.delete_role, RoleName=book.names.lambda_role)


def delete_pipeline_role(book: Workbook) -> bool:
    iam = book.client("iam")
    role = book.names.pipeline_role
    try:
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] not in GONE:
            raise
    return _ignore_missing(iam.delete_role, RoleName=role)


def empty_and_delete_bucket(book: Workbook, bucket: str) -> bool:
    """Delete every object version and delete marker, the policy, then the bucket."""
    s3 = book.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000]})
    _ignore_missing(s3.delete_bucket_policy, Bucket=bucket)
    return _ignore_missing(s3.delete_bucket, Bucket=bucket)


def clean_up(book: Workbook) -> list[str]:
    """Delete it all, pipeline first (it uses everything else); returns what was deleted."""
    names = book.names
    deleted = []
    steps = [
        (f"pipeline {names.pipeline}", lambda: delete_pipeline(book)),
        (f"stack {names.stack}", lambda: delete_stack(book)),
        (f"function {names.health_function}", lambda: delete_function(book, names.health_function)),
        (
            f"function {names.deployer_function}",
            lambda: delete_function(book, names.deployer_function),
        ),
        (
            f"role {names.lambda_role} and policy {names.lambda_policy}",
            lambda: delete_lambda_role(book),
        ),
        (f"role {names.pipeline_role}", lambda: delete_pipeline_role(book)),
    ] + [
        (f"bucket {bucket}", lambda b=bucket: empty_and_delete_bucket(book, b))
        for bucket in (names.site_bucket, names.source_bucket, names.artifact_bucket)
    ]
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
