"""Starting and stopping the local cloud, as `make lab` and the notebooks do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import localcloud


def test_serves_on_loopback_until_sigterm(tmp_path):
    port = localcloud.free_port()
    process = subprocess.Popen(  # a state directory of its own: never the checkout's
        [sys.executable, "-m", "helpers.localcloud", "--port", str(port), "--state-dir", tmp_path],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith(f"Local cloud ready on http://127.0.0.1:{port}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localcloud/health") as reply:
            assert json.load(reply)["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()


def test_ensure_running_reuses_the_running_cloud_and_stop_ends_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCLOUD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LOCALCLOUD_PORT", str(localcloud.free_port()))
    endpoint = localcloud.ensure_running()
    try:
        pid = json.loads((tmp_path / "endpoint.json").read_text())["pid"]
        assert localcloud.is_healthy(endpoint)
        assert localcloud.ensure_running() == endpoint
        assert json.loads((tmp_path / "endpoint.json").read_text())["pid"] == pid
    finally:
        assert localcloud.stop()
    deadline = time.monotonic() + 10
    while localcloud.is_healthy(endpoint, timeout=0.2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not localcloud.is_healthy(endpoint, timeout=0.2)
    assert not localcloud.stop(), "stopping twice is harmless"


def test_its_environment_keeps_settings_and_drops_what_leads_to_the_key():
    given = {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/repo",
        "LC_ALL": "C.UTF-8",
        "LOCALCLOUD_IDLE_S": "42",
        "LOCALCLOUD_PYTHON_CLIENT": "builtin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LOCALCLOUD_STATE_DIR": "/home/learner/workbook/.localcloud",
        "AWS_ACCESS_KEY_ID": "AKIAOWNER",
        "AWS_SECRET_ACCESS_KEY": "owner-secret",
        "AWS_SHARED_CREDENTIALS_FILE": "/home/learner/workbook/.localcloud/credentials",
        "AWS_PROFILE": "localcloud",
        "JUPYTER_TOKEN": "a-token",
    }
    assert localcloud.server_environment(given) == {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/repo",
        "LC_ALL": "C.UTF-8",
        "LOCALCLOUD_IDLE_S": "42",
        "LOCALCLOUD_PYTHON_CLIENT": "builtin",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="no /proc to look in (Linux)")
def test_started_by_hand_it_serves_with_neither_its_state_directory_nor_a_key_in_sight(tmp_path):
    """`LOCALCLOUD_STATE_DIR=... python -m helpers.localcloud --state-dir DIR` from a shell that
    holds keys: the process serving (the same process, replaced) shows neither, and keeps its
    LOCALCLOUD_* settings."""
    port = localcloud.free_port()
    environment = {
        **os.environ,
        "LOCALCLOUD_STATE_DIR": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIAOWNERKEY",
        "AWS_SECRET_ACCESS_KEY": "owner-secret",
        "LOCALCLOUD_IDLE_S": "42",
    }
    command = [sys.executable, "-m", "helpers.localcloud", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--state-dir", str(tmp_path), "--job-timeout", "7"],
        stdout=subprocess.PIPE,
        env=environment,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith(f"Local cloud ready on http://127.0.0.1:{port}")
        environ = Path(f"/proc/{process.pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        for shown in (environ, cmdline):
            assert str(tmp_path).encode() not in shown
            assert b"AKIAOWNERKEY" not in shown and b"owner-secret" not in shown
        assert b"LOCALCLOUD_IDLE_S=42\0" in environ
        assert b"--job-timeout\x007.0\0" in cmdline
        assert (tmp_path / "credentials").exists(), "it serves the state directory it was given"
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="no /proc to look in (Linux)")
def test_start_passes_the_state_directory_on_stdin(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCLOUD_STATE_DIR", str(tmp_path))
    process, endpoint = localcloud.start(state=tmp_path)
    try:
        for shown in ("environ", "cmdline"):
            assert str(tmp_path).encode() not in Path(f"/proc/{process.pid}/{shown}").read_bytes()
        assert localcloud.is_healthy(endpoint)
        assert (tmp_path / "credentials").exists()
    finally:
        process.terminate()
        process.wait(10)
