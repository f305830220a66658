"""Starting and stopping the local cloud, as `make lab` and the notebooks do."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

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
