"""The workbook's policies are what its calls need, with IAM enforced as on AWS.

The page's broad policy is the "before" (the notebooks use it, and `make test` re-runs them all
against a local cloud that enforces IAM); the least-privilege policy is the "after": both must
let a release through every stage, and taking a permission away must show where it was needed.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from helpers import pipelines, resources, workbook


@pytest.fixture
def book(local_cloud, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
    monkeypatch.setenv("WORKBOOK_PREFIX", f"lp{uuid.uuid4().hex[:6]}")
    session = boto3.Session(
        aws_access_key_id=local_cloud.owner.access_key_id,
        aws_secret_access_key=local_cloud.owner.secret_access_key,
        region_name="us-east-1",
    )
    book = workbook.Workbook(session, "123456789012", "local")
    resources.catch_up(book, "07")  # everything notebooks 01-06 create, with the page's policies
    return book


def use_policy(book, document: dict) -> None:
    """Make ``document`` the execution role policy's default version (as "Edit policy")."""
    iam = book.client("iam")
    arn = resources.policy_arn(book)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)


def release(book) -> tuple[dict, dict[str, dict]]:
    codepipeline = book.client("codepipeline")
    execution = pipelines.release_and_wait(codepipeline, book.names.pipeline)
    runs = pipelines.action_executions(
        codepipeline, book.names.pipeline, execution["pipelineExecutionId"]
    )
    return execution, {run["actionName"]: run for run in runs}


def log_lines(book, function: str) -> list[str]:
    logs = book.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    return [event["message"] for event in events]


def test_the_pages_policies_let_every_stage_through(book):
    execution, runs = release(book)
    assert execution["status"] == "Succeeded", [pipelines.action_summary(r) for r in runs.values()]
    assert {"MyLambdaAction", "DeployStack"} <= set(runs)


def test_the_least_privilege_policy_lets_every_stage_through(book):
    policy = resources.least_privilege_policy(book, deploys_stacks=True)
    assert not any("*" == s["Resource"] for s in policy["Statement"] if "logs:" in str(s))
    resources.set_lambda_policy(book, policy)
    book.client("s3").put_object(  # a changed template, so the stack is really updated
        Bucket=book.names.source_bucket,
        Key=book.names.template_key,
        Body=resources.packaging.template_package(
            '{"Resources": {"MySampleBucket": {"Type": "AWS::S3::Bucket", '
            '"Properties": {"Tags": [{"Key": "v", "Value": "2"}]}}}}'
        ),
    )
    execution, runs = release(book)
    assert execution["status"] == "Succeeded", [pipelines.action_summary(r) for r in runs.values()]
    for function in (book.names.health_function, book.names.deployer_function):
        assert any(line.startswith("REPORT RequestId:") for line in log_lines(book, function))


def test_without_the_stack_statements_the_deploy_fails_with_access_denied(book):
    resources.set_lambda_policy(book, resources.least_privilege_policy(book))
    execution, runs = release(book)
    assert execution["status"] == "Failed"
    assert runs["MyLambdaAction"]["status"] == "Succeeded"
    message = runs["DeployStack"]["output"]["executionResult"]["errorDetails"]["message"]
    assert "AccessDenied" in message and "cloudformation:DescribeStacks" in message
