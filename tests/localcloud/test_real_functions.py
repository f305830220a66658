"""Pipeline functions in the styles people publish (``real_functions/``), each packaged,
deployed and released through a pipeline as on AWS: what passes here should pass there."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from . import pipeline_kit as kit
from .conftest import create_function, unique, wait_until_updated, zip_bytes
from .node_kit import needs_node, needs_sdk

HERE = Path(__file__).parent / "real_functions"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "codepipeline:PutJobSuccessResult",
                "codepipeline:PutJobFailureResult",
                "cloudformation:CreateStack",
                "cloudformation:DescribeStacks",
                "s3:CreateBucket",
                "lambda:UpdateFunctionCode",
                "states:StartExecution",
                "states:DescribeExecution",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


@pytest.fixture(scope="module")
def role(aws):
    iam = aws("iam")
    name = unique("real-functions")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="what-they-call", PolicyDocument=json.dumps(POLICY)
    )
    return arn


def deploy(aws, role: str, module: str) -> str:
    name = unique(module.replace("_", "-"))
    create_function(
        aws,
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": (HERE / f"{module}.py").read_text()})},
        Timeout=30,
    )
    return name


def release_with(aws, roles, source: dict[str, str], *stages: dict) -> tuple[dict, dict]:
    """A pipeline whose source object holds ``source`` (files), then ``stages``: the
    execution its creation starts, and its action rows."""
    world = kit.source_world(aws, roles)
    aws("s3").put_object(Bucket=world["source"], Key="site.zip", Body=zip_bytes(source))
    name = kit.create(aws, kit.declaration(world, *stages))
    (execution,) = kit.finish_all(aws, name, timeout=120)
    return execution, kit.actions(aws, name, execution["pipelineExecutionId"])


def invoke_stage(action: str, function: str, params: dict, **extra) -> dict:
    extra.setdefault("inputArtifacts", [{"name": "SourceArtifact"}])
    return {
        "name": f"{action}Stage",
        "actions": [kit.lambda_action(action, function, json.dumps(params), **extra)],
    }


def test_a_cloudformation_provider_waits_for_its_stack_with_continuations(aws, roles, role):
    function = deploy(aws, role, "cfn_provider")
    stack = unique("real-stack")
    template = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}
    execution, rows = release_with(
        aws,
        roles,
        {"template.json": json.dumps(template)},
        invoke_stage(
            "Provide", function, {"stack": stack, "template": "template.json"}, namespace="CFN"
        ),
    )
    assert execution["status"] == "Succeeded", {
        k: r["output"].get("executionResult") for k, r in rows.items()
    }
    row = rows["Provide"]
    assert row["output"]["outputVariables"]["StackId"].startswith("arn:aws:cloudformation:")
    assert (
        aws("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        == "CREATE_COMPLETE"
    )


def test_a_function_deployer_publishes_a_new_version(aws, roles, role):
    target = kit.python_function(aws, roles, "def handler(e, c):\n    return 'old'\n")
    function = deploy(aws, role, "function_deployer")
    execution, rows = release_with(
        aws,
        roles,
        {"app.py": "def handler(e, c):\n    return 'new'\n"},
        invoke_stage("Deploy", function, {"function": target}),
    )
    assert execution["status"] == "Succeeded", {
        k: r["output"].get("executionResult") for k, r in rows.items()
    }
    version = rows["Deploy"]["output"]["outputVariables"]["Version"]
    wait_until_updated(aws, target)
    answer = aws("lambda").invoke(FunctionName=target, Qualifier=version)
    assert json.loads(answer["Payload"].read()) == "new"


@pytest.mark.parametrize(
    "runtime",
    ["python3.12", pytest.param("nodejs22.x", marks=[needs_node, needs_sdk])],
)
def test_a_step_functions_trigger_polls_its_execution_to_the_end(aws, roles, role, runtime):
    """The trigger in Python (boto3) and in Node.js (the runtime's SDK v3 clients)."""
    machine = kit.state_machine(aws)
    if runtime == "python3.12":
        function = deploy(aws, role, "sfn_trigger")
    else:
        function = unique("sfn-trigger-node")
        create_function(
            aws,
            FunctionName=function,
            Runtime=runtime,
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": zip_bytes({"index.js": (HERE / "sfn_trigger_node.js").read_text()})},
            Timeout=30,
        )
    execution, rows = release_with(
        aws,
        roles,
        {"index.html": "<h1>Hi</h1>"},
        invoke_stage("Trigger", function, {"stateMachineArn": machine}),
    )
    assert execution["status"] == "Succeeded", {
        k: r["output"].get("executionResult") for k, r in rows.items()
    }
    summary = rows["Trigger"]["output"]["executionResult"]["externalExecutionSummary"]
    assert json.loads(summary) == {"released": True}


def test_an_output_artifact_writer_feeds_the_next_stage(aws, roles, role):
    function = deploy(aws, role, "artifact_writer")
    target = unique("deployed")
    aws("s3").create_bucket(Bucket=target)
    write = invoke_stage("Write", function, {}, outputArtifacts=[{"name": "Stamped"}])
    deploy_stage = {
        "name": "DeployStage",
        "actions": [
            {
                **kit.pipelines.s3_deploy_action("Deploy", target, "Stamped"),
                "configuration": {"BucketName": target, "Extract": "true"},
            }
        ],
    }
    execution, rows = release_with(aws, roles, {"index.html": "<h1>Hi</h1>"}, write, deploy_stage)
    assert execution["status"] == "Succeeded", {
        k: r["output"].get("executionResult") for k, r in rows.items()
    }
    stamp = json.loads(aws("s3").get_object(Bucket=target, Key="stamp.json")["Body"].read())
    assert stamp["job"]
    assert zipfile.is_zipfile(io.BytesIO(zip_bytes({"x": "y"})))
