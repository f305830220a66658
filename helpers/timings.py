"""Lambda execution timings as pandas tables: invocations, action executions, and their cost.

The same code reads the local cloud and AWS, through the same APIs:

- ``invocations(logs, functions)``: one row per invocation, from each function's REPORT lines
  (``filter_log_events``, paginated) — text lines and the JSON log format's ``platform.report``
  records alike;
- ``action_executions(codepipeline, pipeline)``: one row per action execution, from
  ``ListActionExecutions``;
- ``lambda_actions(actions, invocations)``: each Lambda action beside the invocations it made
  (continuation rounds included): CodePipeline's wall time against the function's own time;
- ``cost_table(...)``: what that is in money, from ``helpers.prices``.

A percentile, a median or a boxplot needs enough runs to mean something: ``MIN_RUNS``. Below
it the tables give the values themselves (``percentiles``' ``values``) and the plots show every
run as a point (``plot_points``).
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import pandas as pd

from . import prices

# Logs Insights equivalent of what ``invocations`` collects (the notebook shows it on AWS).
LOGS_INSIGHTS_QUERY = """fields @timestamp, @requestId, @logStream, @duration, @billedDuration,
       @memorySize, @maxMemoryUsed, @initDuration
| filter @type = "REPORT"
| sort @timestamp asc"""

# Both log formats: "REPORT RequestId: ..." text lines and JSON platform.report records.
REPORT_FILTER = '?"REPORT RequestId" ?"platform.report"'

TEXT_FIELDS = {
    "RequestId": ("request_id", str),
    "Duration": ("duration_ms", float),
    "Billed Duration": ("billed_ms", int),
    "Memory Size": ("memory_size_mb", int),
    "Max Memory Used": ("max_memory_used_mb", int),
    "Init Duration": ("init_ms", float),
    "Restore Duration": ("restore_ms", float),
    "Status": ("status", str),
    "Error Type": ("error_type", str),
}
JSON_METRICS = {
    "durationMs": ("duration_ms", float),
    "billedDurationMs": ("billed_ms", int),
    "memorySizeMB": ("memory_size_mb", int),
    "maxMemoryUsedMB": ("max_memory_used_mb", int),
    "initDurationMs": ("init_ms", float),
    "restoreDurationMs": ("restore_ms", float),
}
INVOCATION_COLUMNS = [
    "function",
    "request_id",
    "log_stream",
    "nth_in_environment",
    "cold_start",
    "init_ms",
    "duration_ms",
    "billed_ms",
    "memory_size_mb",
    "max_memory_used_mb",
    "status",
    "error_type",
    "timestamp",
]
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_report(message: str) -> dict | None:
    """The fields of one REPORT record — a text line or a JSON ``platform.report`` — with
    numbers as numbers; None for any other log event. Unknown fields are ignored; a warm start
    has no Init Duration (``init_ms`` None)."""
    text = message.strip()
    if text.startswith("{"):
        return _parse_json_report(text)
    if not text.startswith("REPORT "):
        return None
    row: dict = {}
    for part in text[len("REPORT ") :].split("\t"):
        name, _, value = part.partition(":")
        field = TEXT_FIELDS.get(name.strip())
        if field is None or not value.strip():
            continue
        key, kind = field
        if kind is str:
            row[key] = value.strip()
            continue
        number = NUMBER.search(value)
        if number:
            row[key] = kind(float(number.group())) if kind is int else float(number.group())
    if "request_id" not in row or "duration_ms" not in row:
        return None
    return _complete(row)


def _parse_json_report(text: str) -> dict | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("type") != "platform.report":
        return None
    body = record.get("record") or {}
    metrics = body.get("metrics") or {}
    row: dict = {"request_id": body.get("requestId")}
    for name, (key, kind) in JSON_METRICS.items():
        if isinstance(metrics.get(name), int | float):
            row[key] = kind(metrics[name])
    status = body.get("status")
    if status and status != "success":
        row["status"] = status
    if body.get("errorType"):
        row["error_type"] = body["errorType"]
    if not row["request_id"] or "duration_ms" not in row:
        return None
    return _complete(row)


def _complete(row: dict) -> dict:
    for key, _ in list(TEXT_FIELDS.values()):
        row.setdefault(key, None)
    row["cold_start"] = row["init_ms"] is not None
    return row


def report_lines_to_frame(events: list[dict]) -> pd.DataFrame:
    """One row per invocation from CloudWatch log events (``message``, ``timestamp``)."""
    rows = []
    for event in events:
        row = parse_report(event["message"])
        if row is not None:
            row["time"] = pd.to_datetime(event["timestamp"], unit="ms", utc=True)
            rows.append(row)
    columns = [
        "time",
        "request_id",
        "duration_ms",
        "billed_ms",
        "init_ms",
        "cold_start",
        "memory_size_mb",
        "max_memory_used_mb",
    ]
    return pd.DataFrame(rows, columns=columns)


def invocations(logs, functions: list[str], start_ms: int | None = None) -> pd.DataFrame:
    """One row per invocation of ``functions``, from their REPORT records in CloudWatch Logs.

    ``log_stream`` is the execution environment; ``nth_in_environment`` counts its invocations
    (1 is the cold start); ``timestamp`` is tz-aware (UTC)."""
    rows = []
    for function in functions:
        kwargs = {"logGroupName": f"/aws/lambda/{function}", "filterPattern": REPORT_FILTER}
        if start_ms is not None:
            kwargs["startTime"] = start_ms
        try:
            for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
                for event in page["events"]:
                    row = parse_report(event["message"])
                    if row is None:
                        continue
                    row.update(
                        function=function,
                        log_stream=event["logStreamName"],
                        timestamp=pd.to_datetime(event["timestamp"], unit="ms", utc=True),
                    )
                    rows.append(row)
        except logs.exceptions.ResourceNotFoundException:
            continue  # never invoked: no log group yet
    frame = pd.DataFrame(rows, columns=[c for c in INVOCATION_COLUMNS if c != "nth_in_environment"])
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    frame.insert(3, "nth_in_environment", frame.groupby("log_stream").cumcount() + 1)
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    types = {
        "nth_in_environment": "int64",
        "cold_start": "bool",
        "init_ms": "float64",
        "duration_ms": "float64",
        "billed_ms": "Int64",
        "memory_size_mb": "Int64",
        "max_memory_used_mb": "Int64",
        "function": "string",
        "request_id": "string",
        "log_stream": "string",
        "status": "string",
        "error_type": "string",
    }
    frame = frame.astype({k: v for k, v in types.items() if k in frame})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def expected_billed_ms(duration_ms: float, init_ms: float | None) -> int:
    """Lambda's billed duration: the duration rounded up to 1 ms, and since 2025-08-01 on a
    cold start (on-demand ZIP functions, managed runtimes) the init phase too."""
    return max(1, math.ceil(duration_ms + (init_ms or 0.0)))


def action_executions(codepipeline, pipeline: str) -> pd.DataFrame:
    """One row per action execution of ``pipeline`` (every execution, paginated): when it
    started and last changed, and ``external_id`` — for a Lambda action, what the function
    reported as ``externalExecutionId`` (the workbook's functions report their request id)."""
    rows = []
    for page in codepipeline.get_paginator("list_action_executions").paginate(
        pipelineName=pipeline
    ):
        for detail in page["actionExecutionDetails"]:
            result = detail.get("output", {}).get("executionResult", {})
            rows.append(
                {
                    "pipeline": pipeline,
                    "execution_id": detail["pipelineExecutionId"],
                    "action_execution_id": detail.get("actionExecutionId"),
                    "stage": detail["stageName"],
                    "action": detail["actionName"],
                    "provider": detail["input"]["actionTypeId"]["provider"],
                    "function": detail["input"].get("configuration", {}).get("FunctionName"),
                    "status": detail["status"],
                    "start": detail["startTime"],
                    "end": detail["lastUpdateTime"],
                    "external_id": result.get("externalExecutionId"),
                }
            )
    frame = pd.DataFrame(rows, columns=ACTION_COLUMNS)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    frame["seconds"] = (frame["end"] - frame["start"]).dt.total_seconds()
    frame = frame.astype({c: "string" for c in ACTION_COLUMNS if c not in ("start", "end")})
    return frame.sort_values("start", kind="stable").reset_index(drop=True)


ACTION_COLUMNS = [
    "pipeline",
    "execution_id",
    "action_execution_id",
    "stage",
    "action",
    "provider",
    "function",
    "status",
    "start",
    "end",
    "external_id",
]


# Fewer runs than this get no percentile, median or boxplot: their values are shown instead.
# (A p90 of 5 runs is an interpolation between the two slowest; of 3, between the two slowest
# of 3: it says nothing about "one run in ten".)
MIN_RUNS = 20


def _shown_values(values: pd.Series) -> list[float]:
    """A small group's values, sorted, to 3 significant digits (for reading, not computing)."""
    return [float(f"{v:.3g}") for v in sorted(values.dropna())]


def percentiles(
    frame: pd.DataFrame, by: list[str], column: str = "seconds", min_runs: int = MIN_RUNS
) -> pd.DataFrame:
    """p50, p90 and max of ``column`` for each group, and how many rows each has. A group of
    fewer than ``min_runs`` rows gets no p50 or p90 (NaN): ``values`` lists its values instead
    (sorted, 3 significant digits); it is empty for the groups that have percentiles."""
    grouped = frame.groupby(by, sort=False)[column]
    count = grouped.count()
    enough = count >= min_runs
    table = pd.DataFrame(
        {
            "count": count,
            "p50": grouped.quantile(0.5).where(enough),
            "p90": grouped.quantile(0.9).where(enough),
            "max": grouped.max(),
            "values": [
                [] if ok else _shown_values(values)
                for ok, (_, values) in zip(enough, grouped, strict=True)
            ],
        },
        index=count.index,
    )
    return table.reset_index()


def medians(
    frame: pd.DataFrame, by: list[str], columns: list[str], min_runs: int = MIN_RUNS
) -> pd.DataFrame:
    """How many rows each group has and the median of each of ``columns``; NaN for a group of
    fewer than ``min_runs`` rows (read its rows instead)."""
    grouped = frame.groupby(by, sort=False)
    count = grouped.size()
    table = grouped[columns].median().where(count >= min_runs, axis=0)
    table.insert(0, "count", count)
    return table.reset_index()


def plot_points(
    frame: pd.DataFrame,
    by: str,
    column: str,
    ax=None,
    min_runs: int = MIN_RUNS,
    log: bool = True,
):
    """A strip plot: a row per group of ``by``, every value of ``column`` a point (spread a
    little up and down so that equal values stay visible), and the p50 and p90 marked only for
    groups of at least ``min_runs`` values."""
    import matplotlib.pyplot as plt
    import numpy as np

    groups = list(dict.fromkeys(frame[by]))
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.5 * len(groups) + 1.2))
    spread = np.random.default_rng(0)
    labels = []
    for y, group in enumerate(groups):
        values = frame.loc[frame[by] == group, column].dropna().to_numpy(float)
        ax.plot(values, y + spread.uniform(-0.18, 0.18, len(values)), "o", ms=4, alpha=0.6)
        if len(values) >= min_runs:
            for q, style in ((0.5, "k|"), (0.9, "r|")):
                ax.plot([np.quantile(values, q)], [y], style, ms=18, mew=2)
        labels.append(f"{group} (n={len(values)})")
    ax.set_yticks(range(len(groups)), labels)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(column + (" (log scale)" if log else ""))
    ax.set_title(
        f"every run a point; p50 (black) and p90 (red) where a group has {min_runs} or more"
    )
    return ax


def plot_per_function(calls: pd.DataFrame, columns: int = 3):
    """Small multiples: a histogram per function of what its invocations took — warm ones
    their duration, cold ones init + duration, as they are billed — each panel on bins of its
    own (log scale), with how many invocations of each kind it holds."""
    import matplotlib.pyplot as plt
    import numpy as np

    functions = list(dict.fromkeys(calls["function"]))
    rows = math.ceil(len(functions) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 2.8 * rows), squeeze=False)
    total = calls["duration_ms"] + calls["init_ms"].fillna(0)
    for ax, function in zip(axes.flat, functions, strict=False):
        mine = calls["function"] == function
        low, high = max(float(total[mine].min()), 0.1), float(total[mine].max()) * 1.1
        bins = np.geomspace(low, max(high, low * 1.5), 25)
        for is_cold, label in ((False, "warm: duration"), (True, "cold: init + duration")):
            values = total[mine & (calls["cold_start"] == is_cold)]
            ax.hist(values, bins=bins, alpha=0.6, label=f"{label} (n={len(values)})")
        ax.set_xscale("log")
        ax.set_title(str(function), fontsize=9)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(functions) :]:
        ax.set_visible(False)
    fig.supxlabel("milliseconds (log scale)")
    fig.supylabel("invocations")
    fig.tight_layout()
    return fig


# -- a batch of releases: which succeeded, and what failed in the others ---------------------
def release_outcome(number: int, execution: dict, details: list[dict] = ()) -> dict:
    """One release of a batch: its number, execution id and status, and for one that didn't
    succeed where it stopped — the stage and action of its last failed action run, with the
    message the action reported (``details``: the execution's ListActionExecutions), or the
    execution's own ``statusSummary`` when no action failed (stopped, superseded)."""
    row = {
        "release": number,
        "execution_id": execution["pipelineExecutionId"],
        "status": execution["status"],
        "stage": None,
        "action": None,
        "message": "",
    }
    if execution["status"] == "Succeeded":
        return row
    failed = [d for d in details if d.get("status") == "Failed"]
    if failed:
        last = max(failed, key=lambda d: d["startTime"])
        result = last.get("output", {}).get("executionResult", {})
        error = result.get("errorDetails") or {}
        row.update(
            stage=last["stageName"],
            action=last["actionName"],
            message=error.get("message") or result.get("externalExecutionSummary") or "",
        )
    else:
        row["message"] = execution.get("statusSummary") or ""
    return row


def failure_line(outcome: dict) -> str:
    """``release 3 (<id>): Failed at StackStage/DeployStack — <the action's message>``."""
    where = f" at {outcome['stage']}/{outcome['action']}" if outcome.get("stage") else ""
    message = f" — {outcome['message']}" if outcome.get("message") else ""
    return f"release {outcome['release']} ({outcome['execution_id']}): {outcome['status']}" + (
        where + message
    )


def batch_verdict(outcomes: pd.DataFrame) -> tuple[bool, str, str]:
    """What a batch's checkpoint says: (whether there is anything to measure, the line, why).
    Every release succeeded: that; some failed: how many succeeded (the tables use those) and
    which releases failed; none succeeded: a failure. ``why`` has a ``failure_line`` per failed
    release: where it stopped and the message its action reported."""
    total = len(outcomes)
    succeeded = int((outcomes["status"] == "Succeeded").sum())
    failed = outcomes[outcomes["status"] != "Succeeded"]
    why = "\n".join(failure_line(row) for row in failed.to_dict("records"))
    if succeeded == total:
        return True, f"all {total} releases succeeded", ""
    if succeeded == 0:
        return False, f"none of the {total} releases succeeded", why
    which = ", ".join(f"release {n}" for n in failed["release"])
    return (
        True,
        f"{succeeded} of {total} releases succeeded — the tables below use those {succeeded}; "
        f"{total - succeeded} failed ({which}: where and why above)",
        why,
    )


def invocation_spans(calls: pd.DataFrame) -> pd.DataFrame:
    """``calls`` with when each invocation began and ended: the REPORT record is written at the
    end, after the init phase (a cold start) and the handler's duration."""
    spans = calls.copy()
    init = spans["init_ms"].fillna(0.0) if "init_ms" in spans else 0.0
    spans["end"] = spans["timestamp"]
    spans["begin"] = spans["timestamp"] - pd.to_timedelta(spans["duration_ms"] + init, unit="ms")
    return spans


def action_rounds(actions: pd.DataFrame, calls: pd.DataFrame, slack_s: float = 1.0) -> pd.DataFrame:
    """One row per invocation a Lambda action made — its rounds, when a continuation token
    asked for more — joined to the action execution it belongs to.

    The join: an invocation whose request id is the action's ``external_id`` (what the function
    reported) belongs to it; any other invocation of the action's function belongs to the
    action that was running when it began (within ``slack_s``), the latest one started if
    several were. ``joined_by`` says which; ``gap_before_s`` is how long the action waited
    between the end of the previous round and this one's start."""
    lam = actions[actions["provider"] == "Lambda"].reset_index(drop=True)
    spans = invocation_spans(calls).sort_values("begin", kind="stable")
    external = lam["external_id"].fillna("").astype(str) if "external_id" in lam else None
    slack = pd.Timedelta(seconds=slack_s)
    rows = []
    for call in spans.to_dict("records"):
        request_id = call.get("request_id")
        found = external is not None and bool(request_id)
        exact = lam.index[(external == request_id).to_numpy(bool)] if found else []
        if len(exact):
            index, how = exact[0], "request id"
        else:
            running = lam[
                (lam["function"] == call["function"])
                & (lam["start"] - slack <= call["begin"])
                & (call["begin"] <= lam["end"] + slack)
            ]
            if running.empty:
                continue
            index, how = running["start"].idxmax(), "time window"
        action = lam.loc[index]
        rows.append(
            {
                "execution_id": action["execution_id"],
                "stage": action["stage"],
                "action": action["action"],
                "action_index": index,
                "request_id": call.get("request_id"),
                "cold_start": bool(call.get("cold_start", False)),
                "begin": call["begin"],
                "end": call["end"],
                "duration_ms": call["duration_ms"],
                "joined_by": how,
            }
        )
    frame = pd.DataFrame(rows, columns=ROUND_COLUMNS)
    frame = frame.sort_values(["action_index", "begin"], kind="stable").reset_index(drop=True)
    grouped = frame.groupby("action_index", sort=False)
    frame.insert(4, "round", grouped.cumcount() + 1)
    previous_end = grouped["end"].shift()
    frame["gap_before_s"] = (frame["begin"] - previous_end).dt.total_seconds()
    return frame


ROUND_COLUMNS = [
    "execution_id",
    "stage",
    "action",
    "action_index",
    "request_id",
    "cold_start",
    "begin",
    "end",
    "duration_ms",
    "joined_by",
]


def lambda_actions(
    actions: pd.DataFrame, calls: pd.DataFrame, slack_s: float = 1.0
) -> pd.DataFrame:
    """Each Lambda action execution beside the invocations it made (``action_rounds``): its
    wall time in CodePipeline, the function's own time (the sum of the rounds' durations), the
    pipeline's overhead (the difference), the number of rounds, how many were cold starts, and
    the largest gap between two rounds (CodePipeline's wait before a continuation)."""
    lam = actions[actions["provider"] == "Lambda"].reset_index(drop=True)
    rounds = action_rounds(actions, calls, slack_s)
    rows = []
    for index, action in lam.iterrows():
        mine = rounds[rounds["action_index"] == index]
        function_s = float(mine["duration_ms"].sum()) / 1000
        gaps = mine["gap_before_s"].dropna()
        rows.append(
            {
                "execution_id": action["execution_id"],
                "stage": action["stage"],
                "action": action["action"],
                "status": action["status"],
                "rounds": len(mine),
                "cold_rounds": int(mine["cold_start"].sum()),
                "wall_s": action["seconds"],
                "function_s": function_s,
                "overhead_s": action["seconds"] - function_s,
                "largest_gap_s": float(gaps.max()) if len(gaps) else 0.0,
                "joined_by": "request id"
                if (mine["joined_by"] == "request id").any()
                else ("time window" if len(mine) else "none"),
            }
        )
    columns = [
        "execution_id",
        "stage",
        "action",
        "status",
        "rounds",
        "cold_rounds",
        "wall_s",
        "function_s",
        "overhead_s",
        "largest_gap_s",
        "joined_by",
    ]
    return pd.DataFrame(rows, columns=columns)


def release_timeline(
    actions: pd.DataFrame, rounds: pd.DataFrame, execution_id: str
) -> pd.DataFrame:
    """One release as bars: every action execution, and under each Lambda action a row per
    round it made; seconds from the release's first action."""
    mine = actions[actions["execution_id"] == execution_id]
    t0 = mine["start"].min()
    rows = []
    for _, a in mine.iterrows():
        label = f"{a['stage']}/{a['action']}"
        rows.append(
            {
                "label": label,
                "kind": "action",
                "start_s": (a["start"] - t0).total_seconds(),
                "end_s": (a["end"] - t0).total_seconds(),
                "cold_start": False,
            }
        )
        done = rounds[(rounds["execution_id"] == execution_id) & (rounds["action"] == a["action"])]
        for _, r in done.iterrows():
            rows.append(
                {
                    "label": f"  round {r['round']}",
                    "kind": "invocation",
                    "start_s": (r["begin"] - t0).total_seconds(),
                    "end_s": (r["end"] - t0).total_seconds(),
                    "cold_start": bool(r["cold_start"]),
                }
            )
    return pd.DataFrame(rows, columns=["label", "kind", "start_s", "end_s", "cold_start"])


def plot_timeline(timeline: pd.DataFrame, ax=None):
    """A Gantt chart of ``release_timeline``: a row per action execution (blue) and, under a
    Lambda action, a row per invocation it made (orange; hatched: a cold start)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.45 * len(timeline) + 1))
    for y, row in enumerate(timeline.itertuples(index=False)):
        width = max(row.end_s - row.start_s, 0.002)
        if row.kind == "action":
            ax.barh(y, width, left=row.start_s, height=0.6, color="#9ecae1", edgecolor="#3182bd")
        else:
            hatch = "//" if row.cold_start else None
            ax.barh(y, width, left=row.start_s, height=0.4, color="#e6550d", hatch=hatch)
    ax.set_yticks(range(len(timeline)), list(timeline["label"]))
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the release's first action")
    ax.set_title("One release: action executions (blue), the invocations they made (orange)")
    return ax


def with_billing_check(calls: pd.DataFrame) -> pd.DataFrame:
    """``calls`` with the billed duration Lambda's rule gives (``expected_billed_ms``) and
    whether the REPORT's agrees within 1 ms (its durations are rounded to 0.01 ms)."""
    checked = calls.copy()
    expected = [
        expected_billed_ms(d, None if pd.isna(i) else i)
        for d, i in zip(checked["duration_ms"], checked["init_ms"], strict=True)
    ]
    checked["expected_billed_ms"] = pd.array(expected, dtype="Int64")
    checked["billed_ok"] = (
        (checked["billed_ms"] - checked["expected_billed_ms"]).abs() <= 1
    ).astype("bool")
    return checked


def payback_invocations(variants: pd.DataFrame, slower_init: str, slower_calls: str) -> float:
    """How many warm invocations of ``slower_init`` pay back its longer init: the extra median
    Init Duration over what each warm invocation of ``slower_calls`` takes longer (medians of
    ``variants``: columns variant, cold_start, init_ms, duration_ms). Infinite if they don't."""
    cold = variants[variants["cold_start"]].groupby("variant")["init_ms"].median()
    warm = variants[~variants["cold_start"]].groupby("variant")["duration_ms"].median()
    extra_init = cold[slower_init] - cold[slower_calls]
    saving = warm[slower_calls] - warm[slower_init]
    if saving <= 0:
        return math.inf
    return float(max(0, math.ceil(extra_init / saving)))


def lambda_cost(
    billed_ms: float, memory_mb: int, invocations: int = 1, architecture: str = "x86_64"
) -> float:
    """Dollars for ``invocations`` each billed ``billed_ms`` at ``memory_mb``."""
    gb_seconds = billed_ms / 1000 * memory_mb / 1024 * invocations
    compute = gb_seconds * prices.LAMBDA_GB_SECOND[architecture]
    return compute + invocations / 1e6 * prices.LAMBDA_PER_MILLION_REQUESTS


def seconds_for_an_action_minute(memory_mb: int, architecture: str = "x86_64") -> float:
    """How many seconds one invocation at ``memory_mb`` would have to be billed to cost what
    one CodePipeline V2 action-minute costs — from the published prices alone, no timings."""
    request = prices.LAMBDA_PER_MILLION_REQUESTS / 1e6
    per_second = memory_mb / 1024 * prices.LAMBDA_GB_SECOND[architecture]
    return (prices.CODEPIPELINE_V2_ACTION_MINUTE - request) / per_second


def priced_label(target: str) -> str:
    """What a table of measured durations at AWS prices is, said beside it: on the local cloud,
    laptop timings at AWS's prices — not what AWS would bill."""
    if target == "local":
        return "What these local durations would cost at AWS prices — laptop timings, not AWS's"
    return "What this run's durations on AWS cost at the published prices"


def pipeline_cost_v2(action_seconds: list[float]) -> float:
    """Dollars for one release of a V2 pipeline: each action execution billed by the minute,
    rounded up (before the monthly free minutes)."""
    minutes = sum(max(1, math.ceil(s / 60)) for s in action_seconds)
    return minutes * prices.CODEPIPELINE_V2_ACTION_MINUTE


def cost_table(
    action_seconds: list[float],
    lambda_billed_ms: float,
    memory_mb: int,
    lambda_invocations: int,
    releases_per_day: int = 100,
    days: int = 30,
) -> pd.DataFrame:
    """What a release costs, and a month of ``releases_per_day``: CodePipeline V2 action
    minutes (100 free a month) beside the Lambda compute and requests, and what the same month
    costs on a V1 pipeline ($1 per active pipeline-month once its 30 free days are over; per
    release, that month's dollar shared by its releases).

    ``action_seconds``: the action executions of one release; ``lambda_billed_ms``: billed
    milliseconds of one invocation; ``lambda_invocations``: invocations per release."""
    minutes_per_release = sum(max(1, math.ceil(s / 60)) for s in action_seconds)
    releases = releases_per_day * days
    billable_minutes = max(0, minutes_per_release * releases - prices.CODEPIPELINE_V2_FREE_MINUTES)
    per_release_lambda = lambda_cost(lambda_billed_ms, memory_mb, lambda_invocations)
    month_v1 = prices.CODEPIPELINE_V1_PIPELINE_MONTH * days / 30
    rows = [
        {
            "what": "one release",
            "action_minutes": minutes_per_release,
            "codepipeline_usd": minutes_per_release * prices.CODEPIPELINE_V2_ACTION_MINUTE,
            "codepipeline_v1_usd": month_v1 / releases,
            "lambda_usd": per_release_lambda,
        },
        {
            "what": f"{releases_per_day} releases a day for {days} days",
            "action_minutes": minutes_per_release * releases,
            "codepipeline_usd": billable_minutes * prices.CODEPIPELINE_V2_ACTION_MINUTE,
            "codepipeline_v1_usd": month_v1,
            "lambda_usd": per_release_lambda * releases,
        },
    ]
    frame = pd.DataFrame(rows)
    frame["lambda_share"] = frame["lambda_usd"] / (frame["lambda_usd"] + frame["codepipeline_usd"])
    return frame


def invocations_frame(events: list[dict]) -> pd.DataFrame:
    """One row per invocation (START…REPORT): what the function said it did, and its timing.

    ``outcome`` is the job result the invocation said it reported (the workbook's functions
    log "Putting job …" or "Job …: succeeded/failed …"), else its last log line.
    """
    rows: list[dict] = []
    current: dict | None = None
    for event in events:
        message = event["message"]
        if message.startswith("START RequestId:"):
            current = {"invocation": len(rows) + 1, "lines": []}
        elif current is None:
            continue
        elif message.startswith("END RequestId:"):
            continue
        elif message.startswith("REPORT RequestId:"):
            report = parse_report(message) or {}
            lines = current["lines"]
            said = [
                line
                for line in lines
                if line.startswith("Putting job") or ": succeeded:" in line or ": failed (" in line
            ]
            rows.append(
                {
                    "invocation": current["invocation"],
                    "request_id": report.get("request_id"),
                    "outcome": said[-1] if said else (lines[-1] if lines else ""),
                    "duration_ms": report.get("duration_ms"),
                    "cold_start": report.get("cold_start"),
                }
            )
            current = None
        else:
            current["lines"].append(message.strip())
    columns = ["invocation", "request_id", "outcome", "duration_ms", "cold_start"]
    return pd.DataFrame(rows, columns=columns)


# -- notebook 07: its experiment functions, the memory table, exports -----------------------
EXPERIMENTS = Path(__file__).resolve().parent / "functions" / "timing"
RESULTS = Path(__file__).resolve().parents[1] / "results"
SWEEP_DATA = Path(__file__).resolve().parents[1] / "data" / "timings" / "aws_memory_sweep.csv"

# variant -> (handler, what it shows); one deployment package holds every module.
VARIANTS = {
    "eager-import": ("eager_import.lambda_handler", "a heavy module imported at module level"),
    "lazy-import": ("lazy_import.lambda_handler", "the same module imported in the handler"),
    "client-module": ("client_module.lambda_handler", "a boto3 client made at module level"),
    "client-per-call": ("client_per_call.lambda_handler", "a boto3 client made in each call"),
    "busy-work": ("busy_work.lambda_handler", "fixed CPU work (the memory sweep)"),
}


def experiment_package() -> bytes:
    """The experiments' deployment package: every module of ``helpers/functions/timing``."""
    from .packaging import zip_files

    return zip_files({p.name: p.read_text() for p in sorted(EXPERIMENTS.glob("*.py"))})


def experiment_name(book, variant: str) -> str:
    """``<prefix>-timing-<variant>``: 07's functions, which its last section deletes."""
    return f"{book.names.prefix}-timing-{variant}"


def experiment_functions(book) -> list[str]:
    return [experiment_name(book, variant) for variant in VARIANTS]


def logs_insights(logs, functions: list[str], start_ms: int, wait_s: float = 120) -> pd.DataFrame:
    """``LOGS_INSIGHTS_QUERY`` over the functions' log groups since ``start_ms`` (StartQuery,
    then GetQueryResults until it is Complete): one row per REPORT record, as Logs Insights
    discovers its fields."""
    query_id = logs.start_query(
        logGroupNames=[f"/aws/lambda/{f}" for f in functions],
        startTime=start_ms // 1000,
        endTime=int(time.time()) + 60,
        queryString=LOGS_INSIGHTS_QUERY,
    )["queryId"]
    deadline = time.monotonic() + wait_s
    while True:
        answer = logs.get_query_results(queryId=query_id)
        if answer["status"] not in ("Scheduled", "Running"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"query {query_id} is still {answer['status']}")
        time.sleep(1)
    rows = [{f["field"]: f["value"] for f in result} for result in answer["results"]]
    return pd.DataFrame(rows).drop(columns="@ptr", errors="ignore")


def with_changed_bucket(package: bytes, file: str = "template-package/template.json") -> bytes:
    """The template package with one property of MySampleBucket changed — versioning turned on,
    or suspended if it was on — so that the next release updates the stack (and the stack
    deployer continues its job in rounds). Put the original package back to undo it."""
    import io
    import zipfile

    from .packaging import zip_files

    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    template = json.loads(files[file])
    bucket = template["Resources"]["MySampleBucket"]
    properties = bucket.get("Properties") or {}
    enabled = properties.get("VersioningConfiguration", {}).get("Status") == "Enabled"
    properties["VersioningConfiguration"] = {"Status": "Suspended" if enabled else "Enabled"}
    bucket["Properties"] = properties
    files[file] = json.dumps(template, indent=2).encode()
    return zip_files(files)


def wait_for_reports(
    logs, functions: list[str], start_ms: int, count: int, wait_s: float, poll: float
) -> pd.DataFrame:
    """``invocations`` since ``start_ms``, once at least ``count`` are there: CloudWatch Logs
    shows events after a moment (on AWS seconds, sometimes more); raises after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        calls = invocations(logs, functions, start_ms)
        if len(calls) >= count:
            return calls
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{len(calls)} of {count} REPORT records so far: run the cell again in a moment"
            )
        time.sleep(poll)


def unexpected_warm(calls: pd.DataFrame, forced: pd.Series) -> str:
    """What to say when an invocation that should have been cold (``forced``) was warm."""
    warm = calls[forced & ~calls["cold_start"]]
    if warm.empty:
        return ""
    shown = ", ".join(f"{r.function} ({r.request_id})" for r in warm.itertuples())
    return (
        f"found warm: {shown}: an environment of the old configuration served it. "
        "Run the cell again; if it repeats, restart the local cloud (notebook 00)."
    )


def warm_summary(calls: pd.DataFrame, forced: pd.Series) -> str:
    """How many of the invocations not forced cold were warm, and what the cold ones were:
    Lambda may start a new environment at any time (on AWS: it moved the function; locally:
    an environment ended)."""
    others = calls[~forced]
    cold = others[others["cold_start"]]
    line = f"{len(others) - len(cold)} of the {len(others)} other invocations were warm"
    if cold.empty:
        return line + "."
    why = ", ".join(f"{r.function} ({r.request_id})" for r in cold.itertuples())
    return f"{line}; cold as well: {why}. Lambda may start a new environment at any time."


def invoke_concurrently(lam, function: str, times: int, payload: dict) -> list[str]:
    """``times`` synchronous invokes at once, one per thread; their request ids."""
    from concurrent.futures import ThreadPoolExecutor

    body = json.dumps(payload)

    def one(_: int) -> str:
        return lam.invoke(FunctionName=function, Payload=body)["ResponseMetadata"]["RequestId"]

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(one, range(times)))


def memory_table(
    calls: pd.DataFrame, architecture: str = "x86_64", min_runs: int = MIN_RUNS
) -> pd.DataFrame:
    """One row per memory size: warm p50 and p90 duration (NaN for a size with fewer than
    ``min_runs`` warm invocations), the mean billed duration, and what a million invocations
    cost at that size (the Power Tuning table)."""
    warm = calls[~calls["cold_start"]]
    grouped = warm.groupby("memory_size_mb")
    count = grouped["duration_ms"].count()
    enough = count >= min_runs
    table = pd.DataFrame(
        {
            "invocations": count,
            "p50_ms": grouped["duration_ms"].quantile(0.5).where(enough),
            "p90_ms": grouped["duration_ms"].quantile(0.9).where(enough),
            "billed_ms": grouped["billed_ms"].mean().astype("float64"),
        }
    ).reset_index()
    table["memory_size_mb"] = table["memory_size_mb"].astype("int64")
    table["usd_per_million"] = [
        lambda_cost(b, m, 1_000_000, architecture)
        for b, m in zip(table["billed_ms"], table["memory_size_mb"], strict=True)
    ]
    return table


def read_report_lines(path: Path = SWEEP_DATA) -> pd.DataFrame:
    """The REPORT lines of a CSV (columns ``timestamp``, ``message``; ``#`` lines are comments)
    as ``invocations`` would give them: one row per invocation."""
    events = pd.read_csv(path, comment="#")
    rows = []
    for event in events.to_dict("records"):
        row = parse_report(event["message"])
        if row is not None:
            row.update(function=event.get("function"), log_stream=event.get("log_stream"))
            row["timestamp"] = pd.Timestamp(event["timestamp"])
            rows.append(row)
    frame = pd.DataFrame(rows, columns=[c for c in INVOCATION_COLUMNS if c != "nth_in_environment"])
    frame.insert(3, "nth_in_environment", frame.groupby("log_stream").cumcount() + 1)
    return _typed(frame)


def export(frames: dict[str, pd.DataFrame], folder: Path = RESULTS) -> list[str]:
    """Write each table to ``<folder>/<name>.csv`` (results/ is git-ignored); the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
        written.append(f"{folder.name}/{name}.csv")
    return written
