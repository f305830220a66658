"""Lambda's REPORT lines as a pandas table."""

from __future__ import annotations

import re

import pandas as pd

REPORT = re.compile(
    r"^REPORT RequestId: (?P<request_id>\S+)\tDuration: (?P<duration_ms>[\d.]+) ms"
    r"\tBilled Duration: (?P<billed_ms>\d+) ms\tMemory Size: (?P<memory_mb>\d+) MB"
    r"\tMax Memory Used: (?P<max_memory_mb>\d+) MB"
    r"(?:\tInit Duration: (?P<init_ms>[\d.]+) ms)?"
)


def parse_report(message: str) -> dict | None:
    """The fields of one REPORT line, numbers as numbers; None for any other line."""
    match = REPORT.match(message)
    if not match:
        return None
    row = match.groupdict()
    for key in ("duration_ms", "init_ms"):
        row[key] = float(row[key]) if row[key] is not None else None
    for key in ("billed_ms", "memory_mb", "max_memory_mb"):
        row[key] = int(row[key])
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
        "memory_mb",
        "max_memory_mb",
    ]
    return pd.DataFrame(rows, columns=columns)


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
