"""The local cloud's Lambda: deployment packages really execute, with each Python client."""

from __future__ import annotations

import base64
import json
import re
import threading
from pathlib import Path

import pytest

from ..conftest import (
    assert_valid_output,
    create_function,
    log_messages,
    unique,
    wait_until_updated,
    zip_bytes,
)

ECHO = """
import json, os
print("init: loading module")
def handler(event, context):
    print("event", json.dumps(event))
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in (
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION",
            "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME", "MY_SETTING", "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID", "LAMBDA_TASK_ROOT")},
        "cwd": os.getcwd(),
    }
"""

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB"
    r"\tMax Memory Used: (?P<used>\d+) MB(?:\tInit Duration: (?P<init>\d+\.\d{2}) ms)?"
    r"(?P<status>\tStatus: timeout)?$"
)
STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


def invoke(aws, name, payload=None, **kwargs):
    response = aws("lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload or {}).encode(), **kwargs
    )
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def test_invoke_runs_the_deployment_package_with_lambda_environment(aws, make_function):
    name = make_function(ECHO, env={"MY_SETTING": "blue"}, MemorySize=256)
    response, result = invoke(aws, name, {"hello": "world"})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert result["event"] == {"hello": "world"}
    assert result["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert 0 < result["remaining_ms"] <= 5000
    env = result["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert STREAM.match(env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["MY_SETTING"] == "blue"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    # imported from the extracted package, not from the repository
    assert result["cwd"] == env["LAMBDA_TASK_ROOT"]
    repo = str(Path(__file__).resolve().parents[3])
    assert not result["cwd"].startswith(repo + "/helpers")


def test_logs_have_start_end_report_and_init_duration_only_on_cold_start(aws, make_function):
    name = make_function(ECHO)
    first, _ = invoke(aws, name, {"n": 1})
    second, _ = invoke(aws, name, {"n": 2})
    streams = log_messages(aws, name)
    assert len(streams) == 1, "a warm worker is reused: one log stream"
    messages = streams[0]
    assert messages[0].startswith("INIT_START Runtime Version: python:3.12.v")
    assert messages[1] == "init: loading module"
    ids = [first["ResponseMetadata"]["RequestId"], second["ResponseMetadata"]["RequestId"]]
    for request_id, cold in zip(ids, (True, False), strict=True):
        start = messages.index(f"START RequestId: {request_id} Version: $LATEST")
        end = messages.index(f"END RequestId: {request_id}")
        assert start < end
        assert messages[start + 1].startswith("event ")
        report = REPORT.match(messages[end + 1])
        assert report, messages[end + 1]
        assert report["id"] == request_id
        assert report["memory"] == "128"
        assert int(report["used"]) > 10
        assert (report["init"] is not None) is cold
        billed = float(report["duration"]) + (float(report["init"]) if cold else 0)
        assert int(report["billed"]) == max(1, -(-int(billed * 100) // 100))


def test_tail_returns_the_invocations_log(aws, make_function):
    name = make_function(ECHO)
    response, _ = invoke(aws, name, {"tail": True}, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "START RequestId:" in tail and "REPORT RequestId:" in tail
    assert '"tail": true' in tail


def test_event_and_dry_run_invocations(aws, make_function):
    name = make_function(
        "import boto3\n"
        "def handler(event, context):\n"
        "    boto3.client('s3').put_object(Bucket=event['bucket'], Key='done', Body=b'yes')\n"
    )
    bucket = unique("async")
    aws("s3").create_bucket(Bucket=bucket)
    dry = aws("lambda").invoke(FunctionName=name, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    queued = aws("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"bucket": bucket})
    )
    assert queued["StatusCode"] == 202
    waiter = aws("s3").get_waiter("object_exists")
    waiter.wait(Bucket=bucket, Key="done", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    assert aws("s3").get_object(Bucket=bucket, Key="done")["Body"].read() == b"yes"


def test_unhandled_exception_comes_back_in_aws_shape(aws, make_function):
    name = make_function("def handler(event, context):\n    raise ValueError('bad input')\n")
    response, error = invoke(aws, name)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input"
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]
    messages = log_messages(aws, name)[0]
    assert any("[ERROR] ValueError: bad input" in m for m in messages)


@pytest.mark.parametrize(
    ("files", "handler", "error_type"),
    [
        ({"app.py": "x = 1\n"}, "missing.handler", "Runtime.ImportModuleError"),
        ({"app.py": "x = 1\n"}, "app.handler", "Runtime.HandlerNotFound"),
        ({"app.py": "def handler(:\n"}, "app.handler", "Runtime.UserCodeSyntaxError"),
    ],
)
def test_a_bad_handler_is_reported_like_aws(aws, roles, files, handler, error_type):
    name = unique("bad")
    create_function(
        aws,
        FunctionName=name,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler=handler,
        Code={"ZipFile": zip_bytes(files)},
    )
    response, error = invoke(aws, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == error_type


def test_a_worker_that_exits_is_replaced(aws, make_function):
    name = make_function(
        "import os\n"
        "def handler(event, context):\n"
        "    if event.get('exit'):\n"
        "        os._exit(3)\n"
        "    return 'alive'\n"
    )
    response, error = invoke(aws, name, {"exit": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]
    response, result = invoke(aws, name, {})
    assert result == "alive"
    assert len(log_messages(aws, name)) == 2, "the replacement worker has its own stream"


def test_timeout_is_enforced_and_reported_as_aws_does_today(aws, make_function):
    name = make_function(
        "import time\ndef handler(event, context):\n    time.sleep(30)\n", timeout=1
    )
    response, error = invoke(aws, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    request_id = response["ResponseMetadata"]["RequestId"]
    assert error["errorMessage"] == (
        f"RequestId: {request_id} Error: Task timed out after 1.00 seconds"
    )
    messages = log_messages(aws, name)[0]
    assert not any("Task timed out" in m for m in messages), "the REPORT line says it now"
    assert messages[-2] == f"END RequestId: {request_id}"
    report = REPORT.match(messages[-1])
    assert report and report["status"] == "\tStatus: timeout"
    assert report["duration"] == "1000.00", "a timed-out invocation lasted its timeout exactly"


def test_code_update_retires_warm_workers(aws, make_function):
    name = make_function("def handler(event, context):\n    return 'v1'\n")
    assert invoke(aws, name)[1] == "v1"
    aws("lambda").update_function_code(
        FunctionName=name,
        ZipFile=zip_bytes({"app.py": "def handler(event, context):\n    return 'v2'\n"}),
    )
    wait_until_updated(aws, name)
    assert invoke(aws, name)[1] == "v2"
    aws("lambda").update_function_configuration(FunctionName=name, MemorySize=512)
    wait_until_updated(aws, name)
    response, _ = invoke(aws, name)
    assert len(log_messages(aws, name)) == 3
    assert "Memory Size: 512 MB" in log_messages(aws, name)[2][-1]


def test_code_from_an_s3_object(aws, roles):
    bucket, name = unique("code"), unique("s3fn")
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(
        Bucket=bucket,
        Key="fn.zip",
        Body=zip_bytes({"app.py": "def handler(event, context):\n    return 's3 code'\n"}),
    )
    create_function(
        aws,
        FunctionName=name,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={"S3Bucket": bucket, "S3Key": "fn.zip"},
    )
    assert invoke(aws, name)[1] == "s3 code"


def test_concurrent_invocations_get_more_workers(aws, make_function):
    name = make_function("import time\ndef handler(event, context):\n    time.sleep(0.5)\n")
    threads = [threading.Thread(target=invoke, args=(aws, name)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(log_messages(aws, name)) == 2


def test_errors_are_lambdas_modelled_exceptions(aws, make_function):
    client = aws("lambda")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert "Function not found: arn:aws:lambda:us-east-1:" in str(raised.value)
    name = make_function(ECHO)
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName=name, Payload=b"{not json")


def test_invoke_response_shape(aws, make_function):
    name = make_function(ECHO)
    response = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    response["Payload"] = response["Payload"].read()
    assert_valid_output(aws("lambda"), "Invoke", response)
