"""One Lambda execution environment: a process running a runtime interface client.

The client is ``python -m awslambdaric HANDLER`` — AWS's own — where awslambdaric is installed
(Linux), else the workbook's ``python_client.py``, which behaves the same (awslambdaric doesn't
install on macOS); where the Runtime API is locked with a secret (``runtime_api.py``),
awslambdaric starts through ``awslambdaric_with_secret.py``. Node.js functions run through the
workbook's ``node_client.js`` (AWS's aws-lambda-ric needs a C++ toolchain to install), with
``node_sdk_v2_endpoint.js`` preloaded.
The client imports the function from its deployment package (extracted into its own
folder, never from the repository), polls our Runtime API for events, and writes to a pipe
that we turn into CloudWatch log events (``logs.split_output``) framed by INIT_START, START,
END and REPORT lines with measured durations.

The process gets the environment variables Lambda gives a function (its own, then the reserved
ones), the ``AWS_ENDPOINT_URL`` of the local cloud, and nothing of the local cloud's own
environment but ``PATH``: nothing names the state directory or the owner's key. Its stdin is
empty, or holds the Runtime API's secret until the client has read it.
"""

from __future__ import annotations

import importlib.util
import math
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

from .interpreters import NODE_MODULES, node_note, python_launch, with_note
from .logs import LogStream, SystemLog, new_stream_name, now_ms, split_output
from .memory import MemoryWatch
from .models import FunctionSpec, Invocation
from .runtime_api import RuntimeApi
from .runtimes import client_for, find_node, runtime_version

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_CLIENT = os.path.join(HERE, "python_client.py")
NODE_CLIENT = os.path.join(HERE, "node_client.js")
AWSLAMBDARIC_WITH_SECRET = os.path.join(HERE, "awslambdaric_with_secret.py")
# Preloaded into Node.js functions: points a bundled aws-sdk v2 at AWS_ENDPOINT_URL.
NODE_SDK_V2_ENDPOINT = os.path.join(HERE, "node_sdk_v2_endpoint.js")
PYTHON_CLIENTS = ("awslambdaric", "builtin")
# The runtime client writes its log frames to the same pipe as stdout, so print output and
# logging records reach the log in the order the function wrote them.
TELEMETRY_FD = "1"


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


def client_command(
    client: str, handler: str, runtime: str = "nodejs20.x", secret: bool = False
) -> list[str]:
    """The command that starts an execution environment's runtime interface client;
    ``secret``: it reads the Runtime API's secret from stdin (the workbook's clients always
    do, awslambdaric through a wrapper)."""
    if client == "node":
        return [find_node(runtime), NODE_CLIENT, handler]
    if client == "awslambdaric":
        if secret:
            return [sys.executable, "-P", AWSLAMBDARIC_WITH_SECRET, handler]
        return [sys.executable, "-m", "awslambdaric", handler]
    # -P: the client's own folder must not shadow the deployment package's modules
    return [sys.executable, "-P", PYTHON_CLIENT, handler]


class EnvironmentGone(Exception):
    """A warm environment's process ended between invocations (Node.js's client exits after an
    uncaught exception it has reported): the invocation handed to it never started, and goes
    to a new environment, as Lambda would send it."""


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
        exact_python: bool = True,
        runtime_api_check: str | None = None,
    ):
        self.spec = spec
        if client_for(spec.runtime) == "node":
            client = "node"  # ``client`` names the Python client; Node.js has one, ours
            command = client_command(client, spec.handler, spec.runtime)
            note = node_note(command[0], spec.runtime)
        else:  # on the runtime's Python where there is one, importing what Lambda's does
            command, client, note = python_launch(
                spec.runtime, client, spec.handler, task_root, PYTHON_CLIENT, exact_python
            )
        self.client = client
        self.reported_peak_kb: int | None = None
        self.credentials_expire = credentials.get("Expiration")
        self.stream_name = new_stream_name(spec.version)
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
        self._last_ms = 0
        self._events: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self.current: Invocation | None = None
        self.initialised = False
        self.init_ms: float | None = None
        self.dead = threading.Event()
        self.exit_code: int | None = None
        self.exited_ns: int | None = None
        # MemorySize is a limit: past it the process group is killed, as Lambda's sandbox is
        self.memory = MemoryWatch(spec.memory_mb, self._out_of_memory)
        self.api = RuntimeApi(self, runtime_api_check)
        env = {  # what the function may change...
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            **_module_path(client, task_root),
            **dict(spec.environment),
        }
        if client == "node":
            env["NODE_OPTIONS"] = _node_options(env.get("NODE_OPTIONS"))
        env.update(  # ...and what it may not (Lambda's reserved variables)
            {
                "LAMBDA_TASK_ROOT": task_root,
                "LAMBDA_RUNTIME_DIR": HERE if client == "node" else os.path.dirname(sys.executable),
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
                "_LAMBDA_TELEMETRY_LOG_FD": TELEMETRY_FD,
                **_log_format_variables(spec),
                # Not set on AWS: it points the function's plain boto3 clients at the local cloud.
                "AWS_ENDPOINT_URL": endpoint,
            }
        )
        version, version_arn = runtime_version(spec.runtime, spec.region)
        version = with_note(version, note)
        # the platform's lines (INIT_START, START, END, REPORT) in the function's log format
        self.system_log = SystemLog(spec.log_format, spec.system_log_level)
        for line in self.system_log.init_start(version, version_arn, spec.name, spec.version):
            self._emit(line)
        self.spawned_ns = time.perf_counter_ns()
        if self.api.secret and client == "awslambdaric":
            # the Runtime API is locked with a secret: awslambdaric starts through its wrapper
            command[command.index("awslambdaric")] = AWSLAMBDARIC_WITH_SECRET
        stdin = _secret_pipe(self.api.secret) if self.api.secret else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                command,
                cwd=task_root,
                env=env,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            self.api.close()
            raise
        finally:
            if stdin != subprocess.DEVNULL:
                os.close(stdin)
        self.api.admit(self.process.pid)
        os.set_blocking(self.process.stdout.fileno(), False)
        self.memory.follow(self.process.pid)  # from its init phase on
        threading.Thread(target=self._read_output, daemon=True, name=f"out-{spec.name}").start()

    # -- output -> CloudWatch -------------------------------------------------------------
    def _emit(self, line: str, timestamp: int | None = None) -> None:
        # never earlier than the event before it: CloudWatch orders a stream by timestamp
        self._last_ms = max(timestamp or now_ms(), self._last_ms)
        self.log.put(line, self._last_ms)
        if self.current is not None:
            self.current.log_lines.append(line)

    def _drain_locked(self, final: bool = False) -> bool:
        """Move whatever the process has written so far into the log; False at end of file."""
        if self.process.stdout.closed:  # _read_output has read it to its end
            return False
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
        events, self._partial = split_output(self._partial, final)
        for message, timestamp in events:
            self._emit(message, timestamp)
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
        self.api.admit(None)  # its process id may now be given to another process
        self.exited_ns = time.perf_counter_ns()
        self.memory.stop()
        with self._lock:
            self._drain_locked(final=True)
            invocation = self.current
            if invocation is not None and not invocation.done.is_set():
                error, platform_error_type = self._exit_error(invocation.request_id)
                self._finish_locked(
                    invocation,
                    error=error,
                    log_error=True,
                    platform_error_type=platform_error_type,
                )
            self.process.stdout.close()  # under the lock: _drain_locked may be reading it
        self.dead.set()
        self.api.close()

    # -- the Runtime API's side -----------------------------------------------------------
    def next_invocation(self) -> Invocation | None:
        if self.memory.check():  # over MemorySize since the last sample: it is being stopped
            return None
        self.memory.pause()  # the runtime waits: Lambda freezes the sandbox
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
        self.memory.watch()
        invocation.started_ns = time.perf_counter_ns()
        for line in self.system_log.start(invocation.request_id, self.spec.version):
            self._emit(line)

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
        if "trace" not in error:  # Node.js's is {errorType, errorMessage, trace} as it is
            error.setdefault("requestId", "")
            error.setdefault("stackTrace", [])
        with self._lock:
            self._init_report_locked(error.get("errorType") or "Runtime.Unknown")
            self._start_locked(invocation)
            self._finish_locked(invocation, error=error)
        invocation.delivered.set()

    def _init_report_locked(self, error_type: str) -> None:
        """INIT_REPORT of an init phase that failed (reported an error, or the process ended)."""
        ended = self.exited_ns or time.perf_counter_ns()
        if self.init_ms is None:
            self.init_ms = (ended - self.spawned_ns) / 1e6
        for line in self.system_log.init_report(self.init_ms, error_type):
            self._emit(line)

    def _out_of_memory(self) -> None:
        """The memory watch found the environment over its MemorySize: stop it, as Lambda's
        sandbox does (SIGKILL; _read_output then fails the invocation)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _exit_error(self, request_id: str) -> tuple[dict, str]:
        """What the invocation of an environment whose runtime ended gets, as AWS words it
        (``Runtime exited with error: signal: killed``, ``... exit status 3``, ``Runtime exited
        without providing a reason``), and the error type the platform's REPORT records:
        Runtime.OutOfMemory if the memory watch stopped it, else Runtime.ExitError. The invoke
        payload says Runtime.ExitError either way, as on AWS."""
        error = {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: {_exit_reason(self.exit_code)}",
        }
        return error, "Runtime.OutOfMemory" if self.memory.exceeded else "Runtime.ExitError"

    def _complete(self, request_id: str, **outcome) -> bool:
        if self.memory.check():  # out of memory before it could answer: _read_output fails it
            return True
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
        platform_error_type: str | None = None,
    ) -> None:
        """END and REPORT close the invocation; ``platform_error_type`` is what they record
        when it differs from the payload's (Runtime.OutOfMemory)."""
        invocation.ended_ns = time.perf_counter_ns()
        invocation.response, invocation.error = response, error
        invocation.timed_out = timed_out
        # A timeout leaves no "Task timed out" line any more: the REPORT line says it.
        if log_error and error is not None:
            for line in self.system_log.runtime_error(error["errorMessage"], error["errorType"]):
                self._emit(line)
        status = (
            "timeout"
            if timed_out
            else "error"
            if log_error
            else "failure"
            if error is not None
            else "success"
        )
        error_type = platform_error_type or (error or {}).get("errorType")
        for line in self.system_log.end(
            invocation.request_id, self._duration_ms(invocation), status, error_type
        ) + self._report_lines(invocation, status, error_type):
            self._emit(line)
        self.current = None
        invocation.done.set()

    def _duration_ms(self, invocation: Invocation) -> float:
        """The time the handler ran (a timed-out one: the timeout, exactly)."""
        if invocation.timed_out:
            return invocation.timeout_s * 1000.0
        started = invocation.started_ns or invocation.ended_ns
        return (invocation.ended_ns - started) / 1e6

    def _report_lines(self, invocation: Invocation, status: str, error_type: str | None):
        """REPORT (or platform.report): Init Duration on a cold start; a timed-out invocation
        says ``Status: timeout``."""
        duration = self._duration_ms(invocation)
        billed = duration
        init = None
        if invocation.cold and self.init_ms is not None:
            invocation.init_ms = init = self.init_ms
            # Since 2025-08-01 the INIT phase of on-demand ZIP functions is billed too.
            billed += self.init_ms
        return self.system_log.report(
            invocation.request_id,
            duration,
            max(1, math.ceil(billed)),
            self.spec.memory_mb,
            self.max_memory_mb(),
            init,
            status,
            error_type,
        )

    def max_memory_mb(self) -> int:
        """Peak resident memory of the environment, as Lambda's Max Memory Used: the kernel's
        VmHWM (Linux), else the higher of what the memory watch sampled and what the client
        measured itself (getrusage: on Linux it keeps the local cloud's own peak across fork
        and exec, so it is only a fallback). Never more than MemorySize; an environment
        stopped for exceeding it used all of it."""
        limit = self.spec.memory_mb
        if self.memory.exceeded:
            return limit
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for row in status:
                    if row.startswith("VmHWM:"):
                        return min(limit, math.ceil(int(row.split()[1]) / 1024))
        except OSError:
            pass
        peak_kb = max(self.reported_peak_kb or 0, self.memory.peak_kb)
        return min(limit, math.ceil(peak_kb / 1024))

    # -- the runtime's side ---------------------------------------------------------------
    def run(self, invocation: Invocation, init_limit_s: float = 10.0) -> Invocation:
        """Hand one invocation to this worker and wait for its outcome or its timeout."""
        invocation.cold = not self.initialised
        invocation.executed_version = self.spec.version
        self._events.put(invocation)
        waited_init = 0.0
        while not invocation.delivered.wait(0.25):
            waited_init += 0.25
            dead = self.dead.is_set()
            if dead and not invocation.cold:
                raise EnvironmentGone(invocation.request_id)
            if dead or waited_init >= init_limit_s + invocation.timeout_s:
                platform_error_type = None
                if dead:  # the init phase ended with the process: exited, killed, out of memory
                    error, platform_error_type = self._exit_error(invocation.request_id)
                else:
                    error = {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"RequestId: {invocation.request_id} Error: Init phase "
                        "did not finish in time",
                    }
                with self._lock:
                    if not invocation.done.is_set():
                        if dead:
                            self._init_report_locked(platform_error_type)
                        self._start_locked(invocation)
                        self._finish_locked(
                            invocation,
                            error=error,
                            log_error=True,
                            platform_error_type=platform_error_type,
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


# How Lambda names the signal that ended a runtime: Go's os.ProcessState text ("signal:
# killed"), which is Linux's description of the signal in lower case.
SIGNAL_TEXT = {
    "SIGKILL": "killed",
    "SIGSEGV": "segmentation fault",
    "SIGABRT": "aborted",
    "SIGTERM": "terminated",
    "SIGINT": "interrupt",
    "SIGBUS": "bus error",
    "SIGFPE": "floating point exception",
    "SIGILL": "illegal instruction",
    "SIGHUP": "hangup",
    "SIGQUIT": "quit",
    "SIGPIPE": "broken pipe",
    "SIGTRAP": "trace/breakpoint trap",
    "SIGSYS": "bad system call",
    "SIGALRM": "alarm clock",
    "SIGUSR1": "user defined signal 1",
    "SIGUSR2": "user defined signal 2",
    "SIGXCPU": "CPU time limit exceeded",
    "SIGXFSZ": "file size limit exceeded",
}


def _exit_reason(code: int | None) -> str:
    """Lambda's words for how the runtime process ended (the Runtime Interface Emulator's
    ``Runtime exited with error: %s`` / ``Runtime exited without providing a reason``)."""
    if code == 0:
        return "Runtime exited without providing a reason"
    if code is None:
        return "Runtime exited with error: unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:  # Go names a signal it doesn't know "signal N"
            return f"Runtime exited with error: signal: signal {-code}"
        text = SIGNAL_TEXT.get(name) or (signal.strsignal(-code) or name).lower()
        return f"Runtime exited with error: signal: {text}"
    return f"Runtime exited with error: exit status {code}"


def _secret_pipe(secret: str) -> int:
    """The read end of a pipe that holds ``secret`` and then ends: the client's stdin."""
    read, write = os.pipe()
    try:
        os.write(write, secret.encode() + b"\n")  # far less than a pipe's buffer: never blocks
    finally:
        os.close(write)
    return read


def _log_format_variables(spec: FunctionSpec) -> dict[str, str]:
    """With LoggingConfig LogFormat=JSON the runtime client writes JSON records at the
    application log level (awslambdaric and python_client.py read these two variables)."""
    if spec.log_format != "JSON":
        return {}
    return {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": spec.application_log_level}


def _module_path(client: str, task_root: str) -> dict[str, str]:
    """Where the language finds the package's modules: PYTHONPATH (the launcher sets the
    function's own ``sys.path``), or NODE_PATH as the Node.js runtimes set it: the SDK v3
    clients `make setup` installs, then the task root (/opt has no counterpart here)."""
    if client == "node":  # after the package's own node_modules, as /var/runtime's on AWS
        return {"NODE_PATH": os.pathsep.join([str(NODE_MODULES), task_root])}
    return {"PYTHONPATH": task_root}


def _node_options(own: str | None) -> str:
    """NODE_OPTIONS: the aws-sdk v2 preload, then whatever the function sets itself."""
    quoted = NODE_SDK_V2_ENDPOINT.replace("\\", "\\\\").replace('"', '\\"')
    return f'--require "{quoted}"' + (f" {own}" if own else "")
