"""Building blocks of the CodePipeline tests: a source bucket, pipelines, releases, action rows.

Everything goes through plain boto3 against the session's local cloud, as a learner's code
would; a test declares only what it is about.
"""

from __future__ import annotations

import json
import time

from helpers import pipelines

from .conftest import create_function, unique, wait_for_execution, zip_bytes

LAMBDA = pipelines.LAMBDA_INVOKE


def source_world(aws, roles) -> dict:
    """A versioned source bucket holding site.zip, an artifact store, a records bucket."""
    s3 = aws("s3")
    world = {k: unique(k) for k in ("source", "store", "records")}
    for bucket in world.values():
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=world["source"], VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(
        Bucket=world["source"], Key="site.zip", Body=zip_bytes({"index.html": "<h1>Hi</h1>"})
    )
    world["version"], world["etag"] = put["VersionId"], put["ETag"].strip('"')
    world["role"] = roles["pipeline"]
    return world


def python_function(aws, roles, source: str, env: dict | None = None, timeout: int = 10) -> str:
    """A python3.12 function (``app.handler`` in ``source``), Active; returns its name."""
    name = unique("fn")
    create_function(
        aws,
        FunctionName=name,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": source})},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    return name


def source_stage(world: dict, namespace: str | None = None) -> dict:
    action = pipelines.s3_source_action("Source", world["source"], "site.zip", "SourceArtifact")
    if namespace:
        action["namespace"] = namespace
    return {"name": "Source", "actions": [action]}


def lambda_action(name: str, function: str, params: str | None = None, **extra) -> dict:
    action = pipelines.lambda_action(name, function, params)
    action.update(extra)
    return action


def declaration(world: dict, *stages: dict, name: str | None = None, **extra) -> dict:
    """A V2 pipeline: the S3 source stage, then ``stages``."""
    return {
        "name": name or unique("pipe"),
        "roleArn": world["role"],
        "artifactStore": {"type": "S3", "location": world["store"]},
        "stages": [source_stage(world), *stages],
        "pipelineType": "V2",
        **extra,
    }


def create(aws, pipeline: dict) -> str:
    """CreatePipeline, then wait for the run its creation starts; returns the name."""
    cp = aws("codepipeline")
    cp.create_pipeline(pipeline=pipeline)
    finish_all(aws, pipeline["name"])
    return pipeline["name"]


def finish_all(aws, name: str, timeout: float = 60) -> list[dict]:
    """Wait until no execution of the pipeline runs; every execution, newest first."""
    cp = aws("codepipeline")
    summaries = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    return [wait_for_execution(cp, name, s["pipelineExecutionId"], timeout) for s in summaries]


def release(aws, name: str, **params) -> dict:
    cp = aws("codepipeline")
    execution_id = cp.start_pipeline_execution(name=name, **params)["pipelineExecutionId"]
    return wait_for_execution(cp, name, execution_id)


def actions(aws, name: str, execution_id: str) -> dict[str, dict]:
    """{action name: its latest ListActionExecutions row} for one execution."""
    details = aws("codepipeline").list_action_executions(
        pipelineName=name, filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    rows: dict[str, dict] = {}
    for detail in sorted(details, key=lambda d: d["startTime"]):
        rows[detail["actionName"]] = detail
    return rows


def error_of(call) -> dict:
    """The error a botocore call raises: {"Code", "Message"}."""
    try:
        call()
    except Exception as raised:  # botocore's ClientError (any modelled class)
        return raised.response["Error"]
    raise AssertionError("the call succeeded")


def records(aws, bucket: str, prefix: str = "") -> list[dict]:
    """The JSON objects a function wrote into ``bucket``, oldest first."""
    s3 = aws("s3")
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    found = [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listing]
    return sorted(found, key=lambda r: r.get("t", 0))


def wait_for(check, timeout: float = 20, every: float = 0.02):
    """Poll ``check()`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"still waiting after {timeout} s")


def state_machine(aws) -> str:
    """A state machine that waits a second and ends with ``{"released": true}``."""
    iam = aws("iam")
    machine_role = iam.create_role(
        RoleName=unique("states"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": {"released": True}, "End": True},
        },
    }
    return aws("stepfunctions").create_state_machine(
        name=unique("machine"), definition=json.dumps(definition), roleArn=machine_role
    )["stateMachineArn"]
