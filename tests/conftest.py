"""Shared fixtures: local clouds on free ports for the whole test session."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import localcloud
from helpers.localcloud.access.credentials import OwnerCredentials

# The functions' modules import each other as they do at the root of their deployment package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers" / "functions"))

JOB_TIMEOUT_S = 4.0  # short, so the "never reported" tests finish quickly
# The local clouds the tests start wait 0.5 s between a continuation and the next job (2 s by
# default): test_async_pacing.py checks the default and the pacing itself.
os.environ.setdefault("LOCALCLOUD_CONTINUATION_DELAY_S", "0.5")
POLL_INTERVAL_S = 0.25  # short, so a source change starts its release at once


@dataclass(frozen=True)
class Started:
    """A local cloud the tests started: where it answers, and its owner's key."""

    endpoint: str
    state_dir: str
    owner: OwnerCredentials


@pytest.fixture(scope="session")
def start_cloud(tmp_path_factory):
    """Start (once per Python client) a local cloud with a state directory of its own.

    ``python_client`` None lets the local cloud choose (awslambdaric where it is installed);
    ``"awslambdaric"`` or ``"builtin"`` forces one, so the runtime suite proves both.
    """
    started: dict[str | None, tuple] = {}

    def start(python_client: str | None = None) -> Started:
        if python_client not in started:
            state = tmp_path_factory.mktemp("localcloud")
            process, endpoint = localcloud.start(
                job_timeout_s=JOB_TIMEOUT_S,
                poll_interval_s=POLL_INTERVAL_S,
                log_path=str(state / "localcloud.log"),
                python_client=python_client,
                state=state,
            )
            owner = localcloud.owner_credentials(state)
            started[python_client] = (process, Started(endpoint, str(state), owner))
            _wait_for_cloudformation(endpoint)
        return started[python_client][1]

    yield start
    for process, _ in started.values():
        process.terminate()
        try:
            process.wait(10)
        except Exception:
            process.kill()


def _wait_for_cloudformation(endpoint: str, bound_s: float = 60.0) -> None:
    """The local cloud loads moto's CloudFormation in the background after start-up (about
    2 s, longer on a busy machine); tests whose functions deploy stacks run with a 4 s job
    time-out, so wait for it here rather than let the first stack deployment time out."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(endpoint + localcloud.HEALTH_PATH, timeout=5) as reply:
            if json.load(reply).get("cloudformationReady"):
                return
        time.sleep(0.1)


@pytest.fixture(scope="session")
def local_cloud(start_cloud) -> Started:
    return start_cloud()


@pytest.fixture(scope="session")
def cloud_endpoint(local_cloud) -> str:
    return local_cloud.endpoint


@pytest.fixture(scope="session")
def owner_env(local_cloud) -> dict[str, str]:
    """The environment a shell gets from ``python -m helpers.localcloud --env``."""
    return local_cloud.owner.env(local_cloud.endpoint)
