"""Bad input gets the error CodePipeline's model declares for the operation — never a 500.

Calls go through a boto3 client with ``parameter_validation=False`` where they must reach the
service unchecked (botocore itself checks only types and minimums).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from helpers.localcloud.codepipeline.responses import OPERATIONS

from .conftest import unique
from .pipeline_kit import (
    create,
    declaration,
    error_of,
    finish_all,
    lambda_action,
    python_function,
    source_world,
)

# Errors any operation of a JSON service may answer besides its own (AWS's common errors).
COMMON = {"ValidationException", "SerializationException"}
NOWHERE = str(uuid.UUID(int=0))
REPORTS = """
import boto3
def handler(event, context):
    boto3.client("codepipeline").put_job_success_result(jobId=event["CodePipeline.job"]["id"])
"""


@pytest.fixture(scope="module")
def unchecked(cloud):
    """A CodePipeline client that leaves every check to the service."""
    session = boto3.Session(
        aws_access_key_id=cloud.owner.access_key_id,
        aws_secret_access_key=cloud.owner.secret_access_key,
        region_name="us-east-1",
    )
    return session.client(
        "codepipeline",
        endpoint_url=cloud.endpoint,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def pipeline(aws, roles) -> dict:
    """A pipeline that ran once: its name, ARN and that execution's id."""
    world = source_world(aws, roles)
    function = python_function(aws, roles, REPORTS)
    name = create(
        aws, declaration(world, {"name": "Check", "actions": [lambda_action("Check", function)]})
    )
    cp = aws("codepipeline")
    (execution,) = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    arn = cp.get_pipeline(name=name)["metadata"]["pipelineArn"]
    return {"name": name, "arn": arn, "execution": execution["pipelineExecutionId"]}


def bad_calls(p: dict) -> list[tuple[str, dict, str]]:
    """(operation, parameters, the error CodePipeline answers) for every emulated operation."""
    name, arn, execution = p["name"], p["arn"], p["execution"]
    one_stage = {
        "name": unique("one"),
        "roleArn": "arn:aws:iam::123456789012:role/test-pipeline-role",
        "artifactStore": {"type": "S3", "location": "some-bucket"},
        "stages": [{"name": "Only", "actions": []}],
    }
    return [
        ("CreatePipeline", {}, "ValidationException"),
        ("CreatePipeline", {"pipeline": {"name": "x"}}, "ValidationException"),
        ("CreatePipeline", {"pipeline": one_stage}, "InvalidStructureException"),
        (
            "UpdatePipeline",
            {"pipeline": {**one_stage, "name": "nope"}},
            "InvalidStructureException",
        ),
        ("GetPipeline", {"name": "nope"}, "PipelineNotFoundException"),
        ("GetPipeline", {"name": name, "version": 0}, "ValidationException"),
        ("GetPipeline", {"name": name, "version": 99}, "PipelineVersionNotFoundException"),
        ("GetPipeline", {"name": name, "version": "two"}, "SerializationException"),
        ("DeletePipeline", {"name": "not a name!"}, "ValidationException"),
        ("ListPipelines", {"nextToken": "garbage"}, "InvalidNextTokenException"),
        ("ListPipelines", {"maxResults": 0}, "ValidationException"),
        ("TagResource", {"resourceArn": "arn:aws:s3:::b", "tags": []}, "ValidationException"),
        ("TagResource", {"resourceArn": arn + "x", "tags": []}, "ResourceNotFoundException"),
        ("TagResource", {"resourceArn": arn + ":x", "tags": []}, "InvalidArnException"),
        ("UntagResource", {"resourceArn": arn, "tagKeys": ["aws:x"]}, "InvalidTagsException"),
        (
            "ListTagsForResource",
            {"resourceArn": arn, "nextToken": "g"},
            "InvalidNextTokenException",
        ),
        ("StartPipelineExecution", {"name": "nope"}, "PipelineNotFoundException"),
        (
            "StartPipelineExecution",
            {"name": name, "clientRequestToken": "no spaces"},
            "ValidationException",
        ),
        (
            "StartPipelineExecution",
            {"name": name, "variables": [{"name": "Undeclared", "value": "x"}]},
            "ValidationException",
        ),
        (
            "StopPipelineExecution",
            {"pipelineName": "nope", "pipelineExecutionId": NOWHERE},
            "PipelineNotFoundException",
        ),
        (
            "StopPipelineExecution",
            {"pipelineName": name, "pipelineExecutionId": NOWHERE},
            "PipelineExecutionNotStoppableException",
        ),
        (
            "StopPipelineExecution",
            {"pipelineName": name, "pipelineExecutionId": execution},
            "PipelineExecutionNotStoppableException",
        ),
        (
            "StopPipelineExecution",
            {"pipelineName": name, "pipelineExecutionId": "42"},
            "ValidationException",
        ),
        (
            "RetryStageExecution",
            {
                "pipelineName": name,
                "stageName": "Check",
                "pipelineExecutionId": execution,
                "retryMode": "SOME",
            },
            "ValidationException",
        ),
        (
            "RetryStageExecution",
            {
                "pipelineName": name,
                "stageName": "Nope",
                "pipelineExecutionId": execution,
                "retryMode": "FAILED_ACTIONS",
            },
            "StageNotFoundException",
        ),
        (
            "RetryStageExecution",
            {
                "pipelineName": name,
                "stageName": "Check",
                "pipelineExecutionId": execution,
                "retryMode": "FAILED_ACTIONS",
            },
            "StageNotRetryableException",
        ),
        (
            "RetryStageExecution",
            {
                "pipelineName": name,
                "stageName": "Check",
                "pipelineExecutionId": NOWHERE,
                "retryMode": "ALL_ACTIONS",
            },
            "StageNotRetryableException",
        ),
        (
            "RollbackStage",
            {"pipelineName": "nope", "stageName": "Check", "targetPipelineExecutionId": NOWHERE},
            "PipelineNotFoundException",
        ),
        (
            "RollbackStage",
            {"pipelineName": name, "stageName": "Nope", "targetPipelineExecutionId": execution},
            "StageNotFoundException",
        ),
        (
            "RollbackStage",
            {"pipelineName": name, "stageName": "Check", "targetPipelineExecutionId": NOWHERE},
            "PipelineExecutionNotFoundException",
        ),
        (
            "RollbackStage",
            {"pipelineName": name, "stageName": "Source", "targetPipelineExecutionId": execution},
            "UnableToRollbackStageException",
        ),
        (
            "DisableStageTransition",
            {"pipelineName": name, "stageName": "Nope", "transitionType": "Inbound", "reason": "x"},
            "StageNotFoundException",
        ),
        (
            "DisableStageTransition",
            {"pipelineName": name, "stageName": "Check", "transitionType": "Up", "reason": "x"},
            "ValidationException",
        ),
        (
            "EnableStageTransition",
            {"pipelineName": "nope", "stageName": "Check", "transitionType": "Inbound"},
            "PipelineNotFoundException",
        ),
        (
            "OverrideStageCondition",
            {
                "pipelineName": name,
                "stageName": "Check",
                "pipelineExecutionId": execution,
                "conditionType": "BEFORE_ENTRY",
            },
            "ConditionNotOverridableException",
        ),
        ("GetPipelineState", {"name": "nope"}, "PipelineNotFoundException"),
        (
            "GetPipelineExecution",
            {"pipelineName": name, "pipelineExecutionId": NOWHERE},
            "PipelineExecutionNotFoundException",
        ),
        (
            "GetPipelineExecution",
            {"pipelineName": name, "pipelineExecutionId": "not-an-id"},
            "ValidationException",
        ),
        (
            "ListPipelineExecutions",
            {"pipelineName": name, "nextToken": "garbage"},
            "InvalidNextTokenException",
        ),
        (
            "ListPipelineExecutions",
            {"pipelineName": name, "maxResults": 101},
            "ValidationException",
        ),
        (
            "ListPipelineExecutions",
            {"pipelineName": name, "maxResults": "ten"},
            "SerializationException",
        ),
        (
            "ListActionExecutions",
            {"pipelineName": name, "nextToken": "e30="},
            "InvalidNextTokenException",
        ),
        (
            "ListActionExecutions",
            {"pipelineName": name, "filter": {"pipelineExecutionId": NOWHERE}},
            "PipelineExecutionNotFoundException",
        ),
        ("ListActionExecutions", {"pipelineName": "nope"}, "PipelineNotFoundException"),
        ("PutJobSuccessResult", {"jobId": NOWHERE}, "JobNotFoundException"),
        ("PutJobSuccessResult", {"jobId": "not-a-uuid"}, "ValidationException"),
        (
            "PutJobFailureResult",
            {"jobId": NOWHERE, "failureDetails": {"type": "JobFailed", "message": "x"}},
            "JobNotFoundException",
        ),
        ("PutJobFailureResult", {"jobId": NOWHERE}, "ValidationException"),
        ("GetJobDetails", {"jobId": NOWHERE}, "JobNotFoundException"),
    ]


def declared_errors(operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model("codepipeline")
    return {shape.name for shape in model.operation_model(operation).error_shapes}


def test_every_bad_call_gets_its_modelled_error(unchecked, pipeline):
    for operation, params, expected in bad_calls(pipeline):
        call = getattr(unchecked, xform_name(operation))
        try:
            call(**params)
        except unchecked.exceptions.ClientError as raised:
            error = raised.response
        else:
            raise AssertionError(f"{operation} {params} succeeded")
        code = error["Error"]["Code"]
        assert code == expected, (operation, params, error["Error"])
        assert code in declared_errors(operation) | COMMON, (operation, code)
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, (operation, params)


def test_the_table_covers_every_emulated_operation(pipeline):
    assert {operation for operation, _, _ in bad_calls(pipeline)} == OPERATIONS


def test_a_body_that_is_not_json_is_a_serialization_error(cloud):
    for body in (b"{not json", b"[1, 2]"):
        request = AWSRequest(
            method="POST",
            url=cloud.endpoint + "/",
            data=body,
            headers={
                "X-Amz-Target": "CodePipeline_20150709.ListPipelines",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        credentials = Credentials(cloud.owner.access_key_id, cloud.owner.secret_access_key)
        SigV4Auth(credentials, "codepipeline", "us-east-1").add_auth(request)
        sent = urllib.request.Request(
            request.url, data=body, headers=dict(request.headers), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(sent, timeout=10)
        assert refused.value.code == 400
        assert json.loads(refused.value.read())["__type"] == "SerializationException"


def test_pages_follow_their_tokens_and_refuse_others(aws, pipeline):
    cp = aws("codepipeline")
    for _ in range(2):
        cp.start_pipeline_execution(name=pipeline["name"])
    finish_all(aws, pipeline["name"])
    listed = cp.list_pipeline_executions(pipelineName=pipeline["name"])[
        "pipelineExecutionSummaries"
    ]
    paged = []
    token = None
    while True:
        page = cp.list_pipeline_executions(
            pipelineName=pipeline["name"], maxResults=1, **({"nextToken": token} if token else {})
        )
        paged += [s["pipelineExecutionId"] for s in page["pipelineExecutionSummaries"]]
        token = page.get("nextToken")
        if not token:
            break
    assert paged == [s["pipelineExecutionId"] for s in listed]
    first = cp.list_pipeline_executions(pipelineName=pipeline["name"], maxResults=1)
    other = error_of(
        lambda: cp.list_action_executions(
            pipelineName=pipeline["name"], nextToken=first["nextToken"]
        )
    )
    assert other["Code"] == "InvalidNextTokenException", "a token of another request"
    rows = [
        row
        for page in cp.get_paginator("list_action_executions").paginate(
            pipelineName=pipeline["name"], PaginationConfig={"PageSize": 1}
        )
        for row in page["actionExecutionDetails"]
    ]
    everything = cp.list_action_executions(pipelineName=pipeline["name"])["actionExecutionDetails"]
    assert [r["actionExecutionId"] for r in rows] == [r["actionExecutionId"] for r in everything]
