"""The Details links: from an action execution straight to its function's log stream, and the
S3 source's revision summary from the object's metadata."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from .pipeline_kit import (
    actions,
    create,
    declaration,
    lambda_action,
    python_function,
    release,
    source_world,
)

REPORTS = """
import boto3
codepipeline = boto3.client("codepipeline")

def handler(event, context):
    job = event["CodePipeline.job"]["id"]
    mode = event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"].get(
        "UserParameters", "")
    print("checking", job)
    if mode == "fail":
        codepipeline.put_job_failure_result(
            jobId=job, failureDetails={"type": "JobFailed", "message": "it broke"})
    elif mode == "own-id":
        codepipeline.put_job_success_result(
            jobId=job, executionDetails={"externalExecutionId": "deployment-42"})
    else:
        codepipeline.put_job_success_result(jobId=job)
"""


@pytest.fixture(scope="module")
def world(aws, roles):
    world = source_world(aws, roles)
    world["function"] = python_function(aws, roles, REPORTS)
    stage = {
        "name": "Check",
        "actions": [
            lambda_action("Plain", world["function"]),
            lambda_action("OwnId", world["function"], "own-id"),
            lambda_action("Fails", world["function"], "fail", runOrder=2),
        ],
    }
    world["pipeline"] = create(aws, declaration(world, stage))
    return world


def stream_of(url: str, function: str) -> str:
    prefix = f"https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/lambda/{function};stream="
    assert url.startswith(prefix), url
    return unquote(url[len(prefix) :])


def messages(aws, function: str, stream: str) -> list[str]:
    events = aws("logs").get_log_events(
        logGroupName=f"/aws/lambda/{function}", logStreamName=stream, startFromHead=True
    )["events"]
    return [e["message"] for e in events]


def test_a_lambda_action_links_to_the_log_stream_of_its_invocation(aws, world):
    execution = release(aws, world["pipeline"])
    rows = actions(aws, world["pipeline"], execution["pipelineExecutionId"])
    plain = rows["Plain"]["output"]["executionResult"]
    request_id = plain["externalExecutionId"]
    stream = stream_of(plain["externalExecutionUrl"], world["function"])
    logged = messages(aws, world["function"], stream)
    assert any(m.startswith(f"START RequestId: {request_id} ") for m in logged), logged
    own = rows["OwnId"]["output"]["executionResult"]
    assert own["externalExecutionId"] == "deployment-42", "what the function reported"
    assert stream_of(own["externalExecutionUrl"], world["function"])
    failed = rows["Fails"]["output"]["executionResult"]
    assert failed["errorDetails"]["message"] == "it broke"
    stream = stream_of(failed["externalExecutionUrl"], world["function"])
    assert any(
        f"START RequestId: {failed['externalExecutionId']} " in m
        for m in messages(aws, world["function"], stream)
    )


def test_the_pipeline_state_links_to_the_function_and_its_latest_run(aws, world):
    release(aws, world["pipeline"])
    state = aws("codepipeline").get_pipeline_state(name=world["pipeline"])
    source, check = state["stageStates"]
    assert source["actionStates"][0]["entityUrl"] == "https://console.aws.amazon.com/s3/home?#"
    plain = check["actionStates"][0]
    assert plain["entityUrl"] == (
        "https://console.aws.amazon.com/lambda/home?region=us-east-1#/functions/"
        + world["function"]
    )
    assert stream_of(plain["latestExecution"]["externalExecutionUrl"], world["function"])


def test_the_s3_source_revision_summary_comes_from_the_object_metadata(aws, world):
    s3 = aws("s3")
    body = s3.get_object(Bucket=world["source"], Key="site.zip")["Body"].read()
    version = s3.put_object(
        Bucket=world["source"],
        Key="site.zip",
        Body=body,
        Metadata={"codepipeline-artifact-revision-summary": "Fix the heading"},
    )["VersionId"]
    execution = release(aws, world["pipeline"])
    (revision,) = execution["artifactRevisions"]
    assert (revision["revisionId"], revision["revisionSummary"]) == (version, "Fix the heading")
    summary = aws("codepipeline").list_pipeline_executions(pipelineName=world["pipeline"])[
        "pipelineExecutionSummaries"
    ][0]
    assert summary["sourceRevisions"][0]["revisionSummary"] == "Fix the heading"
