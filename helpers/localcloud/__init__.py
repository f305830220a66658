"""The local cloud: AWS's APIs for this workbook, on 127.0.0.1, offline, no Docker.

moto provides the APIs; on top of it the local cloud really runs pipelines (``codepipeline``),
really executes Lambda deployment packages through AWS's runtime interface client
(``awslambda``), writes CloudWatch logs with measured durations, and answers errors as AWS does.

Start one with ``python -m helpers.localcloud --port PORT`` or, from Python,
``ensure_running()``, which reuses the one already running for this checkout. Everything it
keeps lives in its state directory (``persistence/``), so a restart loses nothing; only
``make clean`` (removing the directory) wipes it.

The functions it runs are its child processes, and a process can read its parents'
``/proc/PID/environ`` and ``cmdline``. So the local cloud's process is started with neither
its state directory (it reads it from stdin: ``--state-dir -``) nor any variable that could
name it or hold a key (``server_environment``), and the one ``ensure_running`` starts is
nobody's child: not of the notebook kernel, whose environment may hold anything.
"""

from __future__ import annotations

import json
import os
import signal
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
# What of the caller's environment the local cloud's process gets: what Python, the tools it
# starts (node, ps) and its own LOCALCLOUD_* and MOTO_* settings need. Never the state
# directory (LOCALCLOUD_STATE_DIR) nor an AWS_* variable but the region: keys, a profile, the
# credentials file.
KEPT_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "TZ",
        "TMPDIR",
        "TMP",
        "TEMP",
        "LD_LIBRARY_PATH",
        "SYSTEMROOT",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    }
)
KEPT_PREFIXES = ("LC_", "PYTHON", "LOCALCLOUD_", "MOTO_")
HIDDEN_VARIABLES = frozenset({"LOCALCLOUD_STATE_DIR"})
# Starts the local cloud and ends at once, so the local cloud's parent is no longer whoever
# called ensure_running (init, or the nearest subreaper, adopts it); its id goes back on stdout.
_DETACH = (
    "import subprocess, sys\n"
    "server = subprocess.Popen(sys.argv[1:], stdout=2, stderr=2, start_new_session=True)\n"
    "print(server.pid, flush=True)\n"
)


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


def server_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the local cloud's process is started with: ``environ`` (default: this
    process's) without what could lead a function to the owner's key."""
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in environ.items()
        if (name in KEPT_VARIABLES or name.startswith(KEPT_PREFIXES))
        and name not in HIDDEN_VARIABLES
    }


class DetachedProcess:
    """A local cloud that is not our child (``start(detach=True)``): what of ``Popen`` its
    callers use, by process id. Its exit status is its new parent's to collect: ``poll`` and
    ``wait`` give -1 once it has ended."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return None if _alive(self.pid) else -1

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while _alive(self.pid):
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.05)
        return -1

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


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
    detach: bool = False,
) -> tuple[subprocess.Popen | DetachedProcess, str]:
    """Start a local cloud process in the background; returns (process, endpoint) once ready.

    ``state`` is its state directory (default: this checkout's): its owner's credentials and
    everything it keeps are there, and it starts with what the directory holds.
    ``enforce_iam`` defaults to on, unless LOCALCLOUD_NO_IAM=1. ``idle_timeout_s``: how long an
    execution environment may stay idle before it is shut down (LOCALCLOUD_IDLE_S, 600).
    ``poll_interval_s``: how often S3 source actions that poll check their object for a new
    version (LOCALCLOUD_POLL_S, 5). ``persist=False`` keeps nothing across restarts (`make
    bench` measures what keeping costs). ``detach``: the process is not our child
    (``DetachedProcess``), so its functions' parents are it and init, never this process.

    Its environment is ``server_environment()`` and its state directory comes on its stdin:
    neither its ``/proc/PID/environ`` nor its command line names it."""
    if enforce_iam is None:
        enforce_iam = os.environ.get("LOCALCLOUD_NO_IAM", "") not in ("1", "true", "yes")
    port = port or free_port()
    command = [sys.executable, "-m", "helpers.localcloud", "--port", str(port)]
    command += ["--state-dir", "-"]
    directory = os.path.abspath(state or state_dir())
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
    try:
        if detach:
            process = _start_detached(command, directory, log)
        else:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=server_environment(),
                start_new_session=True,
            )
            _send(process.stdin, directory)
    finally:
        if log_path:
            log.close()
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = "" if detach else f" (code {process.returncode})"
            raise RuntimeError(
                f"The local cloud exited at start-up{code}"
                + (f"; see {log_path}" if log_path else "")
            )
        if is_healthy(endpoint, timeout=0.5):
            return process, endpoint
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"The local cloud did not answer on {endpoint} within 30 s")


def _send(pipe, directory: str) -> None:
    """Write the state directory to the new process's stdin and close it."""
    try:
        pipe.write(directory.encode() + b"\n")
        pipe.close()
    except BrokenPipeError:
        pass  # it ended already: start() reports it


def _start_detached(command: list[str], directory: str, log) -> DetachedProcess:
    """Start ``command`` through a process that ends at once, leaving it to init."""
    starter = subprocess.Popen(
        [sys.executable, "-c", _DETACH, *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        env=server_environment(),
    )
    _send(starter.stdin, directory)
    line = starter.stdout.readline()
    starter.stdout.close()
    if starter.wait(30) != 0 or not line.strip().isdigit():
        raise RuntimeError(f"The local cloud could not be started (code {starter.returncode})")
    return DetachedProcess(int(line))


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
    process, endpoint = start(port, log_path=str(state.parent / "localcloud.log"), detach=True)
    record_endpoint(endpoint, process.pid)
    return endpoint


def record_endpoint(endpoint: str, pid: int, directory: str | os.PathLike | None = None) -> None:
    """Where the local cloud of a state directory (default: this checkout's) answers, and its
    process: the server writes it when ready, however it was started (foreground or not)."""
    state = Path(directory) / "endpoint.json" if directory else _state_file()
    state.parent.mkdir(parents=True, exist_ok=True)
    # written whole or not at all: a kernel re-reads it to follow a restart (workbook.py)
    partial = state.with_suffix(f".{pid}.partial")
    partial.write_text(json.dumps({"endpoint": endpoint, "pid": pid}))
    os.replace(partial, state)


def forget_endpoint(pid: int, directory: str | os.PathLike | None = None) -> None:
    """A local cloud that exits removes its record, if the record is still its own."""
    state = Path(directory) / "endpoint.json" if directory else _state_file()
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
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended but its parent (init, for a detached local cloud) has not yet
    collected it (Linux; elsewhere: False)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


__all__ = [
    "AwsError",
    "ensure_running",
    "free_port",
    "is_healthy",
    "owner_credentials",
    "server_environment",
    "start",
    "state_dir",
    "stop",
]
