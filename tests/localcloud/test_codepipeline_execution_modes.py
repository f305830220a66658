"""Execution modes: PARALLEL runs executions at once, QUEUED one by one in the order started,
SUPERSEDED lets a newer waiting execution overtake an older one; V1 pipelines refuse the first
two."""

from __future__ import annotations

import pytest

from .conftest import wait_for_execution
from .pipeline_kit import (
    create,
    declaration,
    error_of,
    lambda_action,
    python_function,
    records,
    source_world,
    wait_for,
)

# Takes PAUSE seconds; records when it ran, for the execution its UserParameters name.
TIMED = """
import json, os, time, boto3
codepipeline = boto3.client("codepipeline")
s3 = boto3.client("s3")

def handler(event, context):
    job = event["CodePipeline.job"]
    started = time.time()
    time.sleep(float(os.environ["PAUSE"]))
    execution = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    s3.put_object(Bucket=os.environ["RECORDS"], Key="runs/" + job["id"], Body=json.dumps(
        {"t": started, "execution": execution, "start": started, "end": time.time()}))
    codepipeline.put_job_success_result(jobId=job["id"])
"""
PAUSE_S = 1.0


@pytest.fixture(scope="module")
def world(aws, roles):
    world = source_world(aws, roles)
    env = {"RECORDS": world["records"], "PAUSE": str(PAUSE_S)}
    world["function"] = python_function(aws, roles, TIMED, env)
    return world


def pipeline_in(aws, world, mode: str) -> str:
    check = lambda_action("Timed", world["function"], "#{codepipeline.PipelineExecutionId}")
    return create(
        aws, declaration(world, {"name": "Check", "actions": [check]}, executionMode=mode)
    )


def start(aws, name: str) -> str:
    return aws("codepipeline").start_pipeline_execution(name=name)["pipelineExecutionId"]


def windows(aws, world, execution_ids: list[str]) -> list[tuple[float, float]]:
    """When the function ran for each execution, in the order given."""
    runs = {r["execution"]: (r["start"], r["end"]) for r in records(aws, world["records"])}
    return [runs[e] for e in execution_ids]


def inbound(aws, name: str) -> list[str]:
    stage = aws("codepipeline").get_pipeline_state(name=name)["stageStates"][1]
    return [e["pipelineExecutionId"] for e in stage.get("inboundExecutions", [])]


def running_in_check_stage(aws, name: str, execution_id: str) -> bool:
    stage = aws("codepipeline").get_pipeline_state(name=name)["stageStates"][1]
    latest = stage.get("latestExecution", {})
    return latest.get("pipelineExecutionId") == execution_id


def test_parallel_executions_run_at_the_same_time(aws, world):
    name = pipeline_in(aws, world, "PARALLEL")
    first, second = start(aws, name), start(aws, name)
    cp = aws("codepipeline")
    for execution_id in (first, second):
        done = wait_for_execution(cp, name, execution_id)
        assert done["status"] == "Succeeded"
        assert done["executionMode"] == "PARALLEL"
    (a_start, a_end), (b_start, b_end) = windows(aws, world, [first, second])
    assert a_start < b_end and b_start < a_end, "the two runs overlap"


def test_queued_executions_run_one_by_one_in_the_order_queued(aws, world):
    name = pipeline_in(aws, world, "QUEUED")
    first = start(aws, name)
    wait_for(lambda: running_in_check_stage(aws, name, first))
    second, third = start(aws, name), start(aws, name)
    assert wait_for(lambda: inbound(aws, name) == [second, third]), "waiting, in queue order"
    cp = aws("codepipeline")
    statuses = [wait_for_execution(cp, name, e)["status"] for e in (first, second, third)]
    assert statuses == ["Succeeded"] * 3, "none is superseded"
    spans = windows(aws, world, [first, second, third])
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0], "one at a time, in order"


def test_superseded_a_newer_waiting_execution_overtakes_an_older_one(aws, world):
    name = pipeline_in(aws, world, "SUPERSEDED")
    first = start(aws, name)
    wait_for(lambda: running_in_check_stage(aws, name, first))
    second = start(aws, name)
    wait_for(lambda: inbound(aws, name) == [second])
    state = aws("codepipeline").get_pipeline_state(name=name)["stageStates"][1]
    assert state["inboundExecution"] == {
        "pipelineExecutionId": second,
        "status": "InProgress",
        "type": "STANDARD",
    }
    third = start(aws, name)
    cp = aws("codepipeline")
    statuses = [wait_for_execution(cp, name, e)["status"] for e in (first, second, third)]
    assert statuses == ["Succeeded", "Superseded", "Succeeded"]


@pytest.mark.parametrize("mode", ["QUEUED", "PARALLEL"])
def test_v1_pipelines_refuse_queued_and_parallel(aws, world, mode):
    check = lambda_action("Timed", world["function"], "x")
    v1 = declaration(world, {"name": "Check", "actions": [check]}, executionMode=mode)
    v1["pipelineType"] = "V1"
    cp = aws("codepipeline")
    error = error_of(lambda: cp.create_pipeline(pipeline=v1))
    assert error["Code"] == "InvalidStructureException"
    assert error["Message"].startswith(f"Execution mode {mode} can only be used with V2")


def test_one_client_request_token_starts_one_execution(aws, world):
    name = pipeline_in(aws, world, "PARALLEL")
    cp = aws("codepipeline")
    token = "release-2026-01-01"
    first = cp.start_pipeline_execution(name=name, clientRequestToken=token)
    again = cp.start_pipeline_execution(name=name, clientRequestToken=token)
    assert again["pipelineExecutionId"] == first["pipelineExecutionId"]
    wait_for_execution(cp, name, first["pipelineExecutionId"])
