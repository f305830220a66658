"""Idle execution environments are shut down, as Lambda does, so a day-long session doesn't
accumulate processes; the next invocation is a cold start, and its REPORT line says so."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.request

import pytest

from helpers import localcloud
from helpers.localcloud.awslambda import runtime

from ..conftest import Started
from .conftest import Cloud, create_function, zip_bytes

IDLE_S = 1.0
SOURCE = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return os.getpid()
"""


@pytest.fixture(scope="module")
def idle_cloud(tmp_path_factory):
    """A local cloud whose environments are shut down after IDLE_S idle."""
    state = tmp_path_factory.mktemp("idle")
    process, endpoint = localcloud.start(
        state=state, log_path=str(state / "localcloud.log"), idle_timeout_s=IDLE_S
    )
    yield Cloud(Started(endpoint, str(state), localcloud.owner_credentials(state)))
    process.terminate()
    process.wait(15)


def invoke(cloud, name: str, **event) -> tuple[int, str]:
    """(the environment's pid, the REPORT line)."""
    reply = cloud.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    tail = base64.b64decode(reply["LogResult"]).decode()
    report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
    return json.load(reply["Payload"]), report


def warm_workers(endpoint: str) -> int:
    with urllib.request.urlopen(endpoint + localcloud.HEALTH_PATH) as reply:
        return json.load(reply)["warmWorkers"]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_for(check, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_an_idle_environment_is_shut_down_and_the_next_invoke_is_a_cold_start(idle_cloud):
    cloud = idle_cloud
    create_function(
        cloud.client,
        FunctionName="idle-fn",
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": SOURCE})},
    )
    first, report = invoke(cloud, "idle-fn")
    assert "Init Duration" in report
    again, report = invoke(cloud, "idle-fn")
    assert again == first and "Init Duration" not in report, "warm: the same environment"

    assert wait_for(lambda: gone(first)), "the idle environment's process was shut down"
    assert warm_workers(cloud.endpoint) == 0

    after, report = invoke(cloud, "idle-fn")
    assert after != first
    assert "Init Duration" in report, "a reaped environment makes the next invoke cold"


def test_an_environment_busy_longer_than_the_idle_time_is_not_shut_down(idle_cloud):
    cloud = idle_cloud
    create_function(
        cloud.client,
        FunctionName="busy-fn",
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": SOURCE})},
    )
    first, _ = invoke(cloud, "busy-fn")
    busy, report = invoke(cloud, "busy-fn", sleep=IDLE_S * 2)
    assert busy == first and "Init Duration" not in report


def test_the_idle_time_is_ten_minutes_unless_configured(monkeypatch):
    monkeypatch.delenv("LOCALCLOUD_IDLE_S", raising=False)
    assert runtime.idle_timeout_from_environment() == 600
    monkeypatch.setenv("LOCALCLOUD_IDLE_S", "42")
    assert runtime.idle_timeout_from_environment() == 42
