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
