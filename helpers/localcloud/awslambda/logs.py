"""CloudWatch Logs as Lambda writes them: one group per function, one stream per worker."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

from moto.logs.exceptions import ResourceAlreadyExistsException

from .. import backends

_lock = threading.Lock()


def now_ms() -> int:
    return int(time.time() * 1000)


def iso_now() -> str:
    """Lambda's timestamp format in log lines, e.g. 2026-11-26T21:30:00.123Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_stream_name(version: str = "$LATEST") -> str:
    """``YYYY/MM/DD/[$LATEST]<32 hex>``, as Lambda names a new execution environment's stream."""
    return f"{datetime.now(UTC):%Y/%m/%d}/[{version}]{secrets.token_hex(16)}"


class LogStream:
    """Appends events to one CloudWatch log stream in moto's logs backend."""

    def __init__(self, region: str, group: str, stream: str):
        self.region, self.group, self.stream = region, group, stream
        backend = backends.logs(region)
        with _lock:
            if group not in backend.groups:
                try:
                    backend.create_log_group(group, {})
                except ResourceAlreadyExistsException:
                    pass
            backend.create_log_stream(group, stream)

    def put(self, message: str, timestamp: int | None = None) -> None:
        event = {"timestamp": timestamp or now_ms(), "message": message}
        backend = backends.logs(self.region)
        with _lock:
            if self.group not in backend.groups:  # the learner deleted the group meanwhile
                backend.create_log_group(self.group, {})
            group = backend.groups[self.group]
            if self.stream not in group.streams:
                backend.create_log_stream(self.group, self.stream)
            backend.put_log_events(self.group, self.stream, [event])
