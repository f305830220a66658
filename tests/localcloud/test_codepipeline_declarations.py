"""Declarations are checked at CreatePipeline/UpdatePipeline, as AWS checks them, and every
version is kept: GetPipeline(version=N), what an UpdatePipeline does to a running execution,
tags."""

from __future__ import annotations

import copy

import pytest

from helpers import pipelines

from .conftest import unique, wait_for_execution
from .pipeline_kit import (
    actions,
    create,
    declaration,
    error_of,
    lambda_action,
    python_function,
    source_world,
    wait_for,
)

PAUSED = """
import os, time, boto3
codepipeline = boto3.client("codepipeline")

def handler(event, context):
    time.sleep(float(os.environ.get("PAUSE", "0")))
    codepipeline.put_job_success_result(jobId=event["CodePipeline.job"]["id"])
"""


@pytest.fixture(scope="module")
def world(aws, roles):
    world = source_world(aws, roles)
    world["function"] = python_function(aws, roles, PAUSED)
    world["slow"] = python_function(aws, roles, PAUSED, {"PAUSE": "1.5"})
    return world


def valid(world) -> dict:
    """A pipeline CreatePipeline accepts: Source, then one Lambda action (a deep copy, edited
    freely)."""
    stage = {"name": "Check", "actions": [lambda_action("Check", world["function"])]}
    return copy.deepcopy(declaration(world, stage))


def lambda_named(world, name="Check", **extra):
    return copy.deepcopy(lambda_action(name, world["function"], **extra))


# case: (edit(declaration, world) in place, the error code, a part of its message)
CASES = {
    "an unknown provider": (
        lambda d, w: d["stages"][1]["actions"][0]["actionTypeId"].update(provider="Foo"),
        "InvalidActionDeclarationException",
        "ActionType (Category: 'Invoke', Provider: 'Foo', Owner: 'AWS', Version: '1') in action "
        "'Check' is not available in region 'US_EAST_1'",
    ),
    "a Lambda action without FunctionName": (
        lambda d, w: d["stages"][1]["actions"][0].update(configuration={}),
        "InvalidActionDeclarationException",
        "Action configuration for action 'Check' is missing required configuration 'FunctionName'",
    ),
    "a configuration key the provider doesn't have": (
        lambda d, w: d["stages"][1]["actions"][0]["configuration"].update(Timeout="3"),
        "InvalidActionDeclarationException",
        "Action configuration for action 'Check' contains unknown configuration 'Timeout'",
    ),
    "an input artifact nobody produces": (
        lambda d, w: d["stages"][1]["actions"][0].update(inputArtifacts=[{"name": "Nope"}]),
        "InvalidStructureException",
        "Input artifact 'Nope' of action 'Check' in stage 'Check' is not the output artifact of "
        "an earlier action",
    ),
    "an input produced later in the stage": (
        lambda d, w: d["stages"][1]["actions"].extend(
            [
                lambda_named(w, "Makes", outputArtifacts=[{"name": "Made"}], runOrder=2),
                lambda_named(w, "Uses", inputArtifacts=[{"name": "Made"}], runOrder=1),
            ]
        ),
        "InvalidStructureException",
        "Input artifact 'Made' of action 'Uses'",
    ),
    "two stages of the same name": (
        lambda d, w: d["stages"].append(copy.deepcopy(d["stages"][1])),
        "InvalidStructureException",
        "Stage names must be unique within a pipeline: 'Check' is used more than once",
    ),
    "two actions of the same name in a stage": (
        lambda d, w: d["stages"][1]["actions"].append(lambda_named(w)),
        "InvalidStageDeclarationException",
        "stage 'Check' has more than one action named 'Check'",
    ),
    "no source stage first": (
        lambda d, w: d["stages"].reverse(),
        "InvalidStructureException",
        "Pipeline should start with a stage that only contains source actions",
    ),
    "a single stage": (
        lambda d, w: d["stages"].pop(),
        "InvalidStructureException",
        "Pipeline has only 1 stage(s). There should be a minimum of 2 stages in a pipeline",
    ),
    "a configuration value over 1000 characters": (
        lambda d, w: d["stages"][1]["actions"][0]["configuration"].update(
            UserParameters="u" * 1001
        ),
        "ValidationException",
        "at 'pipeline.stages.2.member.actions.1.member.configuration.UserParameters' failed to "
        "satisfy constraint: Member must have length less than or equal to 1000",
    ),
    "a namespace used twice": (
        lambda d, w: d["stages"][1]["actions"].extend(
            [lambda_named(w, "A", namespace="Same"), lambda_named(w, "B", namespace="Same")]
        ),
        "InvalidActionDeclarationException",
        "Namespaces must be unique across the pipeline definition. The following occur more "
        "than once in the pipeline. StageName=[Check], ActionName=[B], Namespace=[Same]",
    ),
    "an S3 deploy without its input artifact": (
        lambda d, w: d["stages"][1]["actions"].append(
            {**pipelines.s3_deploy_action("Deploy", w["records"], "X"), "inputArtifacts": []}
        ),
        "InvalidActionDeclarationException",
        "Action Deploy declares 0 input artifacts which is less than the minimum count (1)",
    ),
    "one output artifact name twice": (
        lambda d, w: d["stages"][1]["actions"].append(
            lambda_named(w, "Again", outputArtifacts=[{"name": "SourceArtifact"}])
        ),
        "InvalidStructureException",
        "Output artifact names must be unique in a pipeline: 'SourceArtifact'",
    ),
    "no artifact store": (
        lambda d, w: d.pop("artifactStore"),
        "InvalidStructureException",
        "The pipeline has no artifact store",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_create_refuses_what_aws_refuses(aws, world, case):
    change, code, message = CASES[case]
    pipeline = valid(world)
    change(pipeline, world)
    cp = aws("codepipeline")
    error = error_of(lambda: cp.create_pipeline(pipeline=pipeline))
    assert error["Code"] == code
    assert message in error["Message"]
    assert error_of(lambda: cp.get_pipeline(name=pipeline["name"]))["Code"] == (
        "PipelineNotFoundException"
    ), "nothing was created"


def test_update_refuses_too_and_keeps_the_version(aws, world):
    cp = aws("codepipeline")
    name = create(aws, valid(world))
    broken = cp.get_pipeline(name=name)["pipeline"]
    broken["stages"][1]["actions"][0]["actionTypeId"]["provider"] = "Foo"
    error = error_of(lambda: cp.update_pipeline(pipeline=broken))
    assert error["Code"] == "InvalidActionDeclarationException"
    assert cp.get_pipeline(name=name)["pipeline"]["version"] == 1
    missing = {**valid(world), "name": unique("never-created")}
    error = error_of(lambda: cp.update_pipeline(pipeline=missing))
    assert error["Code"] == "InvalidStructureException"
    assert "does not have a pipeline with name" in error["Message"]


def test_a_name_in_use_is_refused(aws, world):
    cp = aws("codepipeline")
    pipeline = valid(world)
    create(aws, pipeline)
    error = error_of(lambda: cp.create_pipeline(pipeline=pipeline))
    assert error["Code"] == "PipelineNameInUseException"


def test_get_pipeline_returns_any_version_and_the_metadata(aws, world):
    cp = aws("codepipeline")
    first = valid(world)
    name = create(aws, first)
    created = cp.get_pipeline(name=name)
    second = copy.deepcopy(created["pipeline"])
    second["stages"][1]["actions"][0]["configuration"]["UserParameters"] = "v2"
    updated = cp.update_pipeline(pipeline=second)["pipeline"]
    assert updated["version"] == 2
    v1 = cp.get_pipeline(name=name, version=1)
    v2 = cp.get_pipeline(name=name, version=2)
    assert v1["pipeline"] == created["pipeline"]
    assert v2["pipeline"]["stages"][1]["actions"][0]["configuration"]["UserParameters"] == "v2"
    assert cp.get_pipeline(name=name)["pipeline"] == v2["pipeline"]
    metadata = v2["metadata"]
    assert metadata["pipelineArn"] == f"arn:aws:codepipeline:us-east-1:123456789012:{name}"
    assert metadata["updated"] > metadata["created"] == created["metadata"]["created"]
    assert cp.get_pipeline_state(name=name)["pipelineVersion"] == 2
    error = error_of(lambda: cp.get_pipeline(name=name, version=3))
    assert error["Code"] == "PipelineVersionNotFoundException"
    listed = [p for p in cp.list_pipelines()["pipelines"] if p["name"] == name]
    assert [(p["version"], p["pipelineType"], p["executionMode"]) for p in listed] == [
        (2, "V2", "SUPERSEDED")
    ]


def test_an_update_lets_the_running_action_finish_then_fails_the_execution(aws, world):
    cp = aws("codepipeline")
    stage = {
        "name": "Check",
        "actions": [
            lambda_action("Slow", world["slow"]),
            lambda_action("Later", world["function"], runOrder=2),
        ],
    }
    name = create(aws, declaration(world, stage))
    execution_id = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]

    def slow_running():
        rows = actions(aws, name, execution_id)
        return "Slow" in rows and rows["Slow"]["status"] == "InProgress"

    wait_for(slow_running)
    declared = cp.get_pipeline(name=name)["pipeline"]
    declared["stages"][1]["actions"][1]["configuration"]["UserParameters"] = "changed"
    cp.update_pipeline(pipeline=declared)
    done = wait_for_execution(cp, name, execution_id)
    assert done["status"] == "Failed"
    assert done["pipelineVersion"] == 1
    assert done["statusSummary"].startswith("The pipeline was updated (version 2)")
    rows = actions(aws, name, execution_id)
    assert rows["Slow"]["status"] == "Succeeded", "the running action finished"
    assert "Later" not in rows, "nothing after it started"
    stage_state = cp.get_pipeline_state(name=name)["stageStates"][1]["latestExecution"]
    assert stage_state == {
        "pipelineExecutionId": execution_id,
        "status": "Failed",
        "type": "STANDARD",
    }
    assert cp.start_pipeline_execution(name=name)["pipelineExecutionId"], "the new version runs"


def test_tags_on_create_and_by_arn(aws, world):
    cp = aws("codepipeline")
    pipeline = valid(world)
    cp.create_pipeline(pipeline=pipeline, tags=[{"key": "team", "value": "docs"}])
    arn = cp.get_pipeline(name=pipeline["name"])["metadata"]["pipelineArn"]
    cp.tag_resource(resourceArn=arn, tags=[{"key": "stage", "value": "beta"}])
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "stage", "value": "beta"},
        {"key": "team", "value": "docs"},
    ]
    cp.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "stage", "value": "beta"}]
    system = error_of(
        lambda: cp.tag_resource(resourceArn=arn, tags=[{"key": "aws:x", "value": "y"}])
    )
    assert system["Code"] == "InvalidTagsException"
    many = [{"key": f"k{i}", "value": "v"} for i in range(50)]
    assert error_of(lambda: cp.tag_resource(resourceArn=arn, tags=many))["Code"] == (
        "TooManyTagsException"
    )
    gone = arn + "-gone"
    assert error_of(lambda: cp.list_tags_for_resource(resourceArn=gone))["Code"] == (
        "ResourceNotFoundException"
    )


def test_delete_abandons_what_runs_and_the_name_can_be_used_again(aws, world):
    cp = aws("codepipeline")
    stage = {"name": "Check", "actions": [lambda_action("Slow", world["slow"])]}
    pipeline = declaration(world, stage)
    cp.create_pipeline(pipeline=pipeline)
    cp.delete_pipeline(name=pipeline["name"])
    cp.delete_pipeline(name=pipeline["name"])  # twice: no error, as on AWS
    assert error_of(lambda: cp.get_pipeline(name=pipeline["name"]))["Code"] == (
        "PipelineNotFoundException"
    )
    create(aws, pipeline)
    (execution,) = cp.list_pipeline_executions(pipelineName=pipeline["name"])[
        "pipelineExecutionSummaries"
    ]
    assert execution["status"] == "Succeeded"
