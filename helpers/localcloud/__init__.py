"""The local cloud: AWS's APIs for this workbook, on 127.0.0.1, offline, no Docker.

moto provides the APIs; on top of it the local cloud really runs pipelines (``codepipeline``),
really executes Lambda deployment packages through AWS's runtime interface client
(``awslambda``), writes CloudWatch logs with measured durations, and answers errors as AWS does.

Start one with ``python -m helpers.localcloud --port PORT`` or, from Python,
``ensure_running()``, which reuses the one already running for this checkout. Everything it
keeps lives in its state directory (``persistence/``), so a restart loses nothing; only
``make clean`` (removing the directory) wipes it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .access import credentials
from .access.credentials import OwnerCredentials
from .errors import AwsError

HEALTH_PATH = "/_localcloud/health"
DEFAULT_PORT = 4566
STATE_DIR = Path(__file__).resolve().parents[2] / ".localcloud"


def state_dir() -> Path:
    """Where this local cloud keeps its state: $LOCALCLOUD_STATE_DIR, else .localcloud/."""
    return Path(os.environ.get("LOCALCLOUD_STATE_DIR") or STATE_DIR)


def _state_file() -> Path:
    return state_dir() / "endpoint.json"


def owner_credentials(directory: str | os.PathLike | None = None) -> OwnerCredentials:
    """The owner's access key of a state directory (created on first use): what the notebooks,
    tests and the AWS CLI sign their requests with."""
    return credentials.load_or_create(directory or state_dir())


def is_healthy(endpoint: str, timeout: float = 1.0) -> bool:
    """True if a local cloud answers at ``endpoint``."""
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as reply:
            return json.load(reply).get("status") == "ok"
    except (OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start(
    port: int | None = None,
    job_timeout_s: float | None = None,
    log_path: str | None = None,
    python_client: str | None = None,
    state: str | os.PathLike | None = None,
    enforce_iam: bool | None = None,
    idle_timeout_s: float | None = None,
    persist: bool = True,
    poll_interval_s: float | None = None,
) -> tuple[subprocess.Popen, str]:
    """Start a local cloud process in the background; returns (process, endpoint) once ready.

    ``state`` is its state directory (default: this checkout's): its owner's credentials and
    everything it keeps are there, and it starts with what the directory holds.
    ``enforce_iam`` defaults to on, unless LOCALCLOUD_NO_IAM=1. ``idle_timeout_s``: how long an
    execution environment may stay idle before it is shut down (LOCALCLOUD_IDLE_S, 600).
    ``poll_interval_s``: how often S3 source actions that poll check their object for a new
    version (LOCALCLOUD_POLL_S, 5). ``persist=False`` keeps nothing across restarts (`make
    bench` measures what keeping costs)."""
    if enforce_iam is None:
        enforce_iam = os.environ.get("LOCALCLOUD_NO_IAM", "") not in ("1", "true", "yes")
    port = port or free_port()
    command = [sys.executable, "-m", "helpers.localcloud", "--port", str(port)]
    command += ["--state-dir", str(state or state_dir())]
    if not enforce_iam:
        command.append("--no-iam")
    if job_timeout_s is not None:
        command += ["--job-timeout", str(job_timeout_s)]
    if python_client is not None:
        command += ["--python-client", python_client]
    if idle_timeout_s is not None:
        command += ["--idle-timeout", str(idle_timeout_s)]
    if poll_interval_s is not None:
        command += ["--poll-interval", str(poll_interval_s)]
    if not persist:
        command.append("--no-persist")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"The local cloud exited at start-up (code {process.returncode})"
                + (f"; see {log_path}" if log_path else "")
            )
        if is_healthy(endpoint, timeout=0.5):
            return process, endpoint
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"The local cloud did not answer on {endpoint} within 30 s")


def ensure_running() -> str:
    """The endpoint of this checkout's local cloud, starting one in the background if needed.

    The process outlives the notebook kernel, so its state (buckets, pipelines, warm
    functions) survives kernel restarts; it lives until ``stop()`` or a reboot.
    """
    state = _state_file()
    if state.exists():
        try:
            endpoint = json.loads(state.read_text())["endpoint"]
        except (ValueError, KeyError):
            endpoint = None
        if endpoint and is_healthy(endpoint):
            return endpoint
    state.parent.mkdir(parents=True, exist_ok=True)
    wanted = int(os.environ.get("LOCALCLOUD_PORT", DEFAULT_PORT))
    port = wanted if _port_is_free(wanted) else free_port()
    process, endpoint = start(port, log_path=str(state.parent / "localcloud.log"))
    record_endpoint(endpoint, process.pid)
    return endpoint


def record_endpoint(endpoint: str, pid: int) -> None:
    """Where the local cloud of this state directory answers, and its process: the server
    writes it when ready, however it was started (foreground or background)."""
    state = _state_file()
    state.parent.mkdir(parents=True, exist_ok=True)
    # written whole or not at all: a kernel re-reads it to follow a restart (workbook.py)
    partial = state.with_suffix(f".{pid}.partial")
    partial.write_text(json.dumps({"endpoint": endpoint, "pid": pid}))
    os.replace(partial, state)


def forget_endpoint(pid: int) -> None:
    """A local cloud that exits removes its record, if the record is still its own."""
    state = _state_file()
    try:
        if int(json.loads(state.read_text())["pid"]) == pid:
            state.unlink(missing_ok=True)
    except (OSError, ValueError, KeyError, TypeError):
        pass


def stop(timeout_s: float = 15.0) -> bool:
    """Stop this checkout's background local cloud; True if one was running.

    It writes what it hasn't saved yet before it exits, and its state stays in the state
    directory: the next start brings everything back. This waits (up to ``timeout_s``) until
    the process has exited, so a new start finds the directory free."""
    state = _state_file()
    if not state.exists():
        return False
    try:
        pid = int(json.loads(state.read_text())["pid"])
        stopped = _is_local_cloud(pid)  # after a reboot the id may be another process's
        if stopped:
            os.kill(pid, 15)
    except (ValueError, KeyError, TypeError, ProcessLookupError):
        stopped = False
    state.unlink(missing_ok=True)
    if stopped:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
    return stopped


def _is_local_cloud(pid: int) -> bool:
    """Whether process ``pid`` is a local cloud (``python -m helpers.localcloud``)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"helpers.localcloud" in cmdline.read()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return False  # Linux: no such process
    except OSError:
        return False
    command = subprocess.run(  # macOS: no /proc
        ["ps", "-p", str(pid), "-o", "command="], capture_output=True, check=False
    ).stdout
    return b"helpers.localcloud" in command


def _alive(pid: int) -> bool:
    """Whether a process still runs (a child of ours that exited is reaped here)."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass  # not our child: ask the system
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = [
    "AwsError",
    "ensure_running",
    "free_port",
    "is_healthy",
    "owner_credentials",
    "start",
    "state_dir",
    "stop",
]
