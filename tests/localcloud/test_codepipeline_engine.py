"""The local cloud's CodePipeline: releases really run their actions."""

from __future__ import annotations

import json
import time

import pytest

from helpers import pipelines

from ..conftest import JOB_TIMEOUT_S
from .conftest import (
    assert_valid_output,
    create_function,
    log_messages,
    unique,
    wait_for_execution,
    wait_until_updated,
    zip_bytes,
)

LAMBDA = pipelines.LAMBDA_INVOKE

# Reports success and records each job it got (id, token, user parameters, input artifacts).
RECORDING_FUNCTION = """
import json, time, boto3
codepipeline = boto3.client("codepipeline")
s3 = boto3.client("s3")
def handler(event, context):
    job = event["CodePipeline.job"]
    data = job["data"]
    record = {
        "id": job["id"],
        "t": time.time(),
        "token": data.get("continuationToken"),
        "params": data["actionConfiguration"]["configuration"].get("UserParameters"),
        "inputs": data["inputArtifacts"],
        "outputs": data["outputArtifacts"],
        "credential_keys": sorted(data["artifactCredentials"]),
    }
    s3.put_object(Bucket=BUCKET, Key="jobs/" + job["id"], Body=json.dumps(record))
    mode = json.loads(data["actionConfiguration"]["configuration"].get("UserParameters") or "{}")
    if mode.get("fail"):
        codepipeline.put_job_failure_result(jobId=job["id"], failureDetails={
            "type": "JobFailed", "message": mode["fail"],
            "externalExecutionId": context.aws_request_id})
    elif mode.get("continue") and not data.get("continuationToken"):
        codepipeline.put_job_success_result(jobId=job["id"], continuationToken="step-2",
            executionDetails={"summary": "halfway", "percentComplete": 50})
    elif mode.get("silent"):
        print("not reporting on purpose")
    elif mode.get("raise"):
        raise RuntimeError("boom before reporting")
    else:
        for out in data["outputArtifacts"]:
            loc = out["location"]["s3Location"]
            s3.put_object(Bucket=loc["bucketName"], Key=loc["objectKey"], Body=b"made by lambda")
        codepipeline.put_job_success_result(jobId=job["id"],
            executionDetails={"summary": "checked", "externalExecutionId": context.aws_request_id},
            outputVariables={"result": "ok"})
"""


@pytest.fixture
def world(aws, roles, make_function):
    """A versioned source bucket with a site zip, an artifact store, a recording function."""
    s3 = aws("s3")
    names = {k: unique(k) for k in ("source", "store", "site", "records")}
    for bucket in names.values():
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=names["source"], VersioningConfiguration={"Status": "Enabled"})
    site = zip_bytes({"index.html": "<h1>Congratulations</h1>", "css/site.css": "h1{}"})
    names["version"] = s3.put_object(Bucket=names["source"], Key="site.zip", Body=site)["VersionId"]
    names["function"] = make_function(
        RECORDING_FUNCTION.replace("BUCKET", repr(names["records"])), timeout=10
    )
    names["role"] = roles["pipeline"]
    return names


def jobs_seen(aws, world) -> list[dict]:
    listing = aws("s3").list_objects_v2(Bucket=world["records"], Prefix="jobs/")
    records = [
        json.loads(aws("s3").get_object(Bucket=world["records"], Key=o["Key"])["Body"].read())
        for o in listing.get("Contents", [])
    ]
    return sorted(records, key=lambda r: r["t"])


def source_stage(world):
    source = pipelines.s3_source_action("Source", world["source"], "site.zip", "SourceArtifact")
    return {"name": "Source", "actions": [source]}


def lambda_action(world, name="MyLambdaAction", params=None, run_order=1, outputs=()):
    return {
        "name": name,
        "actionTypeId": LAMBDA,
        "runOrder": run_order,
        "configuration": {
            "FunctionName": world["function"],
            "UserParameters": json.dumps(params or {}),
        },
        "inputArtifacts": [{"name": "SourceArtifact"}],
        "outputArtifacts": [{"name": o} for o in outputs],
    }


def create(aws, world, *stages, name=None):
    name = name or unique("pipe")
    aws("codepipeline").create_pipeline(
        pipeline={
            "name": name,
            "roleArn": world["role"],
            "artifactStore": {"type": "S3", "location": world["store"]},
            "stages": [source_stage(world), *stages],
            "pipelineType": "V2",
        }
    )
    # AWS runs a new pipeline once; let that first run end before the test's own release.
    cp = aws("codepipeline")
    for summary in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]:
        wait_for_execution(cp, name, summary["pipelineExecutionId"])
    return name


def release(aws, pipeline) -> dict:
    cp = aws("codepipeline")
    execution_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    return wait_for_execution(cp, pipeline, execution_id)


def actions(aws, pipeline, execution_id):
    details = aws("codepipeline").list_action_executions(
        pipelineName=pipeline, filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    return {d["actionName"]: d for d in details}


def test_creating_a_pipeline_runs_it_once(aws, world):
    name = create(aws, world, {"name": "LambdaStage", "actions": [lambda_action(world)]})
    summaries = aws("codepipeline").list_pipeline_executions(pipelineName=name)[
        "pipelineExecutionSummaries"
    ]
    assert [s["trigger"]["triggerType"] for s in summaries] == ["CreatePipeline"]
    assert summaries[0]["status"] == "Succeeded"


def test_release_runs_the_lambda_with_the_documented_job_event(aws, world):
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [lambda_action(world)]})
    before = len(jobs_seen(aws, world))
    execution = release(aws, pipeline)
    assert execution["status"] == "Succeeded"
    assert execution["artifactRevisions"][0]["revisionId"] == world["version"]
    job = jobs_seen(aws, world)[before]
    assert job["token"] is None
    assert job["credential_keys"] == [
        "accessKeyId",
        "expirationTime",
        "secretAccessKey",
        "sessionToken",
    ]
    (artifact,) = job["inputs"]
    assert artifact["name"] == "SourceArtifact"
    assert artifact["revision"] == world["version"]
    location = artifact["location"]
    assert location["type"] == "S3"
    assert location["s3Location"]["bucketName"] == world["store"]
    assert location["s3Location"]["objectKey"].startswith(f"{pipeline[:20]}/SourceArti/")
    # the artifact the function was handed is the source zip, copied into the store
    stored = (
        aws("s3")
        .get_object(Bucket=world["store"], Key=location["s3Location"]["objectKey"])["Body"]
        .read()
    )
    assert stored.startswith(b"PK")
    detail = actions(aws, pipeline, execution["pipelineExecutionId"])["MyLambdaAction"]
    assert detail["status"] == "Succeeded"
    assert detail["output"]["executionResult"]["externalExecutionSummary"] == "checked"
    assert detail["output"]["outputVariables"] == {"result": "ok"}


def test_run_order_parallel_and_sequential_and_artifacts_by_name(aws, world):
    stage = {
        "name": "Checks",
        "actions": [
            lambda_action(world, "First", run_order=1, outputs=["Made"]),
            lambda_action(world, "AlsoFirst", run_order=1),
            {
                **lambda_action(world, "Second", run_order=2),
                "inputArtifacts": [{"name": "Made"}],
            },
        ],
    }
    pipeline = create(aws, world, stage)
    execution = release(aws, pipeline)
    assert execution["status"] == "Succeeded"
    runs = actions(aws, pipeline, execution["pipelineExecutionId"])
    assert runs["Second"]["startTime"] >= max(
        runs["First"]["lastUpdateTime"], runs["AlsoFirst"]["lastUpdateTime"]
    )
    made = runs["First"]["output"]["outputArtifacts"][0]["s3location"]
    assert runs["Second"]["input"]["inputArtifacts"][0]["s3location"] == made
    assert aws("s3").get_object(Bucket=made["bucket"], Key=made["key"])["Body"].read() == (
        b"made by lambda"
    )


def test_s3_deploy_extracts_the_site(aws, world):
    deploy = {
        "name": "Deploy",
        "actions": [pipelines.s3_deploy_action("DeploySite", world["site"], "SourceArtifact")],
    }
    pipeline = create(aws, world, deploy)
    assert release(aws, pipeline)["status"] == "Succeeded"
    page = aws("s3").get_object(Bucket=world["site"], Key="index.html")
    assert page["Body"].read() == b"<h1>Congratulations</h1>"
    assert page["ContentType"] == "text/html"
    assert aws("s3").head_object(Bucket=world["site"], Key="css/site.css")["ContentType"] == (
        "text/css"
    )


def test_failure_result_fails_the_action_with_its_message(aws, world):
    action = lambda_action(world, params={"fail": "Page did not contain Congratulations"})
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [action]})
    execution = release(aws, pipeline)
    assert execution["status"] == "Failed"
    detail = actions(aws, pipeline, execution["pipelineExecutionId"])["MyLambdaAction"]
    assert detail["status"] == "Failed"
    result = detail["output"]["executionResult"]
    assert result["errorDetails"] == {
        "code": "JobFailed",
        "message": "Page did not contain Congratulations",
    }
    assert len(result["externalExecutionId"]) == 36
    state = aws("codepipeline").get_pipeline_state(name=pipeline)
    lambda_state = state["stageStates"][1]
    assert lambda_state["latestExecution"]["status"] == "Failed"
    assert lambda_state["actionStates"][0]["latestExecution"]["errorDetails"]["message"] == (
        "Page did not contain Congratulations"
    )


def test_continuation_token_reinvokes_with_the_token(aws, world):
    pipeline = create(
        aws,
        world,
        {"name": "LambdaStage", "actions": [lambda_action(world, params={"continue": 1})]},
    )
    before = len(jobs_seen(aws, world))
    execution = release(aws, pipeline)
    assert execution["status"] == "Succeeded"
    first, second = jobs_seen(aws, world)[before:]
    assert first["token"] is None and second["token"] == "step-2"
    assert first["id"] != second["id"], "a continuation is a new job"


def test_get_job_details_is_the_event_plus_type_and_context(aws, world):
    cp = aws("codepipeline")
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [lambda_action(world)]})
    release(aws, pipeline)
    job = jobs_seen(aws, world)[-1]
    response = cp.get_job_details(jobId=job["id"])
    assert_valid_output(cp, "GetJobDetails", response)
    details = response["jobDetails"]
    assert details["data"]["inputArtifacts"] == job["inputs"]
    assert details["data"]["actionTypeId"] == LAMBDA
    assert details["data"]["pipelineContext"]["pipelineName"] == pipeline
    assert details["data"]["pipelineContext"]["stage"]["name"] == "LambdaStage"
    with pytest.raises(cp.exceptions.JobNotFoundException):
        cp.get_job_details(jobId="11111111-abcd-1111-abcd-111111abcdef")


def test_operations_nobody_emulates_get_a_modelled_error_not_a_500(aws):
    cp = aws("codepipeline")
    with pytest.raises(cp.exceptions.ClientError) as raised:
        cp.poll_for_jobs(
            actionTypeId={"category": "Build", "owner": "Custom", "provider": "x", "version": "1"}
        )
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "UnknownOperationException"
    assert "does not emulate codepipeline PollForJobs" in error["Error"]["Message"]


def test_reporting_twice_and_unknown_jobs_are_modelled_errors(aws, world):
    cp = aws("codepipeline")
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [lambda_action(world)]})
    release(aws, pipeline)
    job_id = jobs_seen(aws, world)[-1]["id"]
    with pytest.raises(cp.exceptions.InvalidJobStateException):
        cp.put_job_success_result(jobId=job_id)
    with pytest.raises(cp.exceptions.InvalidJobStateException):
        cp.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": "late"}
        )
    with pytest.raises(cp.exceptions.JobNotFoundException):
        cp.put_job_success_result(jobId="11111111-abcd-1111-abcd-111111abcdef")


@pytest.mark.parametrize("mode", ["silent", "raise"])
def test_a_job_without_result_times_out_with_aws_message(aws, world, mode):
    pipeline = create(
        aws, world, {"name": "LambdaStage", "actions": [lambda_action(world, params={mode: 1})]}
    )
    started = time.monotonic()
    execution = release(aws, pipeline)
    waited = time.monotonic() - started
    assert execution["status"] == "Failed"
    assert waited >= JOB_TIMEOUT_S * 0.9, "a function error does not end the job early"
    detail = actions(aws, pipeline, execution["pipelineExecutionId"])["MyLambdaAction"]
    message = detail["output"]["executionResult"]["errorDetails"]["message"]
    assert message == (
        f"The AWS Lambda function {world['function']} failed to return a result. Check the "
        "function to verify that it has permission to call the PutJobSuccessResult action and "
        "that it made a call to PutJobSuccessResult."
    )
    if mode == "raise":
        logged = "\n".join(sum(log_messages(aws, world["function"]), []))
        assert "boom before reporting" in logged


def test_stop_and_retry_after_fixing_the_function(aws, world):
    cp = aws("codepipeline")
    action = lambda_action(world, params={"fail": "broken"})
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [action]})
    failed = release(aws, pipeline)
    assert failed["status"] == "Failed"
    declaration = cp.get_pipeline(name=pipeline)["pipeline"]
    declaration["stages"][1]["actions"][0]["configuration"]["UserParameters"] = "{}"
    cp.update_pipeline(pipeline=declaration)
    # a retry re-runs the failed action of the same execution (with its original definition)
    execution_id = failed["pipelineExecutionId"]
    cp.retry_stage_execution(
        pipelineName=pipeline,
        stageName="LambdaStage",
        pipelineExecutionId=execution_id,
        retryMode="FAILED_ACTIONS",
    )
    assert wait_for_execution(cp, pipeline, execution_id)["status"] == "Failed"
    # a new release picks up the fixed definition
    assert release(aws, pipeline)["status"] == "Succeeded"
    # a succeeded stage is not retryable
    with pytest.raises(cp.exceptions.StageNotRetryableException):
        cp.retry_stage_execution(
            pipelineName=pipeline,
            stageName="Source",
            pipelineExecutionId=execution_id,
            retryMode="FAILED_ACTIONS",
        )


def test_retry_after_fixing_the_function_code(aws, world, roles):
    cp = aws("codepipeline")
    fixed_later = unique("fixme")
    create_function(
        aws,
        FunctionName=fixed_later,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={
            "ZipFile": zip_bytes(
                {
                    "app.py": "import boto3\ndef handler(event, context):\n"
                    "    boto3.client('codepipeline').put_job_failure_result(\n"
                    "        jobId=event['CodePipeline.job']['id'],\n"
                    "        failureDetails={'type': 'JobFailed', 'message': 'v1 is broken'})\n"
                }
            )
        },
    )
    action = {**lambda_action(world), "configuration": {"FunctionName": fixed_later}}
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [action]})
    failed = release(aws, pipeline)
    assert failed["status"] == "Failed"
    aws("lambda").update_function_code(
        FunctionName=fixed_later,
        ZipFile=zip_bytes(
            {
                "app.py": "import boto3\ndef handler(event, context):\n"
                "    boto3.client('codepipeline').put_job_success_result(\n"
                "        jobId=event['CodePipeline.job']['id'])\n"
            }
        ),
    )
    wait_until_updated(aws, fixed_later)
    cp.retry_stage_execution(
        pipelineName=pipeline,
        stageName="LambdaStage",
        pipelineExecutionId=failed["pipelineExecutionId"],
        retryMode="FAILED_ACTIONS",
    )
    done = wait_for_execution(cp, pipeline, failed["pipelineExecutionId"])
    assert done["status"] == "Succeeded"
    runs = aws("codepipeline").list_action_executions(
        pipelineName=pipeline, filter={"pipelineExecutionId": failed["pipelineExecutionId"]}
    )["actionExecutionDetails"]
    assert sorted(r["status"] for r in runs if r["actionName"] == "MyLambdaAction") == [
        "Failed",
        "Succeeded",
    ]


def test_stop_with_abandon(aws, world):
    cp = aws("codepipeline")
    action = lambda_action(world, params={"silent": 1})
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [action]})
    execution_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = cp.get_pipeline_state(name=pipeline)["stageStates"][1]
        if state.get("latestExecution", {}).get("pipelineExecutionId") == execution_id:
            break
        time.sleep(0.02)
    cp.stop_pipeline_execution(
        pipelineName=pipeline, pipelineExecutionId=execution_id, abandon=True, reason="test"
    )
    stopped = wait_for_execution(cp, pipeline, execution_id, timeout=JOB_TIMEOUT_S)
    assert stopped["status"] == "Stopped"
    detail = actions(aws, pipeline, execution_id)["MyLambdaAction"]
    assert detail["status"] == "Abandoned"
    with pytest.raises(cp.exceptions.PipelineExecutionNotStoppableException):
        cp.stop_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id)


def test_unemulated_provider_fails_its_action_clearly(aws, world):
    codedeploy = {
        "name": "Deploy",
        "actions": [
            {
                "name": "CodeDeploy",
                "actionTypeId": {
                    "category": "Deploy",
                    "owner": "AWS",
                    "provider": "CodeDeploy",
                    "version": "1",
                },
                "configuration": {"ApplicationName": "a", "DeploymentGroupName": "g"},
                "inputArtifacts": [{"name": "SourceArtifact"}],
            }
        ],
    }
    pipeline = create(aws, world, codedeploy)
    execution = release(aws, pipeline)
    assert execution["status"] == "Failed"
    message = actions(aws, pipeline, execution["pipelineExecutionId"])["CodeDeploy"]["output"][
        "executionResult"
    ]["errorDetails"]["message"]
    assert "Deploy/AWS/CodeDeploy action provider is not emulated locally" in message


def test_missing_function_and_unversioned_bucket_fail_their_actions(aws, world):
    action = {**lambda_action(world), "configuration": {"FunctionName": "no-such-function"}}
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [action]})
    execution = release(aws, pipeline)
    message = actions(aws, pipeline, execution["pipelineExecutionId"])["MyLambdaAction"]["output"][
        "executionResult"
    ]["errorDetails"]["message"]
    assert "Function not found" in message and "no-such-function" in message
    aws("s3").put_bucket_versioning(
        Bucket=world["source"], VersioningConfiguration={"Status": "Suspended"}
    )
    execution = release(aws, pipeline)
    assert execution["status"] == "Failed"
    assert "is not versioned" in execution["statusSummary"]


def test_unknown_names_get_modelled_exceptions(aws, world):
    cp = aws("codepipeline")
    for call in (
        lambda: cp.start_pipeline_execution(name="nope"),
        lambda: cp.get_pipeline_state(name="nope"),
        lambda: cp.list_pipeline_executions(pipelineName="nope"),
        lambda: cp.list_action_executions(pipelineName="nope"),
    ):
        with pytest.raises(cp.exceptions.PipelineNotFoundException):
            call()
    pipeline = create(aws, world, {"name": "LambdaStage", "actions": [lambda_action(world)]})
    with pytest.raises(cp.exceptions.PipelineExecutionNotFoundException):
        cp.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId="00000000-0000-0000-0000-000000000000"
        )
    with pytest.raises(cp.exceptions.StageNotFoundException):
        cp.retry_stage_execution(
            pipelineName=pipeline,
            stageName="Nope",
            pipelineExecutionId=cp.list_pipeline_executions(pipelineName=pipeline)[
                "pipelineExecutionSummaries"
            ][0]["pipelineExecutionId"],
            retryMode="FAILED_ACTIONS",
        )


def test_state_apis_match_botocore_output_shapes(aws, world):
    cp = aws("codepipeline")
    pipeline = create(
        aws, world, {"name": "LambdaStage", "actions": [lambda_action(world, params={"fail": "x"})]}
    )
    execution = release(aws, pipeline)
    execution_id = execution["pipelineExecutionId"]
    for operation, response in (
        ("GetPipelineState", cp.get_pipeline_state(name=pipeline)),
        (
            "GetPipelineExecution",
            cp.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id),
        ),
        ("ListPipelineExecutions", cp.list_pipeline_executions(pipelineName=pipeline)),
        ("ListActionExecutions", cp.list_action_executions(pipelineName=pipeline)),
        ("StartPipelineExecution", cp.start_pipeline_execution(name=pipeline)),
    ):
        assert_valid_output(cp, operation, response)
    page = cp.list_pipeline_executions(pipelineName=pipeline, maxResults=1)
    assert len(page["pipelineExecutionSummaries"]) == 1 and page["nextToken"]
