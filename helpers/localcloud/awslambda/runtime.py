"""The Lambda runtime: warm worker pools per function version, synchronous and async invokes.

Plain objects, no HTTP: ``responses.py`` maps the Invoke API onto ``LambdaRuntime.invoke`` and
the CodePipeline engine calls ``invoke_async`` for its jobs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from moto.awslambda.exceptions import UnknownFunctionException

from .. import arns, backends
from ..errors import AwsError
from . import asynchronous, interpreters, logging_config, packages, states
from .exceptions import (
    InvalidZipFileException,
    ResourceConflictException,
    ResourceNotFoundException,
    TooManyRequestsException,
)
from .leftovers import EnvironmentRecord
from .models import FunctionSpec, Invocation
from .runtime_api import choose_check
from .runtimes import check_runnable
from .worker import EnvironmentGone, Worker, choose_python_client

MAX_WORKERS_PER_FUNCTION = 10
# An environment whose role credentials expire sooner than this is replaced by a new one, so a
# function never starts an invocation with credentials about to run out.
CREDENTIALS_MARGIN_S = 15 * 60
# Lambda shuts down an execution environment that has had no invocation for a while (AWS
# doesn't publish how long; minutes): so does the runtime, after LOCALCLOUD_IDLE_S (default
# 10 minutes, ``--idle-timeout``), so a day-long session doesn't accumulate processes. The next
# invocation is a cold start again (its REPORT line has an Init Duration).
DEFAULT_IDLE_S = 600.0


def idle_timeout_from_environment() -> float:
    """LOCALCLOUD_IDLE_S, else DEFAULT_IDLE_S."""
    value = os.environ.get("LOCALCLOUD_IDLE_S", "")
    return float(value) if value.strip() else DEFAULT_IDLE_S


class LambdaRuntime:
    """Runs deployment packages: one pool of warm workers per function version."""

    def __init__(
        self,
        endpoint: str,
        state_dir: str | None = None,
        python_client: str | None = None,
        issue_credentials=None,
        can_log=None,
        idle_timeout_s: float | None = None,
        environments_file: str | None = None,
        time_scale: float = 60.0 / asynchronous.AWS_JOB_TIMEOUT_S,
        runtime_api_check: str | None = None,
    ):
        self.endpoint = endpoint
        self.python_client = choose_python_client(python_client)
        # awslambdaric (AWS's client, Linux) runs every python3.x function on the local cloud's
        # own Python, the only one it is compiled for, and INIT_START says so; the workbook's
        # own client runs a function on its runtime's version where one is installed
        self.exact_python = self.python_client != "awslambdaric"
        # how each environment's Runtime API is locked to it: "peer" or "token"
        self.runtime_api_check = choose_check(runtime_api_check)
        # (role ARN, session name) -> temporary credentials of that role, as Lambda gets them
        self._issue_credentials = issue_credentials or _unchecked_credentials
        # (role ARN, log group, log stream) -> whether the role may write the function's logs
        self._can_log = can_log
        self._state_dir = state_dir or tempfile.mkdtemp(prefix="localcloud-")
        self._lock = threading.Condition()
        self._idle: dict[FunctionSpec, list[Worker]] = {}
        self._busy: dict[FunctionSpec, int] = {}
        self._code_lock = threading.Lock()
        # invocations running now, per function (all its versions): reserved concurrency
        self._running: dict[tuple[str, str], int] = {}
        self._events = asynchronous.EventQueue(self._invoke_event, self._event_settings, time_scale)
        self.closed = False
        self.idle_timeout_s = (
            idle_timeout_s if idle_timeout_s is not None else idle_timeout_from_environment()
        )
        self._closing = threading.Event()
        threading.Thread(target=self._reap_idle, daemon=True, name="lambda-idle-reaper").start()
        # environments a killed local cloud left running on this state directory end now
        self._environments = EnvironmentRecord(environments_file) if environments_file else None
        if self._environments is not None:
            self._environments.end_leftovers()

    # -- functions ------------------------------------------------------------------------
    def resolve(self, region: str, name: str, qualifier: str | None = None):
        """The moto function for a name or ARN, or Lambda's ResourceNotFoundException."""
        backend = backends.awslambda(region)
        try:
            fn = backend.get_function(name, qualifier)
        except UnknownFunctionException:
            fn = None
        if fn is None:
            arn = arns.function_arn(region, backends.ACCOUNT_ID, name, qualifier)
            raise ResourceNotFoundException.function(arn)
        return fn

    def invocable(self, region: str, name: str, qualifier: str | None = None):
        """The function, if Invoke may run it now: it exists, its runtime runs here, and it is
        no longer being created. Else the error Invoke answers, at once."""
        fn = self.resolve(region, name, qualifier)
        check_runnable(fn.run_time)
        if states.pending(fn):
            raise ResourceConflictException.pending_invoke()
        return fn

    def spec_for(self, region: str, fn) -> FunctionSpec:
        return FunctionSpec(
            region=region,
            name=fn.function_name,
            arn=fn.function_arn,
            version=str(fn.version) if str(fn.version) != "$LATEST" else "$LATEST",
            handler=fn.handler or "",
            runtime=fn.run_time or "",
            memory_mb=int(fn.memory_size),
            timeout_s=int(fn.timeout),
            code_sha256=fn.code_sha_256,
            role=fn.role,
            environment=tuple(sorted((fn.environment_vars or {}).items())),
            **_logging(fn),
        )

    def _task_root(self, fn) -> str:
        """The deployment package, extracted once per code hash (as Lambda's /var/task)."""
        digest = "".join(c for c in fn.code_sha_256 if c.isalnum())[:40] or "empty"
        root = os.path.join(self._state_dir, "code", digest)
        with self._code_lock:
            interpreters.link_node_sdk(os.path.dirname(root))
            if not os.path.isdir(root):
                partial = root + ".partial"
                shutil.rmtree(partial, ignore_errors=True)
                os.makedirs(partial)
                try:
                    packages.extract(fn.code_bytes, partial)  # every entry stays inside
                except InvalidZipFileException:
                    shutil.rmtree(partial, ignore_errors=True)
                    raise
                os.replace(partial, root)
        return root

    # -- workers --------------------------------------------------------------------------
    def _acquire(self, spec: FunctionSpec, fn) -> Worker:
        with self._lock:
            self._retire_stale_locked(spec)
            while True:
                idle = self._idle.setdefault(spec, [])
                while idle:
                    worker = idle.pop()
                    if worker.usable and worker.credentials_last(CREDENTIALS_MARGIN_S):
                        self._busy[spec] = self._busy.get(spec, 0) + 1
                        return worker
                    worker.retire()  # never leave its process behind
                if self._busy.get(spec, 0) < MAX_WORKERS_PER_FUNCTION:
                    self._busy[spec] = self._busy.get(spec, 0) + 1
                    break
                self._lock.wait(1.0)
        try:
            worker = Worker(
                spec,
                self._task_root(fn),
                self.endpoint,
                self._issue_credentials(spec.role, spec.name),
                self.python_client,
                self._can_log,
                self.exact_python,
                self.runtime_api_check,
            )
            if self._environments is not None:
                self._environments.started(worker.process.pid)
            return worker
        except BaseException:
            with self._lock:
                self._busy[spec] -= 1
                self._lock.notify_all()
            raise

    def _release(self, spec: FunctionSpec, worker: Worker) -> None:
        with self._lock:
            self._busy[spec] -= 1
            current = self._current_spec_locked(spec)
            if worker.usable and current == spec and not self.closed:
                worker.idle_since = time.monotonic()
                self._idle.setdefault(spec, []).append(worker)
            else:
                worker.retire()
            self._lock.notify_all()

    def _current_spec_locked(self, spec: FunctionSpec) -> FunctionSpec:
        try:
            fn = self.resolve(spec.region, spec.name)
        except AwsError:
            return None  # deleted
        return self.spec_for(spec.region, fn) if spec.version == "$LATEST" else spec

    def _retire_stale_locked(self, spec: FunctionSpec) -> None:
        """A code or configuration update retires the idle workers of the old version."""
        for other in list(self._idle):
            if other.arn == spec.arn and other.version == spec.version and other != spec:
                for worker in self._idle.pop(other):
                    worker.retire()

    def _reap_idle(self) -> None:
        """Retire environments idle for ``idle_timeout_s``, checking a few times per period."""
        every = min(max(self.idle_timeout_s / 4, 0.05), 30.0)
        while not self._closing.wait(every):
            self.retire_idle()

    def retire_idle(self) -> int:
        """Retire the environments idle for ``idle_timeout_s`` or longer; how many."""
        now = time.monotonic()
        retired = 0
        with self._lock:
            for spec in list(self._idle):
                keep = []
                for worker in self._idle[spec]:
                    if now - getattr(worker, "idle_since", now) >= self.idle_timeout_s:
                        worker.retire()
                        retired += 1
                    else:
                        keep.append(worker)
                if keep:
                    self._idle[spec] = keep
                else:
                    del self._idle[spec]
        return retired

    def warm_workers(self, name: str | None = None) -> int:
        with self._lock:
            return sum(
                len([w for w in workers if w.usable])
                for spec, workers in self._idle.items()
                if name is None or spec.name == name
            )

    # -- invoking -------------------------------------------------------------------------
    def invoke(
        self,
        region: str,
        name: str,
        payload: bytes,
        qualifier: str | None = None,
        request_id: str | None = None,
    ) -> Invocation:
        """Run one invocation to its end (response, error or timeout). An empty payload is
        the event ``{}``, as on AWS."""
        fn = self.invocable(region, name, qualifier)
        spec = self.spec_for(region, fn)
        key = self._claim_concurrency(region, fn)
        try:
            return self._run(spec, fn, payload, request_id)
        finally:
            with self._lock:
                self._running[key] -= 1

    def _run(self, spec: FunctionSpec, fn, payload: bytes, request_id: str | None) -> Invocation:
        invocation = Invocation(
            payload=payload or b"{}", function_arn=fn.function_arn, timeout_s=spec.timeout_s
        )
        if request_id:
            invocation.request_id = request_id
        while True:
            worker = self._acquire(spec, fn)
            try:
                worker.run(invocation)
                return invocation
            except EnvironmentGone:
                continue  # it ended just before: a new environment runs the invocation
            finally:
                self._release(spec, worker)

    def invoke_async(
        self, region: str, name: str, payload: bytes, qualifier: str | None = None
    ) -> str:
        """Queue an Event invocation; returns its request id at once (as Lambda's 202).

        What Invoke would refuse — no such function, a runtime the local cloud can't run, a
        function still being created — raises its AwsError here, before anything is queued,
        so the caller (a pipeline's Lambda action) fails at once rather than waiting for a
        result that will never come."""
        self.invocable(region, name, qualifier)
        request_id = str(uuid.uuid4())
        self._events.put(asynchronous.Event(region, name, payload, qualifier, request_id))
        return request_id

    def _invoke_event(self, region, name, payload, qualifier, request_id) -> Invocation:
        return self.invoke(region, name, payload, qualifier, request_id=request_id)

    def _event_settings(self, region: str, name: str, qualifier: str | None):
        return asynchronous.settings_of(self.resolve(region, name))

    def _claim_concurrency(self, region: str, fn) -> tuple[str, str]:
        """Count one more invocation of the function, or refuse it as Lambda does when its
        reserved concurrency is used up (reserved concurrency 0 throttles every call)."""
        key = (region, fn.function_name)
        try:
            reserved = self.resolve(region, fn.function_name).reserved_concurrency
        except AwsError:
            reserved = None
        with self._lock:
            running = self._running.get(key, 0)
            if reserved is not None and running >= int(reserved):
                raise TooManyRequestsException()
            self._running[key] = running + 1
        return key

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            self.closed = True
            for workers in self._idle.values():
                for worker in workers:
                    worker.retire()
            self._idle.clear()
        self._events.close()


def _logging(fn) -> dict:
    """The FunctionSpec fields of the function's LoggingConfig."""
    config = logging_config.of(fn)
    return {
        "log_format": config.get("LogFormat", "Text"),
        "application_log_level": config.get("ApplicationLogLevel", "INFO"),
        "system_log_level": config.get("SystemLogLevel", "INFO"),
    }


def _unchecked_credentials(role: str, session_name: str) -> dict:
    """Credentials for a runtime used without a local cloud around it (tests of the runtime
    alone): random, and accepted by nothing."""
    alphabet = string.ascii_uppercase + string.digits
    return {
        "AccessKeyId": "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        "SecretAccessKey": secrets.token_urlsafe(30),
        "SessionToken": secrets.token_urlsafe(96),
        "Expiration": datetime.now(UTC) + timedelta(hours=1),
    }


def is_json(payload: bytes) -> bool:
    try:
        json.loads(payload or b"null")
        return True
    except ValueError:
        return False
