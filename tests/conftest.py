"""Shared fixtures: a local cloud on a free port for the whole test session."""

from __future__ import annotations

import pytest

from helpers import localcloud

JOB_TIMEOUT_S = 4.0  # short, so the "never reported" tests finish quickly


@pytest.fixture(scope="session")
def cloud_endpoint(tmp_path_factory):
    log = tmp_path_factory.mktemp("localcloud") / "localcloud.log"
    process, endpoint = localcloud.start(job_timeout_s=JOB_TIMEOUT_S, log_path=str(log))
    yield endpoint
    process.terminate()
    try:
        process.wait(10)
    except Exception:
        process.kill()
