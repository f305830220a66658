"""Lambda execution timings as pandas tables: invocations, action executions, and their cost.

The same code reads the local cloud and AWS, through the same APIs:

- ``invocations(logs, functions)``: one row per invocation, from each function's REPORT lines
  (``filter_log_events``, paginated) — text lines and the JSON log format's ``platform.report``
  records alike;
- ``action_executions(codepipeline, pipeline)``: one row per action execution, from
  ``ListActionExecutions``;
- ``lambda_actions(actions, invocations)``: each Lambda action beside the invocations it made
  (continuation rounds included): CodePipeline's wall time against the function's own time;
- ``cost_per_release(...)``: what that is in money, from ``helpers.prices``.
"""

from __future__ import annotations

import json
import math
import re

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
    """One row per action execution of ``pipeline`` (every execution, paginated)."""
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
    columns = [
        "pipeline",
        "execution_id",
        "stage",
        "action",
        "provider",
        "function",
        "status",
        "start",
        "end",
        "external_id",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    frame["seconds"] = (frame["end"] - frame["start"]).dt.total_seconds()
    return frame.sort_values("start", kind="stable").reset_index(drop=True)


def lambda_actions(actions: pd.DataFrame, calls: pd.DataFrame, slack_s: float = 2.0):
    """Each Lambda action execution beside the invocations it made.

    An invocation belongs to the action whose function it ran and during which it was reported
    (a continuation makes several: the rounds). Columns: the action's wall time in CodePipeline,
    the function's own time (sum of durations), the pipeline's overhead (the difference), the
    number of rounds and the largest gap between two rounds."""
    rows = []
    lam = actions[actions["provider"] == "Lambda"]
    for action in lam.itertuples(index=False):
        mine = calls[
            (calls["function"] == action.function)
            & (calls["timestamp"] >= action.start)
            & (calls["timestamp"] <= action.end + pd.Timedelta(seconds=slack_s))
        ].sort_values("timestamp")
        function_s = float(mine["duration_ms"].sum()) / 1000
        gaps = mine["timestamp"].diff().dt.total_seconds().dropna()
        rows.append(
            {
                "execution_id": action.execution_id,
                "stage": action.stage,
                "action": action.action,
                "status": action.status,
                "rounds": len(mine),
                "wall_s": action.seconds,
                "function_s": function_s,
                "overhead_s": action.seconds - function_s,
                "largest_gap_s": float(gaps.max()) if len(gaps) else 0.0,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "execution_id",
            "stage",
            "action",
            "status",
            "rounds",
            "wall_s",
            "function_s",
            "overhead_s",
            "largest_gap_s",
        ],
    )


def lambda_cost(
    billed_ms: float, memory_mb: int, invocations: int = 1, architecture: str = "x86_64"
) -> float:
    """Dollars for ``invocations`` each billed ``billed_ms`` at ``memory_mb``."""
    gb_seconds = billed_ms / 1000 * memory_mb / 1024 * invocations
    compute = gb_seconds * prices.LAMBDA_GB_SECOND[architecture]
    return compute + invocations / 1e6 * prices.LAMBDA_PER_MILLION_REQUESTS


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
    minutes (100 free a month) beside the Lambda compute and requests."""
    minutes_per_release = sum(max(1, math.ceil(s / 60)) for s in action_seconds)
    releases = releases_per_day * days
    billable_minutes = max(0, minutes_per_release * releases - prices.CODEPIPELINE_V2_FREE_MINUTES)
    per_release_lambda = lambda_cost(lambda_billed_ms, memory_mb, lambda_invocations)
    rows = [
        {
            "what": "one release",
            "action_minutes": minutes_per_release,
            "codepipeline_usd": minutes_per_release * prices.CODEPIPELINE_V2_ACTION_MINUTE,
            "lambda_usd": per_release_lambda,
        },
        {
            "what": f"{releases_per_day} releases a day for {days} days",
            "action_minutes": minutes_per_release * releases,
            "codepipeline_usd": billable_minutes * prices.CODEPIPELINE_V2_ACTION_MINUTE,
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
