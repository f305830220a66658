"""One Lambda execution environment: a process running a runtime interface client.

The client is ``python -m awslambdaric HANDLER`` — AWS's own — where awslambdaric is installed
(Linux), else the workbook's ``python_client.py``, which behaves the same (awslambdaric doesn't
install on macOS). It imports the function from its deployment package (extracted into its own
folder, never from the repository), polls our Runtime API for events, and prints to a pipe that
we turn into CloudWatch log events framed by START/END/REPORT lines with measured durations.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import queue
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .logs import LogStream, iso_now, new_stream_name, now_ms
from .runtime_api import RuntimeApi

PYTHON_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_client.py")
PYTHON_CLIENTS = ("awslambdaric", "builtin")


def has_awslambdaric() -> bool:
    return importlib.util.find_spec("awslambdaric") is not None


def choose_python_client(wanted: str | None = None) -> str:
    """``awslambdaric`` where it is installed (Linux), else ``builtin``; ``wanted`` forces one
    (``LOCALCLOUD_PYTHON_CLIENT`` or ``--python-client``)."""
    wanted = wanted or os.environ.get("LOCALCLOUD_PYTHON_CLIENT") or "auto"
    if wanted == "auto":
        return "awslambdaric" if has_awslambdaric() else "builtin"
    if wanted not in PYTHON_CLIENTS:
        raise ValueError(
            f"The Python runtime client must be one of {PYTHON_CLIENTS}, not {wanted!r}"
        )
    if wanted == "awslambdaric" and not has_awslambdaric():
        raise ValueError("awslambdaric is not installed here (it installs on Linux only)")
    return wanted


def client_command(client: str, handler: str) -> list[str]:
    """The command that starts an execution environment's runtime interface client."""
    if client == "awslambdaric":
        return [sys.executable, "-m", "awslambdaric", handler]
    # -P: the client's own folder must not shadow the deployment package's modules
    return [sys.executable, "-P", PYTHON_CLIENT, handler]


@dataclass(frozen=True)
class FunctionSpec:
    """What an execution environment is built from; a change in any field retires workers."""

    region: str
    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    code_sha256: str
    role: str
    environment: tuple[tuple[str, str], ...]


@dataclass
class Invocation:
    """One request to a function and, once done, its outcome."""

    payload: bytes
    function_arn: str
    timeout_s: int
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str = field(
        default_factory=lambda: (
            f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};"
            f"Parent={secrets.token_hex(8)};Sampled=0"
        )
    )
    deadline_ms: int = 0
    delivered: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    response: bytes | None = None
    error: dict | None = None  # errorMessage / errorType / stackTrace, as the runtime sent it
    started_ns: int = 0
    ended_ns: int = 0
    cold: bool = False
    init_ms: float | None = None
    log_lines: list[str] = field(default_factory=list)

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.error is not None else None

    @property
    def result_payload(self) -> bytes:
        if self.error is not None:
            return json.dumps(self.error).encode()
        return self.response if self.response is not None else b"null"


class Worker:
    """A warm (or warming) execution environment for one FunctionSpec."""

    def __init__(
        self,
        spec: FunctionSpec,
        task_root: str,
        endpoint: str,
        credentials: dict,
        client: str = "awslambdaric",
        can_log=None,
    ):
        self.spec = spec
        self.client = client
        self.reported_peak_kb: int | None = None
        self.credentials_expire = credentials.get("Expiration")
        self.stream_name = new_stream_name()
        group = f"/aws/lambda/{spec.name}"
        self.log = LogStream(
            spec.region,
            group,
            self.stream_name,
            (lambda: can_log(spec.role, spec.region, group, self.stream_name)) if can_log else None,
        )
        self.log.check_permission()
        self._lock = threading.Lock()
        self._partial = b""
        self._events: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self.current: Invocation | None = None
        self.initialised = False
        self.init_ms: float | None = None
        self.dead = threading.Event()
        self.exit_code: int | None = None
        self.api = RuntimeApi(self)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": task_root,
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(sys.executable),
            "_HANDLER": spec.handler,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.stream_name,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            # Not set on AWS: it points the function's plain boto3 clients at the local cloud.
            "AWS_ENDPOINT_URL": endpoint,
        }
        env.update(dict(spec.environment))
        self.spawned_ns = time.perf_counter_ns()
        self.process = subprocess.Popen(
            client_command(client, spec.handler),
            cwd=task_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        os.set_blocking(self.process.stdout.fileno(), False)
        threading.Thread(target=self._read_output, daemon=True, name=f"out-{spec.name}").start()

    # -- output -> CloudWatch -------------------------------------------------------------
    def _emit(self, line: str) -> None:
        self.log.put(line)
        if self.current is not None:
            self.current.log_lines.append(line)

    def _drain_locked(self, final: bool = False) -> bool:
        """Move whatever the process has printed so far into the log; False at end of file."""
        fd = self.process.stdout.fileno()
        alive = True
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                alive = False
                break
            if not chunk:
                alive = False
                break
            self._partial += chunk
        *lines, self._partial = self._partial.split(b"\n")
        if final and self._partial:
            lines.append(self._partial)
            self._partial = b""
        for raw in lines:
            self._emit(raw.decode("utf-8", "replace").rstrip("\r"))
        return alive

    def _read_output(self) -> None:
        fd = self.process.stdout.fileno()
        while True:
            try:
                select.select([fd], [], [], 1.0)
            except (OSError, ValueError):
                break
            with self._lock:
                if not self._drain_locked():
                    break
        self.exit_code = self.process.wait()
        with self._lock:
            self._drain_locked(final=True)
            invocation = self.current
            if invocation is not None and not invocation.done.is_set():
                self._finish_locked(
                    invocation,
                    error={
                        "errorType": "Runtime.ExitError",
                        "errorMessage": (
                            f"RequestId: {invocation.request_id} Error: Runtime exited with "
                            f"error: {_exit_text(self.exit_code)}"
                        ),
                    },
                    log_error=True,
                )
        self.dead.set()
        self.api.close()
        self.process.stdout.close()

    # -- the Runtime API's side -----------------------------------------------------------
    def next_invocation(self) -> Invocation | None:
        if not self.initialised:
            self.init_ms = (time.perf_counter_ns() - self.spawned_ns) / 1e6
            self.initialised = True
        invocation = self._events.get()
        if invocation is None:
            return None
        with self._lock:
            self._start_locked(invocation)
            invocation.deadline_ms = now_ms() + invocation.timeout_s * 1000
        invocation.delivered.set()
        return invocation

    def _start_locked(self, invocation: Invocation) -> None:
        """START opens the invocation; output printed before it (init) stays above it."""
        self._drain_locked()
        self.log.check_permission()
        self.current = invocation
        invocation.started_ns = time.perf_counter_ns()
        self._emit(f"START RequestId: {invocation.request_id} Version: {self.spec.version}")

    def invocation_succeeded(self, request_id: str, body: bytes) -> bool:
        return self._complete(request_id, response=body)

    def invocation_failed(self, request_id: str, error: dict) -> bool:
        return self._complete(request_id, error=error)

    def peak_memory_reported(self, kib: int) -> None:
        """The client measured its own peak memory (the workbook's client does, awslambdaric
        doesn't); used where /proc can't be read."""
        self.reported_peak_kb = kib

    def init_failed(self, error: dict) -> None:
        """The handler could not be loaded: the waiting invocation gets the init error."""
        self.init_ms = (time.perf_counter_ns() - self.spawned_ns) / 1e6
        try:
            invocation = self._events.get_nowait()
        except queue.Empty:
            return
        if invocation is None:
            return
        error = dict(error)
        error.setdefault("requestId", "")
        error.setdefault("stackTrace", [])
        with self._lock:
            self._start_locked(invocation)
            self._finish_locked(invocation, error=error)
        invocation.delivered.set()

    def _complete(self, request_id: str, **outcome) -> bool:
        with self._lock:
            invocation = self.current
            if invocation is None or invocation.request_id != request_id:
                return False
            if invocation.done.is_set():
                return True
            self._drain_locked()
            self._finish_locked(invocation, **outcome)
        return True

    def _finish_locked(
        self,
        invocation: Invocation,
        response: bytes | None = None,
        error: dict | None = None,
        log_error: bool = False,
        timed_out: bool = False,
    ) -> None:
        invocation.ended_ns = time.perf_counter_ns()
        invocation.response, invocation.error = response, error
        if timed_out:
            self._emit(
                f"{iso_now()} {invocation.request_id} Task timed out after "
                f"{invocation.timeout_s:.2f} seconds"
            )
        elif log_error and error is not None:
            self._emit(f"{error['errorMessage']}\n{error['errorType']}")
        self._emit(f"END RequestId: {invocation.request_id}")
        self._emit(self._report_line(invocation, timed_out))
        self.current = None
        invocation.done.set()

    def _report_line(self, invocation: Invocation, timed_out: bool) -> str:
        started = invocation.started_ns or invocation.ended_ns
        duration = (invocation.ended_ns - started) / 1e6
        billed = duration
        init = ""
        if invocation.cold and self.init_ms is not None:
            invocation.init_ms = self.init_ms
            # Since 2025-08-01 the INIT phase of on-demand ZIP functions is billed too.
            billed += self.init_ms
            init = f"\tInit Duration: {self.init_ms:.2f} ms"
        status = "\tStatus: timeout" if timed_out else ""
        return (
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration:.2f} ms"
            f"\tBilled Duration: {max(1, math.ceil(billed))} ms"
            f"\tMemory Size: {self.spec.memory_mb} MB"
            f"\tMax Memory Used: {self.max_memory_mb()} MB{init}{status}"
        )

    def max_memory_mb(self) -> int:
        """Peak resident memory of the environment, as Lambda's Max Memory Used: what the
        client measured itself (getrusage, on any system), else the kernel's VmHWM (Linux)."""
        if self.reported_peak_kb is not None:
            return math.ceil(self.reported_peak_kb / 1024)
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for row in status:
                    if row.startswith("VmHWM:"):
                        return math.ceil(int(row.split()[1]) / 1024)
        except OSError:
            pass
        return 0

    # -- the runtime's side ---------------------------------------------------------------
    def run(self, invocation: Invocation, init_limit_s: float = 10.0) -> Invocation:
        """Hand one invocation to this worker and wait for its outcome or its timeout."""
        invocation.cold = not self.initialised
        self._events.put(invocation)
        waited_init = 0.0
        while not invocation.delivered.wait(0.25):
            waited_init += 0.25
            dead = self.dead.is_set()
            if dead or waited_init >= init_limit_s + invocation.timeout_s:
                reason = (
                    f"Runtime exited with error: {_exit_text(self.exit_code)}"
                    if dead
                    else "Init phase did not finish in time"
                )
                message = f"RequestId: {invocation.request_id} Error: {reason}"
                with self._lock:
                    if not invocation.done.is_set():
                        self._start_locked(invocation)
                        self._finish_locked(
                            invocation,
                            error={
                                "errorType": "Runtime.ExitError" if dead else "Sandbox.Timedout",
                                "errorMessage": message,
                            },
                            log_error=True,
                        )
                self.retire()
                return invocation
        if not invocation.done.wait(invocation.timeout_s):
            with self._lock:
                if not invocation.done.is_set():
                    self._drain_locked()
                    self._finish_locked(
                        invocation,
                        error={
                            "errorType": "Sandbox.Timedout",
                            "errorMessage": (
                                f"RequestId: {invocation.request_id} Error: Task timed out "
                                f"after {invocation.timeout_s:.2f} seconds"
                            ),
                        },
                        timed_out=True,
                    )
            self.retire()  # AWS discards an environment whose invocation timed out
        return invocation

    def credentials_last(self, seconds: float) -> bool:
        """Whether the environment's role credentials are valid for ``seconds`` more."""
        if self.credentials_expire is None:
            return True
        left = (self.credentials_expire - datetime.now(UTC)).total_seconds()
        return left > seconds

    @property
    def usable(self) -> bool:
        return not self.dead.is_set() and self.process.poll() is None

    def retire(self) -> None:
        """Stop the process; a parked /next is released."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._events.put(None)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}"
        except ValueError:
            return f"signal: {-code}"
    return f"exit status {code}"
