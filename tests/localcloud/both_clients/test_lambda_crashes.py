"""A function whose runtime process ends — it kills itself, exits, crashes, or is killed from
outside — fails its invocation as on AWS, with each Python client: ``Runtime.ExitError`` with
the Runtime Interface Emulator's words ("Runtime exited with error: signal: killed", "... exit
status 3", "Runtime exited without providing a reason"), the platform's error line, END and a
REPORT that says ``Status: error	Error Type: Runtime.ExitError``; the next invocation gets a
fresh execution environment (a new log stream, an Init Duration). An init that ends the process
gets the same error, after an ``INIT_REPORT ... Status: error`` line."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import pytest

from ..conftest import log_messages

CRASHES = """
import ctypes, os, signal, sys, time

def handler(event, context):
    how = event.get("how")
    if how == "kill itself":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "sys.exit(3)":
        sys.exit(3)
    if how == "os._exit(3)":
        os._exit(3)
    if how == "sys.exit(0)":
        sys.exit(0)
    if how == "segfault":
        ctypes.string_at(0)
    if how == "wait to be killed":
        with open(event["pid_file"] + ".part", "w") as out:
            out.write(str(os.getpgrp()))
        os.rename(event["pid_file"] + ".part", event["pid_file"])
        time.sleep(30)
    return "alive"
"""

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d{2} ms"
    r"\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB"
    r"(?P<init>\tInit Duration: \d+\.\d{2} ms)?(?P<status>\tStatus: error\tError Type: \S+)?$"
)
INIT_REPORT = re.compile(
    r"^INIT_REPORT Init Duration: \d+\.\d{2} ms\tPhase: init\tStatus: error"
    r"\tError Type: Runtime\.ExitError$"
)


def invoke(aws, name: str, event: dict) -> tuple[dict, object]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, json.loads(response["Payload"].read())


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("kill itself", "Runtime exited with error: signal: killed"),
        ("sys.exit(3)", "Runtime exited with error: exit status 3"),
        ("os._exit(3)", "Runtime exited with error: exit status 3"),
        ("sys.exit(0)", "Runtime exited without providing a reason"),
        ("segfault", "Runtime exited with error: signal: segmentation fault"),
    ],
)
def test_a_runtime_that_ends_fails_the_invocation_and_the_next_gets_a_new_environment(
    aws, make_function, how, reason
):
    name = make_function(CRASHES)
    response, payload = invoke(aws, name, {"how": how})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: {reason}",
    }
    (crashed,) = log_messages(aws, name)
    assert crashed[-4:-1] == [
        f"START RequestId: {request_id} Version: $LATEST",
        f"RequestId: {request_id} Error: {reason}\nRuntime.ExitError",
        f"END RequestId: {request_id}",
    ]
    report = REPORT.match(crashed[-1])
    assert report and report["id"] == request_id, crashed[-1]
    assert report["status"] == "\tStatus: error\tError Type: Runtime.ExitError"

    response, payload = invoke(aws, name, {})
    assert payload == "alive" and "FunctionError" not in response
    first, second = log_messages(aws, name)
    assert first == crashed, "the crashed environment's stream is left as it was"
    assert second[0].startswith("INIT_START ") and REPORT.match(second[-1])["init"], (
        "a new environment: its own stream, a cold start"
    )


def test_a_runtime_killed_from_outside_mid_invocation(aws, make_function, tmp_path):
    name = make_function(CRASHES, timeout=30)
    pid_file = tmp_path / "pgid"
    event = {"how": "wait to be killed", "pid_file": str(pid_file)}
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.extend(invoke(aws, name, event)))
    thread.start()
    deadline = time.monotonic() + 20
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the function never started"
        time.sleep(0.02)
    os.killpg(int(pid_file.read_text()), signal.SIGKILL)  # as the OOM killer or a reboot would
    thread.join(20)
    response, payload = outcome
    request_id = response["ResponseMetadata"]["RequestId"]
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    report = REPORT.match(log_messages(aws, name)[0][-1])
    assert report["status"] == "\tStatus: error\tError Type: Runtime.ExitError"
    response, payload = invoke(aws, name, {})
    assert payload == "alive"
    assert len(log_messages(aws, name)) == 2


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        ("import os\nos._exit(3)\n", "Runtime exited with error: exit status 3"),
        ("import sys\nsys.exit(3)\n", "Runtime exited with error: exit status 3"),
        (
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
            "Runtime exited with error: signal: killed",
        ),
    ],
    ids=["os._exit", "sys.exit", "kill"],
)
def test_an_init_that_ends_the_runtime_fails_with_runtime_exit_error(
    aws, make_function, module, reason
):
    name = make_function(module + "def handler(event, context):\n    return 'never'\n")
    response, payload = invoke(aws, name, {})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: {reason}",
    }
    (messages,) = log_messages(aws, name)
    assert messages[0].startswith("INIT_START ")
    assert INIT_REPORT.match(messages[-5]), messages
    assert messages[-4:-1] == [
        f"START RequestId: {request_id} Version: $LATEST",
        f"RequestId: {request_id} Error: {reason}\nRuntime.ExitError",
        f"END RequestId: {request_id}",
    ]
    assert REPORT.match(messages[-1])["status"] == "\tStatus: error\tError Type: Runtime.ExitError"
