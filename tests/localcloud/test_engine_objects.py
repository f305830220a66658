"""The CodePipeline engine as a plain object: moto's S3 in-process, no HTTP.

A small runtime stands in for the Lambda runtime here; it answers each job the way a function
would, so these tests pin down the engine's own rules (jobs, continuations, run order).
"""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from helpers import pipelines
from helpers.localcloud.codepipeline.jobs import NO_RESULT_MESSAGE
from helpers.localcloud.codepipeline.models import PipelineEngine
from helpers.localcloud.errors import AwsError

from .conftest import zip_bytes


class AnsweringRuntime:
    """Receives invoke_async calls and reports a result per job, like a function would."""

    def __init__(self, answer):
        self.engine: PipelineEngine | None = None
        self.answer = answer
        self.events: list[dict] = []

    def invoke_async(self, region: str, name: str, payload: bytes) -> str:
        if name == "missing":
            raise AwsError("ResourceNotFoundException", f"Function not found: {name}", 404)
        event = json.loads(payload)
        self.events.append(event)
        threading.Thread(target=self.answer, args=(self.engine, event), daemon=True).start()
        return f"request-{len(self.events)}"


@pytest.fixture
def declared(monkeypatch):
    """``declare(engine, *lambda_actions)``: a Source -> Invoke pipeline "p" in the engine's
    own store; returns the id of the execution its creation starts."""
    for key in ("AWS_ENDPOINT_URL",):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in ("src", "store"):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="src", Key="app.zip", Body=zip_bytes({"a.txt": "a"}))

        def declare(engine: PipelineEngine, *lambda_actions) -> str:
            engine.create_pipeline(
                {
                    "name": "p",
                    "roleArn": "arn:aws:iam::123456789012:role/p",
                    "artifactStore": {"type": "S3", "location": "store"},
                    "stages": [
                        {
                            "name": "Source",
                            "actions": [
                                pipelines.s3_source_action("Source", "src", "app.zip", "Src")
                            ],
                        },
                        {"name": "Invoke", "actions": list(lambda_actions)},
                    ],
                }
            )
            (execution,) = engine.executions("p")
            return execution.id

        yield declare


def lambda_action(name: str, function: str, run_order: int = 1) -> dict:
    return {
        "name": name,
        "actionTypeId": {
            "category": "Invoke",
            "owner": "AWS",
            "provider": "Lambda",
            "version": "1",
        },
        "runOrder": run_order,
        "configuration": {"FunctionName": function},
        "inputArtifacts": [{"name": "Src"}],
    }


def finish(engine: PipelineEngine, execution_id: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = engine.execution("p", execution_id)
        if execution.status not in ("InProgress", "Stopping"):
            return execution
        time.sleep(0.01)
    raise AssertionError("still running")


def test_a_continuation_is_a_new_job_with_the_token(declared):
    def answer(engine, event):
        job = event["CodePipeline.job"]
        token = None if job["data"].get("continuationToken") else "again"
        engine.put_job_success(job["id"], token, {"summary": "ok"}, None)

    runtime = AnsweringRuntime(answer)
    engine = runtime.engine = PipelineEngine("us-east-1", runtime, job_timeout_s=5)
    execution = finish(engine, declared(engine, lambda_action("Check", "fn")))
    assert execution.status == "Succeeded"
    first, second = (e["CodePipeline.job"] for e in runtime.events)
    assert "continuationToken" not in first["data"]
    assert second["data"]["continuationToken"] == "again"
    assert first["id"] != second["id"]
    assert first["data"]["inputArtifacts"][0]["revision"] is not None


def test_same_run_order_in_parallel_later_run_order_after(declared):
    started: dict[str, float] = {}

    def answer(engine, event):
        name = event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"][
            "FunctionName"
        ]
        started[name] = time.monotonic()
        time.sleep(0.3)
        engine.put_job_success(event["CodePipeline.job"]["id"], None, None, None)

    runtime = AnsweringRuntime(answer)
    engine = runtime.engine = PipelineEngine("us-east-1", runtime, job_timeout_s=5)
    first = declared(
        engine, lambda_action("A", "a"), lambda_action("B", "b"), lambda_action("C", "c", 2)
    )
    assert finish(engine, first).status == "Succeeded"
    assert abs(started["a"] - started["b"]) < 0.2, "same runOrder runs in parallel"
    assert started["c"] >= max(started["a"], started["b"]) + 0.25, "runOrder 2 waits"


def test_no_result_times_out_and_a_missing_function_fails(declared):
    runtime = AnsweringRuntime(lambda engine, event: None)  # never reports
    engine = runtime.engine = PipelineEngine("us-east-1", runtime, job_timeout_s=0.3)
    execution = finish(
        engine, declared(engine, lambda_action("Silent", "fn"), lambda_action("Missing", "missing"))
    )
    assert execution.status == "Failed"
    runs = {r.name: r for r in engine.action_runs("p")}
    assert runs["Silent"].error["message"] == NO_RESULT_MESSAGE.format(name="fn")
    assert "Function not found" in runs["Missing"].error["message"]
    job_id = runtime.events[0]["CodePipeline.job"]["id"]
    with pytest.raises(AwsError) as late:
        engine.put_job_success(job_id, None, None, None)
    assert late.value.code == "InvalidJobStateException"


def test_stop_without_abandon_lets_the_running_action_finish(declared):
    release = threading.Event()

    def answer(engine, event):
        release.wait(5)
        engine.put_job_success(event["CodePipeline.job"]["id"], None, None, None)

    runtime = AnsweringRuntime(answer)
    engine = runtime.engine = PipelineEngine("us-east-1", runtime, job_timeout_s=5)
    execution_id = declared(engine, lambda_action("First", "fn"), lambda_action("Later", "fn", 2))
    deadline = time.monotonic() + 5
    while not runtime.events and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.stop("p", execution_id, abandon=False, reason="enough")
    assert engine.execution("p", execution_id).status == "Stopping"
    release.set()
    execution = finish(engine, execution_id)
    assert execution.status == "Stopped"
    assert execution.status_summary == "enough"
    runs = {r.name: r.status for r in engine.action_runs("p")}
    assert runs == {"Source": "Succeeded", "First": "Succeeded"}, "Later never started"


def test_a_function_the_runtime_refuses_fails_its_action_at_once(declared):
    runtime = AnsweringRuntime(lambda engine, event: None)
    engine = runtime.engine = PipelineEngine("us-east-1", runtime, job_timeout_s=30)
    started = time.monotonic()
    execution = finish(engine, declared(engine, lambda_action("Missing", "missing")))
    assert time.monotonic() - started < 5, "no waiting for a job that can't report"
    assert execution.status == "Failed"
    assert execution.status_summary == "Function not found: missing"
