"""The workbook's two functions, deployed as they are, run by real releases on the local cloud."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import packaging, pipelines, resources

from ..conftest import create_function, log_messages, unique, wait_for_execution, zip_bytes
from ..test_codepipeline_engine import LAMBDA, actions
from ..test_fidelity import TEMPLATE, create_with_source

ROOT = Path(__file__).resolve().parents[3]


def deploy(aws, roles, module: str, timeout: int = 20) -> str:
    name = unique(module.replace("_", "-"))
    create_function(
        aws,
        FunctionName=name,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler=f"{module}.lambda_handler",
        Code={"ZipFile": packaging.function_package(module)},
        Timeout=timeout,
    )
    return name


def source_world(aws, roles, key: str, body: bytes) -> dict:
    s3 = aws("s3")
    world = {"source": unique("src"), "store": unique("store"), "role": roles["pipeline"]}
    for bucket in (world["source"], world["store"]):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=world["source"], VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=world["source"], Key=key, Body=body)
    return world


def latest(aws, pipeline: str) -> dict:
    cp = aws("codepipeline")
    summary = cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"][0]
    return wait_for_execution(cp, pipeline, summary["pipelineExecutionId"])


def test_stack_deployer_creates_then_finds_no_updates(aws, roles):
    function = deploy(aws, roles, "stack_deployer")
    world = source_world(
        aws,
        roles,
        "template-package.zip",
        zip_bytes({"template-package/template.json": TEMPLATE}),
    )
    stack = unique("MyTestStack")
    params = {"stack": stack, "file": "template-package/template.json", "artifact": "MyTemplate"}
    action = {
        "name": "DeployStack",
        "actionTypeId": LAMBDA,
        "configuration": {"FunctionName": function, "UserParameters": json.dumps(params)},
        "inputArtifacts": [{"name": "MyTemplate"}],
    }
    pipeline = create_with_source(aws, world, "template-package.zip", action)
    first = latest(aws, pipeline)  # AWS runs a new pipeline once
    assert first["status"] == "Succeeded", first
    described = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    bucket = described["Outputs"][0]["OutputValue"]
    aws("s3").head_bucket(Bucket=bucket)  # the template's bucket really exists
    starts = [m for m in sum(log_messages(aws, function), []) if m.startswith("START ")]
    assert len(starts) == 2, "create, then one continuation to see CREATE_COMPLETE"

    cp = aws("codepipeline")
    second_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    second = wait_for_execution(cp, pipeline, second_id)
    assert second["status"] == "Succeeded"
    starts = [m for m in sum(log_messages(aws, function), []) if m.startswith("START ")]
    assert len(starts) == 3, "no updates: the job succeeds at once, without a continuation"
    detail = actions(aws, pipeline, second_id)["DeployStack"]
    assert "no" in detail["output"]["executionResult"]["externalExecutionSummary"].lower()


def test_health_check_passes_on_the_deployed_site_and_fails_without_the_text(
    aws, roles, cloud_endpoint
):
    function = deploy(aws, roles, "health_check")
    s3 = aws("s3")
    site = unique("site")
    s3.create_bucket(Bucket=site)
    resources.open_to_public_reads(s3, site)
    world = source_world(
        aws, roles, "site.zip", zip_bytes({"index.html": "<h1>Congratulations</h1>"})
    )
    url = f"{cloud_endpoint}/{site}/index.html"
    deploy_stage = {
        "name": "Deploy",
        "actions": [pipelines.s3_deploy_action("DeploySite", site, "SourceArtifact")],
    }
    check = pipelines.lambda_action("MyLambdaAction", function, url)
    pipeline = create_with_source(
        aws,
        world,
        "site.zip",
        check,
        output="SourceArtifact",
        stages=[deploy_stage],
        stage_name="LambdaStage",
    )
    cp = aws("codepipeline")
    assert latest(aws, pipeline)["status"] == "Succeeded"

    s3.put_object(
        Bucket=world["source"], Key="site.zip", Body=zip_bytes({"index.html": "<h1>Oops</h1>"})
    )
    broken_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    broken = wait_for_execution(cp, pipeline, broken_id)
    assert broken["status"] == "Failed"
    message = actions(aws, pipeline, broken_id)["MyLambdaAction"]["output"]["executionResult"][
        "errorDetails"
    ]["message"]
    assert url in message and "Congratulations" in message
