"""A room's load on the local cloud: many releases of several pipelines at once, and many direct
invokes from many threads. `make bench` reports its figures; tests/localcloud/test_load.py
checks that every release and invoke succeeds and gets its own result.

Every pipeline has a function of its own that echoes the action's UserParameters — the
pipeline's name and the release's id (a pipeline variable) — into its summary and output
variables, so a result that reached another action is seen. Direct invokes echo their payload.
"""

from __future__ import annotations

import base64
import json
import os
import re
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

ECHO_FUNCTION = """
import json, os
import boto3

codepipeline = boto3.client("codepipeline")


def handler(event, context):
    job = event.get("CodePipeline.job")
    if job is None:  # a direct invoke: echo the payload, say which environment ran it
        return {"echo": event, "pid": os.getpid()}
    marker = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    codepipeline.put_job_success_result(
        jobId=job["id"],
        executionDetails={"summary": marker},
        outputVariables={"marker": marker, "jobId": job["id"], "pid": str(os.getpid())},
    )
"""
RELEASE_VARIABLE = "Release"
INIT = re.compile(r"\tInit Duration: ")


@dataclass
class Release:
    """One release of a load pipeline, as it ended."""

    pipeline: str
    release: str  # the value of the Release variable: what the action must echo
    execution_id: str
    seconds: float
    status: str
    action: dict = field(default_factory=dict)  # its Lambda action's ListActionExecutions row

    @property
    def expected_marker(self) -> str:
        return f"{self.pipeline}|{self.release}"


@dataclass
class Invoke:
    """One direct invoke and what it answered."""

    sent: str
    seconds: float
    status: int
    function_error: str | None
    answer: dict
    cold: bool


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p50, p99) of ``samples``."""
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def figures(seconds: list[float], wall_s: float) -> dict[str, float]:
    """Throughput (per second) and p50/p99/max latency (ms) of a load."""
    return {
        "count": len(seconds),
        "throughput_per_s": len(seconds) / wall_s if wall_s else 0.0,
        "p50_ms": percentile(seconds, 0.50) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
        "max_ms": max(seconds) * 1000,
        "mean_ms": statistics.fmean(seconds) * 1000,
        "wall_s": wall_s,
    }


def zip_source(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("app.py", source)
    return buffer.getvalue()


def create_echo_function(client, role_arn: str, name: str) -> str:
    """The echo function (python3.12), Active."""
    client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": zip_source(ECHO_FUNCTION)},
        Timeout=30,
    )
    client("lambda").get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )
    return name


def create_load_pipelines(
    client, lambda_role: str, pipeline_role: str, count: int, prefix: str = "load"
) -> list[str]:
    """``count`` V2 pipelines in PARALLEL mode (releases run at once, none is superseded):
    S3 source, then a Lambda action of the pipeline's own echo function, whose
    UserParameters are ``<pipeline>|#{variables.Release}``. Returns their names, once the
    run their creation starts has finished."""
    from helpers import pipelines

    run = uuid.uuid4().hex[:6]
    s3 = client("s3")
    source, store = f"{prefix}-source-{run}", f"{prefix}-store-{run}"
    for bucket in (source, store):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=source, Key="site.zip", Body=zip_source("<h1>load</h1>"))
    names = []
    for index in range(count):
        name = f"{prefix}-{run}-{index}"
        function = create_echo_function(client, lambda_role, f"{name}-echo")
        action = pipelines.lambda_action(
            "Echo", function, f"{name}|#{{variables.{RELEASE_VARIABLE}}}"
        )
        client("codepipeline").create_pipeline(
            pipeline={
                "name": name,
                "roleArn": pipeline_role,
                "artifactStore": {"type": "S3", "location": store},
                "pipelineType": "V2",
                "executionMode": "PARALLEL",
                "variables": [{"name": RELEASE_VARIABLE, "defaultValue": "created"}],
                "stages": [
                    {
                        "name": "Source",
                        "actions": [
                            pipelines.s3_source_action("Source", source, "site.zip", "Site")
                        ],
                    },
                    {"name": "Check", "actions": [action]},
                ],
            }
        )
        names.append(name)
    for name in names:
        _wait_all(client("codepipeline"), name)
    return names


def _wait_all(codepipeline, name: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        summaries = codepipeline.list_pipeline_executions(pipelineName=name)[
            "pipelineExecutionSummaries"
        ]
        if all(s["status"] not in ("InProgress", "Stopping") for s in summaries):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{name} still running after {timeout_s} s")


def run_releases(
    codepipeline, names: list[str], per_pipeline: int, timeout_s: float = 120, poll_s: float = 0.05
) -> tuple[list[Release], float]:
    """Start ``per_pipeline`` releases of every pipeline at once (one thread each); wait for
    each to end. Returns the releases and the wall time of the whole load."""
    plan = [(name, uuid.uuid4().hex[:12]) for name in names for _ in range(per_pipeline)]
    barrier = threading.Barrier(len(plan))

    def release(item: tuple[str, str]) -> Release:
        name, marker = item
        barrier.wait()
        started = time.perf_counter()
        execution_id = codepipeline.start_pipeline_execution(
            name=name, variables=[{"name": RELEASE_VARIABLE, "value": marker}]
        )["pipelineExecutionId"]
        deadline = time.monotonic() + timeout_s
        while True:
            status = codepipeline.get_pipeline_execution(
                pipelineName=name, pipelineExecutionId=execution_id
            )["pipelineExecution"]["status"]
            if status not in ("InProgress", "Stopping") or time.monotonic() > deadline:
                break
            time.sleep(poll_s)
        elapsed = time.perf_counter() - started
        rows = codepipeline.list_action_executions(
            pipelineName=name, filter={"pipelineExecutionId": execution_id}
        )["actionExecutionDetails"]
        action = next((r for r in rows if r["actionName"] == "Echo"), {})
        return Release(name, marker, execution_id, elapsed, status, action)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        results = list(pool.map(release, plan))
    return results, time.perf_counter() - started


def run_invokes(lam, function: str, total: int, threads: int) -> tuple[list[Invoke], float]:
    """``total`` synchronous invokes of ``function`` from ``threads`` threads (one client,
    shared: botocore clients are thread-safe), each with its own payload; the log tail says
    whether it was a cold start."""

    def invoke(index: int) -> Invoke:
        sent = f"{index}-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        reply = lam.invoke(
            FunctionName=function, Payload=json.dumps({"sent": sent}).encode(), LogType="Tail"
        )
        answer = json.loads(reply["Payload"].read() or b"null")
        elapsed = time.perf_counter() - started
        tail = base64.b64decode(reply.get("LogResult", "")).decode("utf-8", "replace")
        return Invoke(
            sent,
            elapsed,
            reply["StatusCode"],
            reply.get("FunctionError"),
            answer if isinstance(answer, dict) else {},
            bool(INIT.search(tail)),
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(invoke, range(total)))
    return results, time.perf_counter() - started


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs so far (Linux /proc/stat; None elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            numbers = [int(n) for n in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
    return float(sum(numbers) - idle), float(sum(numbers))
