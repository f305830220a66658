"""A worker's output into log events: print lines one event each, a framed logging record one
event however many lines it has, in the order they were written."""

from __future__ import annotations

import time

import pytest

from helpers.localcloud.awslambda.logs import split_output

NOW_US = int(time.time() * 1e6)


def frame(message: str, kind: int = 0xA55A0003, stamp_us: int = NOW_US) -> bytes:
    """A record as awslambdaric's FramedTelemetryLogSink writes it."""
    data = message.encode()
    return (
        kind.to_bytes(4, "big") + len(data).to_bytes(4, "big") + stamp_us.to_bytes(8, "big") + data
    )


RECORD = "[INFO]\t2026-01-01T00:00:00.000Z\tid\tmulti\nline\n"
TRACEBACK = "[ERROR] ValueError: bad\nTraceback (most recent call last):\n  File x, line 1"


@pytest.mark.parametrize(
    ("output", "events", "rest"),
    [
        (b"one\ntwo\n", ["one", "two"], b""),
        (b"one\ntwo", ["one"], b"two"),  # a line still being written waits
        (b"crlf\r\n", ["crlf"], b""),
        (frame(RECORD), ["[INFO]\t2026-01-01T00:00:00.000Z\tid\tmulti\nline"], b""),
        (frame(TRACEBACK, 0xA55A0017), [TRACEBACK], b""),
        (b"before\n" + frame("rec\n") + b"after\n", ["before", "rec", "after"], b""),
        (b"no newline" + frame("rec\n"), ["no newline", "rec"], b""),
        (frame("cut short")[:20], [], frame("cut short")[:20]),  # the rest is on its way
        (frame("x")[:10], [], frame("x")[:10]),
        (b"caf\xc3\xa9 \xa5\x5a\x00 not a frame\n", ["café \ufffdZ\x00 not a frame"], b""),
    ],
    ids=[
        "lines",
        "partial-line",
        "crlf",
        "multi-line-record",
        "traceback",
        "in-order",
        "text-then-frame",
        "partial-frame",
        "partial-header",
        "marker-in-text",
    ],
)
def test_output_splits_into_events(output, events, rest):
    found, left = split_output(output)
    assert [message for message, _ in found] == events
    assert left == rest


def test_a_frame_keeps_its_own_timestamp_and_text_gets_none():
    (text, text_stamp), (record, record_stamp) = split_output(b"print\n" + frame("log\n"))[0]
    assert (text, text_stamp) == ("print", None)
    assert (record, record_stamp) == ("log", NOW_US // 1000)


def test_at_the_end_whatever_is_left_is_shown():
    found, left = split_output(b"last words", final=True)
    assert [m for m, _ in found] == ["last words"] and left == b""
    found, left = split_output(frame("cut short")[:20], final=True)
    assert len(found) == 1 and left == b""


def test_a_frame_is_found_again_after_arriving_in_pieces():
    data = b"a\n" + frame("multi\nline\n") + b"b\n"
    events, rest = [], b""
    for byte in data:
        found, rest = split_output(rest + bytes([byte]))
        events += [m for m, _ in found]
    assert events == ["a", "multi\nline", "b"] and rest == b""
