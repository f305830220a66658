"""Runtimes: the deprecated ones AWS refuses, and the ones the local cloud can't run, which fail
at once and say so — from Invoke and from a pipeline's Lambda action alike."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from helpers import pipelines

from ..conftest import JOB_TIMEOUT_S
from .conftest import create_function, unique, wait_for_execution, zip_bytes

PACKAGE = zip_bytes({"lambda_function.rb": "def lambda_handler(event:, context:) = 'hi'\n"})


def error_of(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.mark.parametrize(
    ("runtime", "recommended"),
    [("nodejs10.x", "nodejs24.x"), ("python2.7", "python3.14")],
)
def test_deprecated_runtimes_are_refused_with_awss_words(aws, roles, runtime, recommended):
    lam = aws("lambda")
    expected = (
        "InvalidParameterValueException",
        f"The runtime parameter of {runtime} is no longer supported for creating or updating "
        f"AWS Lambda functions. We recommend you use the new runtime ({recommended}) while "
        "creating or updating functions.",
    )
    name = unique("old")
    params = {"Role": roles["lambda"], "Handler": "app.handler", "Code": {"ZipFile": PACKAGE}}
    assert error_of(lam.create_function, FunctionName=name, Runtime=runtime, **params) == expected
    create_function(aws, FunctionName=name, Runtime="python3.12", **params)
    assert error_of(lam.update_function_configuration, FunctionName=name, Runtime=runtime) == (
        expected
    )


@pytest.fixture(scope="module")
def ruby_function(cloud):
    """A function AWS would run and the local cloud can't."""
    name = unique("ruby")
    create_function(
        cloud.client,
        FunctionName=name,
        Runtime="ruby3.4",
        Role=cloud.roles["lambda"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": PACKAGE},
    )
    return name


@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event"])
def test_invoking_a_runtime_the_local_cloud_cannot_run_fails_at_once(
    aws, ruby_function, invocation_type
):
    lam = aws("lambda")
    started = time.monotonic()
    with pytest.raises(lam.exceptions.InvalidRuntimeException) as raised:
        lam.invoke(FunctionName=ruby_function, InvocationType=invocation_type, Payload=b"{}")
    assert time.monotonic() - started < 2
    message = raised.value.response["Error"]["Message"]
    assert "ruby3.4" in message and "python3.x" in message


def test_a_pipeline_action_on_such_a_function_fails_within_seconds_naming_it(
    aws, roles, ruby_function
):
    s3, cp = aws("s3"), aws("codepipeline")
    source, store = unique("src"), unique("store")
    for bucket in (source, store):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=source, Key="site.zip", Body=zip_bytes({"index.html": "<h1>Hi</h1>"}))
    name = unique("ruby-pipe")
    started = time.monotonic()
    cp.create_pipeline(
        pipeline={
            "name": name,
            "roleArn": roles["pipeline"],
            "artifactStore": {"type": "S3", "location": store},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        pipelines.s3_source_action("Source", source, "site.zip", "SourceArtifact")
                    ],
                },
                {
                    "name": "LambdaStage",
                    "actions": [pipelines.lambda_action("Check", ruby_function, "{}")],
                },
            ],
        }
    )
    (first,) = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    execution = wait_for_execution(cp, name, first["pipelineExecutionId"])
    assert execution["status"] == "Failed"
    assert time.monotonic() - started < JOB_TIMEOUT_S, "no waiting for a result"
    (check,) = [
        d
        for d in cp.list_action_executions(
            pipelineName=name, filter={"pipelineExecutionId": first["pipelineExecutionId"]}
        )["actionExecutionDetails"]
        if d["actionName"] == "Check"
    ]
    message = check["output"]["executionResult"]["errorDetails"]["message"]
    assert "ruby3.4" in message
