"""A checkpoint on a failed release says why: which release, stage and action, and the action's
own message (``pipelines.why``), read back through ListActionExecutions."""

from __future__ import annotations

from helpers import pipelines

from . import pipeline_kit as kit

FAILS = """
import boto3

def handler(event, context):
    job = event["CodePipeline.job"]["id"]
    boto3.client("codepipeline").put_job_failure_result(
        jobId=job, failureDetails={"type": "JobFailed", "message": "Health check failed: 403"}
    )
"""


def test_a_failed_release_is_explained_and_a_good_one_needs_no_words(aws, roles):
    world = kit.source_world(aws, roles)
    function = kit.python_function(aws, roles, FAILS)
    stage = {"name": "LambdaStage", "actions": [kit.lambda_action("Check", function, "x")]}
    name = kit.create(aws, kit.declaration(world, stage))
    codepipeline = aws("codepipeline")
    failed = kit.release(aws, name)
    assert failed["status"] == "Failed"
    said = pipelines.why(codepipeline, name, failed)
    assert said.startswith(f"release {failed['pipelineExecutionId']} failed in LambdaStage › Check")
    assert "Health check failed: 403" in said and f"/aws/lambda/{function}" in said

    deploy = {
        "name": "Deploy",
        "actions": [pipelines.s3_deploy_action("Deploy", world["records"], "SourceArtifact")],
    }
    good = kit.create(aws, kit.declaration(world, deploy))
    (succeeded,) = kit.finish_all(aws, good)
    assert succeeded["status"] == "Succeeded"
    assert pipelines.why(codepipeline, good, succeeded) == ""
