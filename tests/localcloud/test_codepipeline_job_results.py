"""Job results are checked as the model says: a bad one is refused and the job stays open.

The function reports each bad result itself, with its role's credentials and a boto3 client
that leaves every check to the service (``parameter_validation=False``: botocore checks
only types and minimums), records what CodePipeline answered, then reports a good result —
which must still be accepted.
"""

from __future__ import annotations

import pytest

from .pipeline_kit import (
    actions,
    create,
    declaration,
    lambda_action,
    python_function,
    records,
    source_world,
)

REFUSALS = """
import json, os, time, boto3
from botocore.config import Config

codepipeline = boto3.client("codepipeline")
unchecked = boto3.client("codepipeline", config=Config(parameter_validation=False))
s3 = boto3.client("s3")

def cases(job):
    failure = {"type": "JobFailed", "message": "broken"}
    return {
        "job id not a UUID": ("success", {"jobId": "not-a-uuid"}),
        "summary of 3000": ("success", {"jobId": job, "executionDetails": {"summary": "s" * 3000}}),
        "external id of 1600": (
            "success", {"jobId": job, "executionDetails": {"externalExecutionId": "e" * 1600}}),
        "percent 101": ("success", {"jobId": job, "executionDetails": {"percentComplete": 101}}),
        "percent -1": ("success", {"jobId": job, "executionDetails": {"percentComplete": -1}}),
        "token of 2100": ("success", {"jobId": job, "continuationToken": "t" * 2100}),
        "variable key with a space": ("success", {"jobId": job, "outputVariables": {"a b": "x"}}),
        "variables over the quota": (
            "success", {"jobId": job, "outputVariables": {"big": "x" * 122880}}),
        "variables with a token": (
            "success", {"jobId": job, "continuationToken": "t", "outputVariables": {"a": "b"}}),
        "message of 6000": (
            "failure", {"jobId": job, "failureDetails": {**failure, "message": "m" * 6000}}),
        "type outside the enum": (
            "failure", {"jobId": job, "failureDetails": {**failure, "type": "Oops"}}),
        "failure without a message": (
            "failure", {"jobId": job, "failureDetails": {"type": "JobFailed"}}),
    }

def attempt(kind, params):
    success = kind == "success"
    call = unchecked.put_job_success_result if success else unchecked.put_job_failure_result
    try:
        call(**params)
        return ["accepted", ""]
    except unchecked.exceptions.ClientError as error:
        return [error.response["Error"]["Code"], error.response["Error"]["Message"]]

def handler(event, context):
    job = event["CodePipeline.job"]["id"]
    results = {name: attempt(*case) for name, case in cases(job).items()}
    s3.put_object(Bucket=os.environ["RECORDS"], Key="results/" + job,
                  Body=json.dumps({"t": time.time(), "job": job, "results": results}))
    codepipeline.put_job_success_result(
        jobId=job, executionDetails={"summary": "accepted after every refusal"},
        outputVariables={"fine": "yes"})
"""

PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LENGTH = "failed to satisfy constraint: Member must have length less than or equal to"


@pytest.fixture(scope="module")
def refused(aws, roles):
    """What CodePipeline answered each bad result of one job, and that job's action row."""
    world = source_world(aws, roles)
    function = python_function(aws, roles, REFUSALS, {"RECORDS": world["records"]}, timeout=30)
    stage = {"name": "Report", "actions": [lambda_action("Report", function)]}
    name = create(aws, declaration(world, stage))
    (record,) = records(aws, world["records"], "results/")
    execution_id = aws("codepipeline").list_pipeline_executions(pipelineName=name)[
        "pipelineExecutionSummaries"
    ][0]["pipelineExecutionId"]
    return record["results"], actions(aws, name, execution_id)["Report"]


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        (
            "job id not a UUID",
            "ValidationException",
            "1 validation error detected: Value 'not-a-uuid' at 'jobId' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {PATTERN}",
        ),
        ("summary of 3000", "ValidationException", f"at 'executionDetails.summary' {LENGTH} 2048"),
        (
            "external id of 1600",
            "ValidationException",
            f"at 'executionDetails.externalExecutionId' {LENGTH} 1500",
        ),
        (
            "percent 101",
            "ValidationException",
            "Value '101' at 'executionDetails.percentComplete' failed to satisfy constraint: "
            "Member must have value less than or equal to 100",
        ),
        (
            "percent -1",
            "ValidationException",
            "Member must have value greater than or equal to 0",
        ),
        ("token of 2100", "ValidationException", f"at 'continuationToken' {LENGTH} 2048"),
        (
            "variable key with a space",
            "ValidationException",
            "Value 'a b' at 'outputVariables' failed to satisfy constraint: Map keys must "
            "satisfy constraint: [Member must satisfy regular expression pattern: "
            "[A-Za-z0-9@\\-_]+]",
        ),
        ("variables over the quota", "OutputVariablesSizeExceededException", "122880 bytes"),
        ("variables with a token", "ValidationException", "don't send a continuationToken"),
        ("message of 6000", "ValidationException", f"at 'failureDetails.message' {LENGTH} 5000"),
        (
            "type outside the enum",
            "ValidationException",
            "Value 'Oops' at 'failureDetails.type' failed to satisfy constraint: Member must "
            "satisfy enum value set: [JobFailed, ConfigurationError, PermissionError, "
            "RevisionOutOfSync, RevisionUnavailable, SystemUnavailable]",
        ),
        (
            "failure without a message",
            "ValidationException",
            "Value null at 'failureDetails.message' failed to satisfy constraint: Member must "
            "not be null",
        ),
    ],
)
def test_a_bad_result_is_refused_with_the_modelled_error(refused, case, code, message):
    results, _ = refused
    got_code, got_message = results[case]
    assert got_code == code
    assert message in got_message


def test_the_job_stays_open_and_the_good_result_ends_it(refused):
    _, row = refused
    assert row["status"] == "Succeeded"
    result = row["output"]["executionResult"]
    assert result["externalExecutionSummary"] == "accepted after every refusal"
    assert row["output"]["outputVariables"] == {"fine": "yes"}
