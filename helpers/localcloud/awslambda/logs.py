"""CloudWatch Logs as Lambda writes them: one group per function, one stream per worker.

A worker's output reaches us on one pipe carrying two kinds of data, in the order the function
wrote them: plain text (print, stderr: one log event per line) and the frames of the runtime
client's telemetry log sink (``_LAMBDA_TELEMETRY_LOG_FD``: one logging record, however many
lines, is one event, as on AWS). ``split_output`` tells them apart.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime

from moto.logs.exceptions import ResourceAlreadyExistsException

from .. import backends

_lock = threading.Lock()


def now_ms() -> int:
    return int(time.time() * 1000)


def new_stream_name(version: str = "$LATEST") -> str:
    """``YYYY/MM/DD/[$LATEST]<32 hex>``, as Lambda names a new execution environment's stream."""
    return f"{datetime.now(UTC):%Y/%m/%d}/[{version}]{secrets.token_hex(16)}"


# The telemetry log sink's frames (awslambdaric's FramedTelemetryLogSink): a 4-byte type
# 0xA55A00NN, a 4-byte length, an 8-byte timestamp in microseconds, the message; big endian.
FRAME_MARK = b"\xa5\x5a\x00"
# Types: 0xA55A0002 (JSON) or 0xA55A0003 (text) with the level in bits 2-4 — TRACE (Node.js's
# console.trace), DEBUG, INFO, WARN, ERROR, FATAL.
FRAME_TYPES = frozenset(
    {0x02, 0x03, 0x06, 0x07, 0x0A, 0x0B, 0x0E, 0x0F, 0x12, 0x13, 0x16, 0x17, 0x1A, 0x1B}
)
FRAME_HEADER = 16
MAX_FRAME = 1024 * 1024  # a log event is at most 1 MB (CloudWatch Logs' limit is 256 KB)
PLAUSIBLE_S = 86400  # a frame's timestamp is within a day of now; anything else is text


def _frame_at(buffer: bytes, start: int) -> int:
    """Where the next frame begins at or after ``start`` (-1: none). A header cut off at the
    end of the buffer counts as a frame: the rest is still on its way."""
    position = buffer.find(FRAME_MARK, start)
    while position >= 0:
        header = buffer[position : position + FRAME_HEADER]
        if len(header) < 4 or header[3] in FRAME_TYPES:
            if len(header) < FRAME_HEADER:
                return position
            length = int.from_bytes(header[4:8], "big")
            stamp_s = int.from_bytes(header[8:16], "big") / 1e6
            if length <= MAX_FRAME and abs(stamp_s - time.time()) < PLAUSIBLE_S:
                return position
        position = buffer.find(FRAME_MARK, position + 1)
    return -1


def split_output(buffer: bytes, final: bool = False) -> tuple[list[tuple[str, int | None]], bytes]:
    """The log events in a worker's output so far — (message, timestamp in ms, or None for
    "now") — and the bytes that don't make a whole event yet. ``final``: the output has ended,
    nothing more will come."""
    events: list[tuple[str, int | None]] = []
    position = 0
    while position < len(buffer):
        frame = _frame_at(buffer, position)
        if frame == position:
            header = buffer[position : position + FRAME_HEADER]
            length = int.from_bytes(header[4:8], "big") if len(header) == FRAME_HEADER else 0
            end = position + FRAME_HEADER + length
            if len(header) < FRAME_HEADER or end > len(buffer):
                if not final:
                    break
                frame, end = -1, len(buffer)  # cut short: show what there is as text
            else:
                message = buffer[position + FRAME_HEADER : end].decode("utf-8", "replace")
                stamp_ms = int.from_bytes(header[8:16], "big") // 1000
                events.append((message.rstrip("\r\n"), stamp_ms))
                position = end
                continue
        text_end = len(buffer) if frame < 0 else frame
        text = buffer[position:text_end]
        if frame < 0 and not final:
            newline = text.rfind(b"\n")
            if newline < 0:
                break  # a line still being written
            text, text_end = text[:newline], position + newline + 1
        elif text.endswith(b"\n"):
            text = text[:-1]
        events.extend(
            (line.decode("utf-8", "replace").rstrip("\r"), None) for line in text.split(b"\n")
        )
        position = text_end
    return events, buffer[position:]


class LogStream:
    """Appends events to one CloudWatch log stream in moto's logs backend.

    Like Lambda, it writes with the function's role: ``allowed()`` says whether the role may
    (logs:CreateLogStream and logs:PutLogEvents on the stream); when it may not, events are
    dropped, as on AWS, where a role without logging permissions leaves no logs. The group and
    stream are created on the first event written.
    """

    def __init__(self, region: str, group: str, stream: str, allowed=None):
        self.region, self.group, self.stream = region, group, stream
        self._allowed = allowed or (lambda: True)
        self.permitted = True

    def check_permission(self) -> bool:
        """Ask the role again (at each invocation's start): policies may have changed."""
        self.permitted = bool(self._allowed())
        return self.permitted

    def put(self, message: str, timestamp: int | None = None) -> None:
        if not self.permitted:
            return
        event = {"timestamp": timestamp or now_ms(), "message": message}
        backend = backends.logs(self.region)
        with _lock:
            if self.group not in backend.groups:  # first event, or the learner deleted it
                try:
                    backend.create_log_group(self.group, {})
                except ResourceAlreadyExistsException:
                    pass
            group = backend.groups[self.group]
            if self.stream not in group.streams:
                backend.create_log_stream(self.group, self.stream)
            backend.put_log_events(self.group, self.stream, [event])
        backends.on_change("logs")  # written to the state directory within a fraction of a second


# -- the platform's own records: text lines, or JSON platform.* records ---------------------
# With LoggingConfig LogFormat=JSON, Lambda writes its system logs as the Telemetry API's
# platform events (Lambda developer guide, "Telemetry API Event schema reference"), one JSON
# object per log event, filtered by SystemLogLevel: INFO (the default) lets through
# platform.initStart, platform.start and platform.report, and the records of a failed
# invocation (runtimeDone, WARN); DEBUG adds platform.runtimeDone of a successful one
# ("Log-level filtering": System log level event mapping).
SYSTEM_LEVELS = {"DEBUG": 0, "INFO": 1, "WARN": 2}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SystemLog:
    """The lines an execution environment's platform writes, in the function's log format.

    Each method returns the log events to write (none, when the level filters it out): text
    lines as Lambda's plain-text format has them, or JSON ``platform.*`` records."""

    def __init__(self, log_format: str = "Text", level: str = "INFO"):
        self.json = log_format == "JSON"
        self.level = SYSTEM_LEVELS.get(level, SYSTEM_LEVELS["INFO"])

    def _record(self, kind: str, level: str, record: dict) -> list[str]:
        if SYSTEM_LEVELS[level] < self.level:
            return []
        return [json.dumps({"time": _now_iso(), "type": kind, "record": record})]

    def init_start(
        self, runtime_version: str, runtime_version_arn: str, function: str, version: str
    ) -> list[str]:
        if not self.json:
            return [
                f"INIT_START Runtime Version: {runtime_version}"
                f"\tRuntime Version ARN: {runtime_version_arn}"
            ]
        return self._record(
            "platform.initStart",
            "INFO",
            {
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": runtime_version,
                "runtimeVersionArn": runtime_version_arn,
                "functionName": function,
                "functionVersion": version,
            },
        )

    def init_report(self, duration_ms: float, error_type: str) -> list[str]:
        """INIT_REPORT (or platform.initReport) of an init phase that failed: the runtime
        exited, ran out of memory or reported an init error before its first /next."""
        if not self.json:
            return [
                f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: init"
                f"\tStatus: error\tError Type: {error_type}"
            ]
        record = {
            "initializationType": "on-demand",
            "phase": "init",
            "status": "error",
            "errorType": error_type,
            "metrics": {"durationMs": round(duration_ms, 3)},
        }
        return self._record("platform.initReport", "WARN", record)

    def start(self, request_id: str, version: str) -> list[str]:
        if not self.json:
            return [f"START RequestId: {request_id} Version: {version}"]
        return self._record("platform.start", "INFO", {"requestId": request_id, "version": version})

    def runtime_error(self, message: str, error_type: str) -> list[str]:
        """The platform's line for an invocation the runtime couldn't finish (a crash, an init
        that never ended); in JSON, platform.runtimeDone carries its errorType instead."""
        return [] if self.json else [f"{message}\n{error_type}"]

    def end(
        self, request_id: str, duration_ms: float, status: str, error_type: str | None
    ) -> list[str]:
        """END RequestId, or platform.runtimeDone (DEBUG on success, WARN otherwise)."""
        if not self.json:
            return [f"END RequestId: {request_id}"]
        record = {"requestId": request_id, "status": status}
        if error_type and status != "success":
            record["errorType"] = error_type
        record["metrics"] = {"durationMs": round(duration_ms, 3)}
        return self._record(
            "platform.runtimeDone", "DEBUG" if status == "success" else "WARN", record
        )

    def report(
        self,
        request_id: str,
        duration_ms: float,
        billed_ms: int,
        memory_mb: int,
        max_memory_mb: int,
        init_ms: float | None,
        status: str,
        error_type: str | None = None,
    ) -> list[str]:
        """The REPORT line (``Init Duration`` on a cold start, ``Status: timeout``), or
        platform.report (INFO on success, WARN otherwise)."""
        if not self.json:
            init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
            flag = "\tStatus: timeout" if status == "timeout" else ""
            if status == "error" and error_type:  # the runtime crashed, or ran out of memory
                flag = f"\tStatus: error\tError Type: {error_type}"
            return [
                f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
                f"\tBilled Duration: {billed_ms} ms\tMemory Size: {memory_mb} MB"
                f"\tMax Memory Used: {max_memory_mb} MB{init}{flag}"
            ]
        metrics = {
            "durationMs": round(duration_ms, 3),
            "billedDurationMs": billed_ms,
            "memorySizeMB": memory_mb,
            "maxMemoryUsedMB": max_memory_mb,
        }
        if init_ms is not None:
            metrics["initDurationMs"] = round(init_ms, 3)
        record = {"requestId": request_id, "metrics": metrics, "status": status}
        if error_type and status in ("failure", "error"):
            record["errorType"] = error_type
        return self._record("platform.report", "INFO" if status == "success" else "WARN", record)
