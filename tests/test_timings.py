"""helpers.timings: REPORT records of both log formats, and the tables built from them."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import exercises, packaging, prices, timings

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
    # round 2 began at 2.45 s (its REPORT at 2.5 s, after 50 ms); round 1 ended at 0.5 s
    assert row["largest_gap_s"] == pytest.approx(1.95)


# -- the JSON records as the local cloud writes them, and the tables built on them ----------
LOCAL_JSON = [
    '{"time": "2026-11-27T01:00:00.120Z", "type": "platform.initStart", "record": {'
    '"initializationType": "on-demand", "phase": "init", "runtimeVersion": "python:3.12.v17", '
    '"runtimeVersionArn": "arn:aws:lambda:us-east-1::runtime:abc", "functionName": "f", '
    '"functionVersion": "$LATEST"}}',
    f'{{"time": "2026-11-27T01:00:00.500Z", "type": "platform.start", "record": {{'
    f'"requestId": "{ID}", "version": "$LATEST"}}}}',
    f'{{"timestamp": "2026-11-27T01:00:00Z", "level": "INFO", "message": "platform.report is '
    f'mentioned here", "logger": "root", "requestId": "{ID}"}}',
    f'{{"time": "2026-11-27T01:00:01.000Z", "type": "platform.runtimeDone", "record": {{'
    f'"requestId": "{ID}", "status": "timeout", "metrics": {{"durationMs": 1000.0}}}}}}',
]


@pytest.mark.parametrize("message", LOCAL_JSON)
def test_json_records_other_than_the_report_are_not_reports(message):
    assert timings.parse_report(message) is None


def test_a_json_timeout_report_keeps_its_status_and_a_failure_its_error_type():
    timeout = json.dumps(
        {
            "time": "2026-11-27T01:00:01.000Z",
            "type": "platform.report",
            "record": {
                "requestId": ID,
                "metrics": {
                    "durationMs": 1000.0,
                    "billedDurationMs": 1000,
                    "memorySizeMB": 128,
                    "maxMemoryUsedMB": 40,
                },
                "status": "timeout",
            },
        }
    )
    assert timings.parse_report(timeout)["status"] == "timeout"
    failure = json_report("failure", init=False, error_type="ValueError")
    row = timings.parse_report(failure)
    assert row["status"] == "failure" and row["error_type"] == "ValueError"


def test_the_billing_check_flags_a_billed_duration_off_the_rule():
    calls = pd.DataFrame(
        {
            "duration_ms": [15.74, 2.19, 2.19],
            "init_ms": [130.49, None, None],
            "billed_ms": pd.array([147, 3, 10], dtype="Int64"),
        }
    )
    checked = timings.with_billing_check(calls)
    assert list(checked["expected_billed_ms"]) == [147, 3, 3]
    assert list(checked["billed_ok"]) == [True, True, False]
    assert checked["billed_ok"].dtype == bool


def test_percentiles_per_group():
    frame = pd.DataFrame({"stage": ["A"] * 20 + ["B"], "seconds": [*range(1, 21), 5.0]})
    table = timings.percentiles(frame, ["stage"])
    assert list(table.columns) == ["stage", "count", "p50", "p90", "max", "values"]
    a = table.iloc[0]
    assert (a["count"], a["p50"], a["max"], a["values"]) == (20, 10.5, 20, [])
    assert a["p90"] == pytest.approx(18.1)


def test_a_group_too_small_for_percentiles_shows_its_values_instead():
    frame = pd.DataFrame(
        {
            "function": ["f"] * 20 + ["g"] * 3,
            "cold_start": [False] * 20 + [True] * 3,
            "duration_ms": [*range(1, 21), 412.345, 301.0, 3333.3],
        }
    )
    table = timings.percentiles(frame, ["function", "cold_start"], "duration_ms")
    g = table.iloc[1]
    assert g["count"] == 3 and math.isnan(g["p50"]) and math.isnan(g["p90"])
    assert g["max"] == 3333.3 and g["values"] == [301.0, 412.0, 3330.0]
    assert table.iloc[0]["p50"] == 10.5  # 20 values: enough
    fewer = timings.percentiles(frame, ["function"], "duration_ms", min_runs=3)
    assert fewer.iloc[1]["p50"] == 412.345 and fewer.iloc[1]["values"] == []


def test_medians_need_enough_rows_too():
    frame = pd.DataFrame(
        {
            "action": ["A"] * 20 + ["B"] * 5,
            "wall_s": [1.0] * 19 + [9.0] + [2.0] * 5,
            "rounds": [1] * 20 + [2] * 5,
        }
    )
    table = timings.medians(frame, ["action"], ["wall_s", "rounds"])
    assert list(table.columns) == ["action", "count", "wall_s", "rounds"]
    assert table.iloc[0][["count", "wall_s", "rounds"]].tolist() == [20, 1.0, 1.0]
    assert table.iloc[1]["count"] == 5 and table.iloc[1][["wall_s", "rounds"]].isna().all()


def test_two_actions_on_one_function_are_told_apart_by_the_reported_request_id():
    """04's exercise runs two actions of the same function at once: their windows overlap, the
    request id each function reported decides."""
    t0 = pd.Timestamp("2026-11-27T00:00:00Z")

    def action(name, external):
        return {
            "execution_id": "e",
            "stage": "LambdaStage",
            "action": name,
            "provider": "Lambda",
            "function": "check",
            "status": "Succeeded",
            "start": t0,
            "end": t0 + pd.Timedelta(seconds=1),
            "seconds": 1.0,
            "external_id": external,
        }

    actions = pd.DataFrame([action("MyLambdaAction", "r2"), action("CheckAboutPage", "r1")])
    calls = pd.DataFrame(
        {
            "function": ["check", "check"],
            "request_id": ["r1", "r2"],
            "timestamp": [t0 + pd.Timedelta(seconds=s) for s in (0.5, 0.6)],
            "duration_ms": [100.0, 200.0],
            "init_ms": [None, None],
            "cold_start": [False, False],
        }
    )
    rounds = timings.action_rounds(actions, calls)
    assert dict(zip(rounds["action"], rounds["request_id"], strict=True)) == {
        "CheckAboutPage": "r1",
        "MyLambdaAction": "r2",
    }
    assert set(rounds["joined_by"]) == {"request id"}
    table = timings.lambda_actions(actions, calls)
    assert list(table["function_s"]) == [0.2, 0.1]


def test_the_illustrative_aws_sweep_parses_and_follows_the_billing_rule():
    calls = timings.read_report_lines()
    assert len(calls) == 147 and calls["cold_start"].sum() == 7
    assert timings.with_billing_check(calls)["billed_ok"].all()
    table = timings.memory_table(calls)
    assert list(table["memory_size_mb"]) == [128, 256, 512, 1024, 1536, 1769, 3008]
    assert (table["invocations"] == 20).all(), "20 warm invocations per size: enough for a p90"
    assert table["p90_ms"].notna().all()
    assert table["p50_ms"].iloc[:6].is_monotonic_decreasing  # more CPU up to one vCPU


def test_the_example_sweep_is_what_its_script_writes():
    from tools import example_memory_sweep

    assert timings.SWEEP_DATA.read_text() == example_memory_sweep.text()


def test_a_memory_size_with_few_warm_calls_gets_no_percentiles():
    calls = pd.DataFrame(
        {
            "memory_size_mb": [128] * 4 + [512] * 21,
            "cold_start": [True, False, False, False] + [True] + [False] * 20,
            "duration_ms": [500.0, 100.0, 110.0, 120.0] + [300.0] + [40.0] * 20,
            "billed_ms": pd.array([600, 100, 110, 120] + [400] + [40] * 20, dtype="Int64"),
        }
    )
    table = timings.memory_table(calls)
    assert list(table["invocations"]) == [3, 20]
    assert table.loc[0, ["p50_ms", "p90_ms"]].isna().all()
    assert table.loc[1, "p90_ms"] == 40.0
    assert table.loc[0, "billed_ms"] == 110.0  # the mean of the warm ones, whatever their number


def test_payback_is_the_extra_init_over_the_saving_per_warm_call():
    variants = pd.DataFrame(
        {
            "variant": ["module", "module", "per-call", "per-call"],
            "cold_start": [True, False, True, False],
            "init_ms": [300.0, None, 250.0, None],
            "duration_ms": [2.0, 1.0, 60.0, 6.0],
        }
    )
    assert timings.payback_invocations(variants, "module", "per-call") == 10  # 50 / 5
    variants.loc[3, "duration_ms"] = 0.5
    assert timings.payback_invocations(variants, "module", "per-call") == float("inf")


def test_a_changed_bucket_toggles_versioning_and_nothing_else():
    def bucket(package: bytes) -> dict:
        (name,) = packaging.list_zip(package)
        return json.loads(zipfile.ZipFile(io.BytesIO(package)).read(name))["Resources"]

    original = packaging.template_package()
    changed = timings.with_changed_bucket(original)
    assert bucket(changed)["MySampleBucket"]["Properties"] == {
        "VersioningConfiguration": {"Status": "Enabled"}
    }
    again = timings.with_changed_bucket(changed)
    assert bucket(again)["MySampleBucket"]["Properties"] == {
        "VersioningConfiguration": {"Status": "Suspended"}
    }
    assert bucket(again).keys() == bucket(original).keys()


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [(None, "Not yet"), (128, "Not yet"), (1769, "Not yet"), (1024, "✓ 1024 MB")],
)
def test_the_cheapest_memory_check(answer, verdict, capsys):
    exercises.check_cheapest_memory(answer)
    assert capsys.readouterr().out.startswith(verdict)


# -- 07's hidden solutions pass their checks -------------------------------------------------
def solution(check: str) -> str:
    """The code of the solution that follows the cell calling ``exercises.<check>`` in 07."""
    path = Path(__file__).resolve().parents[1] / "notebooks" / "07_execution_timings.ipynb"
    cells = nbformat.read(path, as_version=4).cells
    at = next(i for i, c in enumerate(cells) if f"exercises.{check}(" in c.source)
    details = next(c.source for c in cells[at + 1 :] if "<details>" in c.source)
    return re.search(r"```python\n(.*?)```", details, re.DOTALL).group(1)


VARIANT_CALLS = pd.DataFrame(
    {
        "variant": ["client-module"] * 3 + ["client-per-call"] * 3,
        "cold_start": [True, False, False] * 2,
        "init_ms": [340.0, None, None, 320.0, None, None],
        "duration_ms": [3.0, 0.8, 0.9, 60.0, 8.0, 9.0],
    }
)


@pytest.mark.parametrize("check", ["check_cheapest_memory", "check_payback"])
def test_07s_solutions_pass_their_checks(check, capsys):
    namespace = {"exercises": exercises, "math": math, "timings": timings}
    namespace["variant_calls"] = VARIANT_CALLS
    exec(solution(check), namespace)
    assert capsys.readouterr().out.splitlines()[-1].startswith("✓")


def _calls(cold: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "function": [f"fn-{n % 2}" for n in range(len(cold))],
            "request_id": [f"r{n}" for n in range(len(cold))],
            "cold_start": cold,
        }
    )


def test_07s_update_check_names_a_warm_first_invocation_and_reports_other_cold_ones():
    calls = _calls([True, False, False, True, False, True])
    forced = calls["request_id"].isin(["r0", "r3"])
    assert timings.unexpected_warm(calls, forced) == ""
    assert timings.warm_summary(calls, forced).startswith("3 of the 4 other invocations were warm;")
    assert "fn-1 (r5)" in timings.warm_summary(calls, forced)
    forced = calls["request_id"].isin(["r0", "r1"])
    said = timings.unexpected_warm(calls, forced)
    assert "fn-1 (r1)" in said and "r0" not in said


def test_a_checkpoint_says_its_cause():
    from helpers import workbook

    with pytest.raises(AssertionError, match=r"✗ it worked\n  found warm: x"):
        workbook.checkpoint(False, "it worked", "found warm: x")
    with pytest.raises(AssertionError, match=r"^✗ it worked$"):
        workbook.checkpoint(False, "it worked", "")


# -- prices from published numbers, and what a table of laptop timings is ------------------
def test_an_action_minute_buys_this_much_lambda_time():
    seconds = timings.seconds_for_an_action_minute(128)
    assert seconds == pytest.approx(960, rel=1e-3)  # $0.002 / ($0.0000166667 x 0.125 GB)
    assert timings.lambda_cost(seconds * 1000, 128) == pytest.approx(
        prices.CODEPIPELINE_V2_ACTION_MINUTE
    )
    assert timings.seconds_for_an_action_minute(1024) == pytest.approx(seconds / 8)


def test_local_durations_at_aws_prices_are_labelled_as_such():
    assert "laptop timings, not AWS's" in timings.priced_label("local")
    assert "laptop" not in timings.priced_label("aws")


# -- a batch of releases in which some fail --------------------------------------------------
T0 = pd.Timestamp("2026-11-27T00:00:00Z").to_pydatetime()


def _detail(stage, action, status, seconds=0.0, message=None, summary=None):
    result = {"externalExecutionSummary": summary}
    if message:
        result["errorDetails"] = {"code": "JobFailed", "message": message}
    return {
        "stageName": stage,
        "actionName": action,
        "status": status,
        "startTime": T0 + pd.Timedelta(seconds=seconds),
        "output": {"executionResult": result},
    }


TIMED_OUT = (
    "The AWS Lambda function workbook-StackDeployer failed to return a result. Check the "
    "function to verify that it has permission to call the PutJobSuccessResult action and "
    "that it made a call to PutJobSuccessResult."
)


def test_a_failed_release_says_which_stage_and_action_and_their_message():
    details = [
        _detail("Source", "Source", "Succeeded"),
        _detail("LambdaStage", "MyLambdaAction", "Succeeded", 1),
        _detail("StackStage", "DeployStack", "Failed", 2, TIMED_OUT),
    ]
    execution = {"pipelineExecutionId": "e3", "status": "Failed"}
    outcome = timings.release_outcome(3, execution, details)
    assert (outcome["stage"], outcome["action"], outcome["message"]) == (
        "StackStage",
        "DeployStack",
        TIMED_OUT,
    )
    assert timings.failure_line(outcome) == (
        f"release 3 (e3): Failed at StackStage/DeployStack — {TIMED_OUT}"
    )


def test_a_release_that_stopped_without_a_failed_action_gives_its_status_summary():
    execution = {
        "pipelineExecutionId": "e4",
        "status": "Superseded",
        "statusSummary": "Superseded by a newer execution",
    }
    outcome = timings.release_outcome(4, execution, [_detail("Source", "Source", "Succeeded")])
    assert outcome["stage"] is None
    assert timings.failure_line(outcome) == (
        "release 4 (e4): Superseded — Superseded by a newer execution"
    )
    ok = timings.release_outcome(5, {"pipelineExecutionId": "e5", "status": "Succeeded"})
    assert ok["message"] == "" and ok["stage"] is None


def test_the_batch_checkpoint_counts_the_failed_releases_and_says_why():
    def batch(statuses):
        return pd.DataFrame(
            [
                {
                    "release": n,
                    "execution_id": f"e{n}",
                    "status": status,
                    "stage": None if status == "Succeeded" else "StackStage",
                    "action": None if status == "Succeeded" else "DeployStack",
                    "message": "" if status == "Succeeded" else "Stack x: UPDATE_FAILED",
                }
                for n, status in enumerate(statuses, start=1)
            ]
        )

    assert timings.batch_verdict(batch(["Succeeded"] * 20)) == (
        True,
        "all 20 releases succeeded",
        "",
    )
    ok, said, why = timings.batch_verdict(batch(["Failed"] + ["Succeeded"] * 18 + ["Failed"]))
    assert ok and said.startswith("18 of 20 releases succeeded — the tables below use those 18")
    assert said.endswith("2 failed (release 1, release 20: where and why above)")
    assert why.splitlines() == [
        "release 1 (e1): Failed at StackStage/DeployStack — Stack x: UPDATE_FAILED",
        "release 20 (e20): Failed at StackStage/DeployStack — Stack x: UPDATE_FAILED",
    ]
    ok, said, why = timings.batch_verdict(batch(["Failed"] * 3))
    assert not ok and said == "none of the 3 releases succeeded" and len(why.splitlines()) == 3


# -- plots: every run shown, one panel per function -------------------------------------------
@pytest.fixture
def no_display():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_a_strip_plot_shows_every_value_and_percentiles_only_with_enough(no_display):
    frame = pd.DataFrame(
        {"action": ["A"] * 20 + ["B"] * 3, "seconds": [*(0.01 * n for n in range(1, 21)), 1, 2, 3]}
    )
    ax = timings.plot_points(frame, "action", "seconds")
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [len(line.get_xdata()) for line in points] == [20, 3]
    marks = [line for line in ax.get_lines() if line.get_marker() == "|"]
    assert len(marks) == 2, "p50 and p90 for A only"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A (n=20)", "B (n=3)"]


def test_one_histogram_panel_per_function(no_display):
    calls = pd.DataFrame(
        {
            "function": ["f"] * 4 + ["g"] * 2,
            "cold_start": [True, False, False, False, True, False],
            "init_ms": [300.0, None, None, None, 50.0, None],
            "duration_ms": [5.0, 1.0, 1.5, 2.0, 400.0, 20.0],
        }
    )
    fig = timings.plot_per_function(calls)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["f", "g"]
    legend = [t.get_text() for t in shown[0].get_legend().get_texts()]
    assert legend == ["warm: duration (n=3)", "cold: init + duration (n=1)"]


# -- 07's payback check: every answer its text invites gets a verdict, none an exception -----
NEVER_PAYS = VARIANT_CALLS.assign(
    duration_ms=[3.0, 0.8, 0.9, 60.0, 0.5, 0.6]  # the per-call client's warm calls are faster
)


@pytest.mark.parametrize(
    ("answer", "variants", "verdict"),
    [
        (3, VARIANT_CALLS, "✓ 3 warm invocations pay back"),  # ceil(20 ms / 7.65 ms)
        (3.0, VARIANT_CALLS, "✓ 3 warm invocations pay back"),
        (np.int64(3), VARIANT_CALLS, "✓ 3 warm invocations pay back"),
        (4, VARIANT_CALLS, "Not yet: divide the extra median Init Duration"),
        (2.6, VARIANT_CALLS, "Not yet: 2.6 isn't a whole number of invocations: round up"),
        (math.inf, VARIANT_CALLS, "Not yet: in this run the module-level client's warm calls"),
        (float("inf"), VARIANT_CALLS, "Not yet: in this run the module-level client's warm"),
        (-3, VARIANT_CALLS, "Not yet: a number of invocations can't be negative"),
        (-math.inf, VARIANT_CALLS, "Not yet: in this run the module-level client's warm calls"),
        (math.nan, VARIANT_CALLS, "Not yet: answer is NaN"),
        ("3", VARIANT_CALLS, "Not yet: answer is the text '3': write a number without quotes"),
        ("math.inf", NEVER_PAYS, "Not yet: answer is the text 'math.inf'"),
        (True, VARIANT_CALLS, "Not yet: answer is bool True: set it to a number."),
        ([3], VARIANT_CALLS, "Not yet: answer is list [3]: set it to a number."),
        (None, VARIANT_CALLS, "Not yet: set answer to a number of warm invocations"),
        (math.inf, NEVER_PAYS, "✓ never, in this run"),
        (np.inf, NEVER_PAYS, "✓ never, in this run"),
        (3, NEVER_PAYS, "Not yet: in this run, warm calls of the per-call client weren't slower"),
    ],
)
def test_the_payback_check_judges_every_kind_of_answer(answer, variants, verdict, capsys):
    exercises.check_payback(answer, variants)
    assert capsys.readouterr().out.startswith(verdict)


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (1024.0, "✓ 1024 MB"),
        (math.inf, "Not yet: inf MB isn't one of the sweep's sizes (128, 256"),
        ("1024", "Not yet: answer is the text '1024'"),
        ("1024 MB", "Not yet: answer is the text '1024 MB'"),
        (1000, "Not yet: 1000 MB isn't one of the sweep's sizes"),
    ],
)
def test_the_cheapest_memory_check_judges_every_kind_of_answer(answer, verdict, capsys):
    exercises.check_cheapest_memory(answer)
    assert capsys.readouterr().out.startswith(verdict)
