"""MemorySize is a limit, with each Python client: a function that needs more memory than it has
is stopped as Lambda stops it. The invocation fails with ``Runtime exited with error: signal:
killed``, the REPORT line says ``Max Memory Used`` is all of MemorySize and ``Status: error
Error Type: Runtime.OutOfMemory``, and the next invocation gets a new environment. Under its
limit a function is left alone."""

from __future__ import annotations

import json
import re

from ..conftest import log_messages

ALLOCATES = """
def handler(event, context):
    data = b"x" * (event["mb"] * 1024 * 1024)  # written, so it is resident
    return len(data) // (1024 * 1024)
"""

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms"
    r"\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: \d+\.\d{2} ms)?(?P<status>\tStatus: error\tError Type: \S+)?$"
)


def invoke(aws, name: str, event: dict) -> tuple[dict, object]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, json.loads(response["Payload"].read())


def test_allocating_300_mb_at_128_mb_is_stopped_as_out_of_memory(aws, make_function):
    name = make_function(ALLOCATES, MemorySize=128)
    response, payload = invoke(aws, name, {"mb": 300})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    (stopped,) = log_messages(aws, name)
    assert stopped[-3:-1] == [
        f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
        "\nRuntime.ExitError",
        f"END RequestId: {request_id}",
    ]
    report = REPORT.match(stopped[-1])
    assert report, stopped[-1]
    assert (report["size"], report["used"]) == ("128", "128"), "it used all it had"
    assert report["status"] == "\tStatus: error\tError Type: Runtime.OutOfMemory"

    response, payload = invoke(aws, name, {"mb": 10})
    assert payload == 10, "the next invocation runs in a new environment"
    assert len(log_messages(aws, name)) == 2


def test_under_its_limit_a_function_is_left_alone(aws, make_function):
    name = make_function(ALLOCATES, MemorySize=256)
    response, payload = invoke(aws, name, {"mb": 100})
    assert payload == 100 and "FunctionError" not in response
    report = REPORT.match(log_messages(aws, name)[0][-1])
    assert 100 < int(report["used"]) < 256 and report["status"] is None


def test_an_init_past_the_limit_is_stopped_too(aws, make_function):
    name = make_function('HELD = b"x" * (300 * 1024 * 1024)\n' + ALLOCATES, MemorySize=128)
    response, payload = invoke(aws, name, {"mb": 1})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert payload["errorMessage"] == (
        f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
    )
    (messages,) = log_messages(aws, name)
    assert re.match(
        r"^INIT_REPORT Init Duration: \d+\.\d{2} ms\tPhase: init\tStatus: error"
        r"\tError Type: Runtime\.OutOfMemory$",
        messages[-5],
    ), messages
    report = REPORT.match(messages[-1])
    assert report["used"] == "128"
    assert report["status"] == "\tStatus: error\tError Type: Runtime.OutOfMemory"


def test_json_logs_record_the_out_of_memory_error(aws, make_function):
    name = make_function(ALLOCATES, MemorySize=128, LoggingConfig={"LogFormat": "JSON"})
    response, _ = invoke(aws, name, {"mb": 300})
    request_id = response["ResponseMetadata"]["RequestId"]
    records = [json.loads(m) for m in log_messages(aws, name)[0]]
    platform = ("platform.runtimeDone", "platform.report")
    done, report = [r["record"] for r in records if r.get("type") in platform]
    assert done["requestId"] == report["requestId"] == request_id
    assert done["status"] == report["status"] == "error"
    assert done["errorType"] == report["errorType"] == "Runtime.OutOfMemory"
    assert report["metrics"]["maxMemoryUsedMB"] == report["metrics"]["memorySizeMB"] == 128
