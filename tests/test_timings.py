"""helpers.timings: REPORT records of both log formats, and the tables built from them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import prices, timings

ID = "3f1c0a57-1d0e-4c5b-9a11-0c2f8f1e2d3a"
COLD = (
    f"REPORT RequestId: {ID}\tDuration: 15.74 ms\tBilled Duration: 147 ms"
    "\tMemory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms"
)
WARM = (
    f"REPORT RequestId: {ID}\tDuration: 2.19 ms\tBilled Duration: 3 ms"
    "\tMemory Size: 128 MB\tMax Memory Used: 56 MB\t"
)
TIMEOUT = (
    f"REPORT RequestId: {ID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms"
    "\tMemory Size: 128 MB\tMax Memory Used: 57 MB\tStatus: timeout"
)
CRASH = (
    f"REPORT RequestId: {ID}\tDuration: 8.01 ms\tBilled Duration: 9 ms\tMemory Size: 128 MB"
    "\tMax Memory Used: 40 MB\tStatus: error\tError Type: Runtime.ExitError"
)
EXTRA = (  # X-Ray and a field a future runtime may add are ignored
    f"REPORT RequestId: {ID}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 1769 MB"
    "\tMax Memory Used: 80 MB\tXRAY TraceId: 1-5e1b4151-5ac6c58f5b5dbd6a3e6e4f9f"
    "\tSegmentId: 6a3e5e8c\tSampled: true\tSomething New: 7 units"
)


def json_report(status="success", init=True, error_type=None) -> str:
    metrics = {"durationMs": 15.74, "billedDurationMs": 147, "memorySizeMB": 128}
    metrics["maxMemoryUsedMB"] = 56
    if init:
        metrics["initDurationMs"] = 130.49
    record = {"requestId": ID, "metrics": metrics, "status": status}
    if error_type:
        record["errorType"] = error_type
    return json.dumps(
        {"time": "2026-11-27T00:00:00.000Z", "type": "platform.report", "record": record}
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (COLD, {"duration_ms": 15.74, "billed_ms": 147, "init_ms": 130.49, "cold_start": True}),
        (WARM, {"duration_ms": 2.19, "billed_ms": 3, "init_ms": None, "cold_start": False}),
        (TIMEOUT, {"duration_ms": 3000.0, "status": "timeout", "cold_start": False}),
        (CRASH, {"status": "error", "error_type": "Runtime.ExitError"}),
        (EXTRA, {"memory_size_mb": 1769, "max_memory_used_mb": 80, "status": None}),
        (json_report(), {"duration_ms": 15.74, "init_ms": 130.49, "cold_start": True}),
        (json_report(init=False), {"init_ms": None, "cold_start": False, "status": None}),
        (json_report("timeout", init=False), {"status": "timeout"}),
        (
            json_report("error", error_type="Runtime.OutOfMemory"),
            {"error_type": "Runtime.OutOfMemory"},
        ),
    ],
)
def test_report_records_of_both_formats_parse(message, expected):
    row = timings.parse_report(message)
    assert row["request_id"] == ID
    for key, value in expected.items():
        assert row[key] == value, key


@pytest.mark.parametrize(
    "message",
    [
        f"START RequestId: {ID} Version: $LATEST",
        f"END RequestId: {ID}",
        "INIT_START Runtime Version: python:3.12.v40",
        "REPORT something else entirely",
        json.dumps({"type": "platform.start", "record": {"requestId": ID}}),
        '{"level": "INFO", "message": "REPORT RequestId: inside a message"}',
        "{not json",
    ],
)
def test_other_events_are_not_reports(message):
    assert timings.parse_report(message) is None


def test_billed_duration_rules():
    assert timings.expected_billed_ms(15.74, 130.49) == 147  # cold: init + duration
    assert timings.expected_billed_ms(2.19, None) == 3  # warm: duration rounded up
    assert timings.expected_billed_ms(0.2, None) == 1


def test_costs_come_from_the_published_prices():
    one = timings.lambda_cost(1000, 1024)
    assert one == pytest.approx(prices.LAMBDA_GB_SECOND["x86_64"] + 0.2e-6)
    assert timings.pipeline_cost_v2([5, 61, 1]) == 4 * prices.CODEPIPELINE_V2_ACTION_MINUTE
    table = timings.cost_table([5, 5, 30], 147, 128, 1, releases_per_day=100, days=30)
    assert list(table["action_minutes"]) == [3, 9000]
    assert table["codepipeline_usd"].iloc[1] == pytest.approx((9000 - 100) * 0.002)
    assert (table["lambda_share"] < 0.01).all(), "Lambda is noise next to action-minutes"


def test_lambda_actions_join_rounds_to_their_action():
    t0 = pd.Timestamp("2026-11-27T00:00:00Z")
    actions = pd.DataFrame(
        [
            {
                "execution_id": "e",
                "stage": "StackStage",
                "action": "DeployStack",
                "provider": "Lambda",
                "function": "deployer",
                "status": "Succeeded",
                "start": t0,
                "end": t0 + pd.Timedelta(seconds=3),
                "seconds": 3.0,
            }
        ]
    )
    calls = pd.DataFrame(
        {
            "function": ["deployer", "deployer", "other"],
            "timestamp": [t0 + pd.Timedelta(seconds=s) for s in (0.5, 2.5, 1.0)],
            "duration_ms": [100.0, 50.0, 10.0],
        }
    )
    row = timings.lambda_actions(actions, calls).iloc[0]
    assert row["rounds"] == 2
    assert row["function_s"] == pytest.approx(0.15)
    assert row["overhead_s"] == pytest.approx(2.85)
    assert row["largest_gap_s"] == pytest.approx(2.0)
