"""CloudWatch Logs as the workbook reads it: filter patterns, ordering and pagination as AWS.

moto's FilterLogEvents understands one plain term or quoted phrase, orders events by stream
unless asked to interleave (AWS always interleaves since 2019) and answers a made-up nextToken
with an empty page. ``install()`` puts CloudWatch's behaviour in its place: the full filter
pattern syntax (``filter_patterns``), events of every stream in timestamp order, pages of at most
10,000 events or 1 MB, and InvalidParameterException for a pattern or token it can't read.
"""

from __future__ import annotations

import base64
import json
import re

import botocore.session
from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.models import LogGroup, LogsBackend

from .filter_patterns import compile_pattern

PAGE_EVENTS = 10_000
PAGE_BYTES = 1_048_576
EVENT_OVERHEAD = 26  # bytes CloudWatch counts per event besides its message


def _token(group: str, position: int) -> str:
    raw = json.dumps({"g": group, "p": position}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _position(group: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if decoded["g"] != group or not isinstance(decoded["p"], int) or decoded["p"] < 0:
            raise ValueError
        return decoded["p"]
    except (ValueError, KeyError, TypeError):
        raise InvalidParameterException("The specified nextToken is invalid.") from None


def filter_log_events(
    self,
    log_group_name,
    log_stream_names,
    start_time,
    end_time,
    limit,
    next_token,
    filter_pattern,
    interleaved,  # ignored by AWS since 2019: always interleaved
):
    """moto's LogGroup.filter_log_events, answered as CloudWatch answers it."""
    try:
        matches = compile_pattern(filter_pattern)
    except (ValueError, RecursionError) as error:
        raise InvalidParameterException(f"Invalid filter pattern: {error}") from None
    limit = min(int(limit or PAGE_EVENTS), PAGE_EVENTS)
    first = _position(log_group_name, next_token)
    streams = [
        stream
        for name, stream in self.streams.items()
        if not log_stream_names or name in log_stream_names
    ]
    found = []
    for stream in streams:
        for order, event in enumerate(stream.events):
            if start_time and event.timestamp < start_time:
                continue
            if end_time and event.timestamp > end_time:
                continue
            if matches(event.message):
                found.append((event.timestamp, event.ingestion_time, order, stream, event))
    found.sort(key=lambda item: (item[0], item[1], item[2]))
    page, size = [], 0
    for _, _, _, stream, event in found[first:]:
        event_size = len(event.message.encode()) + EVENT_OVERHEAD
        if len(page) >= limit or (page and size + event_size > PAGE_BYTES):
            break
        size += event_size
        page.append({**event.to_filter_dict(), "logStreamName": stream.log_stream_name})
    last = first + len(page)
    token = _token(log_group_name, last) if last < len(found) else None
    searched = [{"logStreamName": s.log_stream_name, "searchedCompletely": True} for s in streams]
    return page, token, searched


def _retention_days() -> tuple[int, ...]:
    """The retention periods CloudWatch Logs accepts: the model lists them in the ``Days``
    shape's documentation (the shape itself is a plain integer)."""
    model = botocore.session.get_session().get_service_model("logs")
    text = model.shape_for("Days").documentation.split("Possible values are:", 1)[1]
    return tuple(int(n) for n in re.findall(r"\d+", text.split(".", 1)[0]))


RETENTION_DAYS = _retention_days()
_moto_put_retention_policy = LogsBackend.put_retention_policy
_moto_group_log_events = LogGroup.get_log_events


def put_retention_policy(self, log_group_name: str, retention_in_days) -> None:
    """AWS refuses a period it doesn't offer (8 days, say) with the model's value set."""
    if int(retention_in_days) not in RETENTION_DAYS:
        raise InvalidParameterException(
            f"1 validation error detected: Value '{retention_in_days}' at 'retentionInDays' "
            "failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(str(n) for n in RETENTION_DAYS)}]"
        )
    _moto_put_retention_policy(self, log_group_name, retention_in_days)


def get_log_events(self, log_stream_name: str, *args, **kwargs):
    """A missing stream is named as the stream, not the group (moto says "log group")."""
    if log_stream_name not in self.streams:
        raise ResourceNotFoundException("The specified log stream does not exist.")
    return _moto_group_log_events(self, log_stream_name, *args, **kwargs)


def install() -> None:
    LogGroup.filter_log_events = filter_log_events
    LogGroup.get_log_events = get_log_events
    LogsBackend.put_retention_policy = put_retention_policy
