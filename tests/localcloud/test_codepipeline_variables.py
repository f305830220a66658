"""Variables: #{codepipeline.…}, #{variables.…} and action namespaces, resolved as AWS does."""

from __future__ import annotations

import pytest

from .pipeline_kit import (
    actions,
    create,
    declaration,
    error_of,
    lambda_action,
    python_function,
    records,
    release,
    source_stage,
    source_world,
)

ECHO = """
import json, os, time, boto3
codepipeline = boto3.client("codepipeline")
s3 = boto3.client("s3")

def handler(event, context):
    job = event["CodePipeline.job"]
    params = job["data"]["actionConfiguration"]["configuration"].get("UserParameters", "")
    s3.put_object(Bucket=os.environ["RECORDS"], Key="seen/" + job["id"],
                  Body=json.dumps({"t": time.time(), "params": params}))
    variables = {"echo": params, "url": "https://example.com/" + params[:8]}
    codepipeline.put_job_success_result(jobId=job["id"], outputVariables=variables)
"""
EVERY_KIND = (
    "#{codepipeline.PipelineExecutionId}|#{variables.Stage}|#{variables.Color}|"
    "#{SourceVariables.VersionId}|#{SourceVariables.ETag}"
)


@pytest.fixture(scope="module")
def world(aws, roles):
    world = source_world(aws, roles)
    world["function"] = python_function(aws, roles, ECHO, {"RECORDS": world["records"]})
    stage = {
        "name": "Use",
        "actions": [
            lambda_action("First", world["function"], EVERY_KIND, namespace="First"),
            lambda_action("Second", world["function"], "#{First.url}", runOrder=2),
        ],
    }
    pipeline = declaration(
        world,
        stage,
        variables=[
            {"name": "Stage", "defaultValue": "beta", "description": "where it goes"},
            {"name": "Color", "defaultValue": "blue"},
        ],
    )
    pipeline["stages"][0] = source_stage(world, namespace="SourceVariables")
    world["pipeline"] = create(aws, pipeline)
    return world


def seen(aws, world, execution_id: str) -> list[str]:
    """The UserParameters the function got in one execution, in order."""
    rows = actions(aws, world["pipeline"], execution_id)
    assert {r["status"] for r in rows.values()} == {"Succeeded"}, rows
    return [rows[name]["output"]["outputVariables"]["echo"] for name in ("First", "Second")]


def test_the_function_gets_resolved_values_and_the_action_shows_both(aws, world):
    execution = release(aws, world["pipeline"])
    execution_id = execution["pipelineExecutionId"]
    expected = f"{execution_id}|beta|blue|{world['version']}|{world['etag']}"
    first, second = seen(aws, world, execution_id)
    assert first == expected
    assert second == "https://example.com/" + expected[:8], "a Lambda output, by namespace"
    assert expected in [r["params"] for r in records(aws, world["records"], "seen/")]
    row = actions(aws, world["pipeline"], execution_id)["First"]
    assert row["input"]["configuration"]["UserParameters"] == EVERY_KIND
    assert row["input"]["resolvedConfiguration"]["UserParameters"] == expected
    assert row["input"]["namespace"] == "First"
    source = actions(aws, world["pipeline"], execution_id)["Source"]
    assert source["output"]["outputVariables"] == {
        "ETag": world["etag"],
        "VersionId": world["version"],
    }


def test_start_overrides_defaults_and_the_execution_lists_its_variables(aws, world):
    execution = release(aws, world["pipeline"], variables=[{"name": "Stage", "value": "prod"}])
    assert execution["variables"] == [
        {"name": "Stage", "resolvedValue": "prod"},
        {"name": "Color", "resolvedValue": "blue"},
    ]
    first, _ = seen(aws, world, execution["pipelineExecutionId"])
    assert first.split("|")[1:3] == ["prod", "blue"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ([{"name": "Nope", "value": "x"}], "Variable 'Nope' is not declared in pipeline"),
        (
            [{"name": "Stage", "value": "a"}, {"name": "Stage", "value": "b"}],
            "Variable 'Stage' is given more than once",
        ),
        ([{"name": "Stage", "value": "x" * 1001}], "Member must have length less than or equal"),
        ([{"name": "bad name", "value": "x"}], "Member must satisfy regular expression pattern"),
    ],
)
def test_start_variables_are_validated(aws, world, variables, message):
    cp = aws("codepipeline")
    error = error_of(
        lambda: cp.start_pipeline_execution(name=world["pipeline"], variables=variables)
    )
    assert error["Code"] == "ValidationException"
    assert message in error["Message"]


def test_an_unresolvable_reference_fails_the_action_before_it_runs(aws, world):
    stage = {
        "name": "Use",
        "actions": [lambda_action("Broken", world["function"], "#{Nowhere.value}")],
    }
    name = create(aws, declaration(world, stage))
    execution = release(aws, name)
    assert execution["status"] == "Failed"
    row = actions(aws, name, execution["pipelineExecutionId"])["Broken"]
    assert row["output"]["executionResult"]["errorDetails"] == {
        "code": "ConfigurationError",
        "message": "An action in this pipeline failed because one or more variables could not "
        "be resolved: Action name=Broken.",
    }
    assert execution["statusSummary"] == row["output"]["executionResult"]["errorDetails"]["message"]


def test_v1_pipelines_take_no_variables(aws, world):
    cp = aws("codepipeline")
    v1 = declaration(world, {"name": "Use", "actions": [lambda_action("A", world["function"])]})
    v1["pipelineType"] = "V1"
    refused = error_of(
        lambda: cp.create_pipeline(pipeline={**v1, "variables": [{"name": "Stage"}]})
    )
    assert refused["Code"] == "InvalidStructureException"
    assert "variables can only be used with V2 pipelines" in refused["Message"]
    name = create(aws, v1)
    error = error_of(
        lambda: cp.start_pipeline_execution(name=name, variables=[{"name": "A", "value": "b"}])
    )
    assert error["Code"] == "ValidationException"
    assert "V1 pipeline" in error["Message"]
