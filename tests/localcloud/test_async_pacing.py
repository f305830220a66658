"""Asynchronous invocations, continuations and throttling as AWS paces them.

- a function error in an asynchronous invocation is retried twice, with the same request id
  (three START … REPORT in the log), or as often as PutFunctionEventInvokeConfig says;
- reserved concurrency throttles: 429 TooManyRequestsException with AWS's Reason, and a
  throttled asynchronous event is tried again until it runs;
- a continuing Lambda action waits between jobs, and one that continues for ever fails after
  its (scaled) 24 hours instead of spinning.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from helpers import localcloud
from helpers.localcloud.codepipeline import providers

from ..conftest import JOB_TIMEOUT_S, Started
from . import pipeline_kit as kit
from .conftest import Cloud, log_messages

RAISES = "def handler(event, context):\n    raise RuntimeError('side effect, then a crash')\n"
SLEEPS = "import time\n\ndef handler(event, context):\n    time.sleep(1.0)\n    return 'slept'\n"
CONTINUES = """import boto3

def handler(event, context):
    job = event["CodePipeline.job"]
    boto3.client("codepipeline").put_job_success_result(
        jobId=job["id"], continuationToken="again",
        executionDetails={"summary": "still waiting"})
"""


def starts(aws, function: str) -> list[str]:
    """The function's START lines so far (none before its log group exists)."""
    try:
        streams = log_messages(aws, function)
    except aws("logs").exceptions.ResourceNotFoundException:
        return []
    return [line for stream in streams for line in stream if line.startswith("START RequestId:")]


def test_a_raising_action_function_runs_three_times_with_one_request_id(aws, roles):
    world = kit.source_world(aws, roles)
    function = kit.python_function(aws, roles, RAISES)
    stage = {"name": "Invoke", "actions": [kit.lambda_action("Raise", function)]}
    name = kit.create(aws, kit.declaration(world, stage))
    (execution,) = kit.finish_all(aws, name)
    assert execution["status"] == "Failed"
    row = kit.actions(aws, name, execution["pipelineExecutionId"])["Raise"]
    assert (
        "failed to return a result" in row["output"]["executionResult"]["externalExecutionSummary"]
    )
    lines = starts(aws, function)
    assert len(lines) == 3, lines  # the first attempt and Lambda's two retries
    assert len({line.split()[2] for line in lines}) == 1, "retries keep the request id"


def test_maximum_retry_attempts_is_honoured(aws, roles):
    function = kit.python_function(aws, roles, RAISES)
    lam = aws("lambda")
    lam.put_function_event_invoke_config(FunctionName=function, MaximumRetryAttempts=0)
    lam.invoke(FunctionName=function, InvocationType="Event", Payload=b"{}")
    kit.wait_for(lambda: len(starts(aws, function)) == 1)
    time.sleep(60 * JOB_TIMEOUT_S / 1200 * 4)  # well past when a retry would have come
    assert len(starts(aws, function)) == 1


def test_a_successful_event_runs_once(aws, roles):
    function = kit.python_function(aws, roles, "def handler(e, c):\n    return 1\n")
    aws("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b"{}")
    kit.wait_for(lambda: len(starts(aws, function)) == 1)
    time.sleep(0.5)
    assert len(starts(aws, function)) == 1


def test_reserved_concurrency_zero_throttles_every_call(aws, roles):
    function = kit.python_function(aws, roles, "def handler(e, c):\n    return 1\n")
    lam = aws("lambda")
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException) as caught:
        lam.invoke(FunctionName=function, Payload=b"{}")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert error["Error"]["Message"] == "Rate Exceeded."


def test_reserved_concurrency_one_refuses_the_second_call_at_once(aws, roles):
    function = kit.python_function(aws, roles, SLEEPS)
    lam = aws("lambda")  # no client retries: the second call sees the throttle itself
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=1)
    outcomes: list[str] = []

    def call():
        try:
            lam.invoke(FunctionName=function, Payload=b"{}")
            outcomes.append("ran")
        except lam.exceptions.TooManyRequestsException:
            outcomes.append("throttled")

    first = threading.Thread(target=call)
    first.start()
    kit.wait_for(lambda: len(starts(aws, function)) == 1)
    call()
    first.join()
    assert sorted(outcomes) == ["ran", "throttled"]


def test_a_throttled_event_runs_once_concurrency_is_back(aws, roles):
    function = kit.python_function(aws, roles, "def handler(e, c):\n    return 1\n")
    lam = aws("lambda")
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
    assert (
        lam.invoke(FunctionName=function, InvocationType="Event", Payload=b"{}")["StatusCode"]
        == 202
    )  # queued, as on AWS: the throttle is met later
    time.sleep(0.5)
    assert starts(aws, function) == []
    lam.delete_function_concurrency(FunctionName=function)
    kit.wait_for(lambda: len(starts(aws, function)) == 1, timeout=10)


def test_the_continuation_delay_is_seconds_and_the_limit_is_24_hours_scaled(monkeypatch):
    monkeypatch.delenv("LOCALCLOUD_CONTINUATION_DELAY_S", raising=False)
    monkeypatch.delenv("LOCALCLOUD_MAX_ACTION_S", raising=False)
    services = providers.ActionServices("us-east-1", "1", None, None, 60.0, None, None, None)
    assert services.continuation_delay_s == 2.0
    assert services.max_action_s == 72 * 60  # 24 hours, as 60 s stands for 20 minutes


@pytest.fixture(scope="module")
def paced_cloud(tmp_path_factory):
    """A local cloud whose Lambda actions may run 3 s, with 0.5 s between continuations."""
    state = tmp_path_factory.mktemp("paced")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOCALCLOUD_CONTINUATION_DELAY_S", "0.5")
        env.setenv("LOCALCLOUD_MAX_ACTION_S", "3")
        process, endpoint = localcloud.start(
            job_timeout_s=JOB_TIMEOUT_S, state=state, log_path=str(state / "localcloud.log")
        )
    try:
        yield Cloud.of(Started(endpoint, str(state), localcloud.owner_credentials(state)))
    finally:
        process.terminate()
        process.wait(10)


def test_a_function_that_continues_for_ever_is_paced_then_failed(paced_cloud):
    aws, roles = paced_cloud.client, paced_cloud.roles
    world = kit.source_world(aws, roles)
    function = kit.python_function(aws, roles, CONTINUES)
    stage = {"name": "Invoke", "actions": [kit.lambda_action("Forever", function)]}
    started = time.monotonic()
    name = kit.create(aws, kit.declaration(world, stage))
    took = time.monotonic() - started
    (execution,) = kit.finish_all(aws, name)
    assert execution["status"] == "Failed"
    row = kit.actions(aws, name, execution["pipelineExecutionId"])["Forever"]
    message = row["output"]["executionResult"]["externalExecutionSummary"]
    assert "did not finish within 24 hours" in message and "3 seconds" in message
    rounds = len(starts(aws, function))
    assert 2 <= rounds <= 7, rounds  # 3 s at one round per 0.5 s at most, never a tight loop
    assert took < 20
    events = aws("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{function}", filterPattern='"START RequestId"'
    )["events"]
    times = sorted(e["timestamp"] for e in events)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 450, gaps


def test_stopping_a_continuing_action_ends_the_wait(paced_cloud):
    aws, roles = paced_cloud.client, paced_cloud.roles
    world = kit.source_world(aws, roles)
    function = kit.python_function(aws, roles, CONTINUES)
    stage = {"name": "Invoke", "actions": [kit.lambda_action("Forever", function)]}
    pipeline = kit.declaration(world, stage)
    cp = aws("codepipeline")
    cp.create_pipeline(pipeline=pipeline)
    kit.wait_for(lambda: len(starts(aws, function)) >= 1, timeout=10)
    (summary,) = cp.list_pipeline_executions(pipelineName=pipeline["name"])[
        "pipelineExecutionSummaries"
    ]
    cp.stop_pipeline_execution(
        pipelineName=pipeline["name"],
        pipelineExecutionId=summary["pipelineExecutionId"],
        abandon=True,
    )
    (execution,) = kit.finish_all(aws, pipeline["name"], timeout=5)
    assert execution["status"] == "Stopped"
    json.dumps(execution, default=str)
