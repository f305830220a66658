"""The data the Lambda runtime's parts share, and the interface between them.

``FunctionSpec`` is what an execution environment is built from, ``Invocation`` one request
and its outcome. The Runtime API (``runtime_api.py``) serves an ``ExecutionEnvironment``: it
hands out invocations and records their results, and knows nothing of processes, so it can be
tested without one; the worker (``worker.py``) is the environment that runs a real process.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Protocol


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
    # LoggingConfig: "Text" or "JSON"; with JSON, the levels Lambda lets through
    log_format: str = "Text"
    application_log_level: str = "INFO"
    system_log_level: str = "INFO"


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
    timed_out: bool = False
    init_ms: float | None = None
    executed_version: str = "$LATEST"
    log_lines: list[str] = field(default_factory=list)

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.error is not None else None

    @property
    def result_payload(self) -> bytes:
        if self.error is not None:
            return json.dumps(self.error).encode()
        return self.response if self.response is not None else b"null"


class ExecutionEnvironment(Protocol):
    """What the Runtime API needs from the environment it serves."""

    def next_invocation(self) -> Invocation | None:
        """Block until there is an invocation; None once the environment is retired."""

    def invocation_succeeded(self, request_id: str, body: bytes) -> bool:
        """The function's response; False if ``request_id`` is not the current invocation."""

    def invocation_failed(self, request_id: str, error: dict) -> bool:
        """The function's error; False if ``request_id`` is not the current invocation."""

    def init_failed(self, error: dict) -> None:
        """The handler could not be loaded."""

    def peak_memory_reported(self, kib: int) -> None:
        """The client measured its own peak memory."""
