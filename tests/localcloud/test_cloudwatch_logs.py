"""CloudWatch Logs as a learner filters and pages it: patterns, order and tokens as AWS."""

from __future__ import annotations

import json
import time

import pytest

from helpers.localcloud.cloudwatchlogs.filter_patterns import compile_pattern

from .conftest import unique

REPORT = (
    "REPORT RequestId: 3f1c0a57-1d0e-4c5b-9a11-0c2f8f1e2d3a\tDuration: 15.74 ms"
    "\tBilled Duration: 147 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB"
    "\tInit Duration: 130.49 ms"
)
START = "START RequestId: 3f1c0a57-1d0e-4c5b-9a11-0c2f8f1e2d3a Version: $LATEST"
ERROR = "[ERROR] Timeout: the site took too long\rTraceback (most recent call last):"
PLATFORM_REPORT = json.dumps(
    {"type": "platform.report", "record": {"metrics": {"durationMs": 15.74, "initDurationMs": 130}}}
)


@pytest.mark.parametrize(
    ("pattern", "message", "selected"),
    [
        ('"REPORT RequestId"', REPORT, True),
        ('"REPORT RequestId"', START, False),
        ("REPORT", START, False),
        ("RequestId Version", START, True),
        ("RequestId Duration", START, False),
        ("?ERROR ?Timeout", ERROR, True),
        ("?ERROR ?Timeout", START, False),
        ("RequestId -Version", START, False),
        ("RequestId -Version", REPORT, True),
        ("error", ERROR, False),  # terms are case-sensitive
        ("%Init Duration: [0-9.]+%", REPORT, True),
        ("[type=REPORT, ...]", REPORT, True),
        ("[type=REPORT, ...]", START, False),
        ("[type=START || type=END, ...]", START, True),
        ('[type, label, id, ..., used_label="Used:", used>50, unit, ...]', REPORT, True),
        ('[type, label, id, ..., used_label="Used:", used>60, unit, ...]', REPORT, False),
        ("[type=REP*, ...]", REPORT, True),
        ('{ $.type = "platform.report" }', PLATFORM_REPORT, True),
        ("{ $.record.metrics.durationMs > 10 }", PLATFORM_REPORT, True),
        (
            '{ ($.record.metrics.durationMs > 10) && ($.type = "platform.start") }',
            PLATFORM_REPORT,
            False,
        ),
        ('{ $.type = "platform.*" || $.level = "ERROR" }', PLATFORM_REPORT, True),
        ("{ $.record.metrics.restoreDurationMs NOT EXISTS }", PLATFORM_REPORT, True),
        ('{ $.type = "platform.report" }', REPORT, False),  # not JSON: no match
        ("", START, True),
    ],
)
def test_filter_patterns_select_what_cloudwatch_selects(pattern, message, selected):
    assert compile_pattern(pattern)(message) is selected


@pytest.fixture(scope="module")
def group(cloud):
    """A log group with two streams whose events interleave in time."""
    logs = cloud.client("logs")
    name = f"/aws/lambda/{unique('filter')}"
    logs.create_log_group(logGroupName=name)
    base = int(time.time() * 1000) - 60_000  # CloudWatch refuses events older than 14 days
    for stream, offset in (("a", 0), ("b", 1)):
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
        logs.put_log_events(
            logGroupName=name,
            logStreamName=stream,
            logEvents=[
                {"timestamp": base + 10 * i + offset, "message": f"{kind} {stream}{i}"}
                for i, kind in enumerate(["START", "REPORT", "START", "REPORT", "END"] * 3)
            ],
        )
    return name


def test_events_of_all_streams_come_in_timestamp_order(cloud, group):
    events = cloud.client("logs").filter_log_events(logGroupName=group)["events"]
    assert len(events) == 30
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert {e["logStreamName"] for e in events[:2]} == {"a", "b"}


def test_pages_follow_next_tokens_to_the_end(cloud, group):
    logs = cloud.client("logs")
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern="REPORT", PaginationConfig={"PageSize": 4}
    )
    sizes, messages = [], []
    for page in pages:
        sizes.append(len(page["events"]))
        messages += [e["message"] for e in page["events"]]
    assert sizes == [4, 4, 4]
    assert len(messages) == len(set(messages)) == 12
    assert all(m.startswith("REPORT") for m in messages)


def test_a_made_up_token_or_pattern_is_an_invalid_parameter(cloud, group):
    logs = cloud.client("logs")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, nextToken="not-a-token")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, filterPattern="[type=REPORT")


def test_get_log_events_reads_a_stream_forward_to_a_repeated_token(cloud, group):
    logs = cloud.client("logs")
    seen, token = [], None
    for _ in range(10):
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group, logStreamName="a", limit=6, **kwargs)
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == [
        f"{k} a{i}" for i, k in enumerate(["START", "REPORT", "START", "REPORT", "END"] * 3)
    ]
