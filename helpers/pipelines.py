"""Pipeline declarations, edits, releases and what a learner reads back from them."""

from __future__ import annotations

import copy
import json
import time
from datetime import datetime

import pandas as pd

S3_SOURCE = {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}
S3_DEPLOY = {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"}
LAMBDA_INVOKE = {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"}
FINISHED = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")


def s3_source_action(name: str, bucket: str, key: str, output: str) -> dict:
    """An S3 source action. Change detection is off: releases are started explicitly."""
    return {
        "name": name,
        "actionTypeId": S3_SOURCE,
        "runOrder": 1,
        "configuration": {
            "S3Bucket": bucket,
            "S3ObjectKey": key,
            "PollForSourceChanges": "false",
        },
        "outputArtifacts": [{"name": output}],
        "inputArtifacts": [],
    }


def with_source_polling(pipeline: dict, on: bool) -> dict:
    """A copy of the declaration whose S3 source actions poll for changes (``on``) or don't."""
    edited = json.loads(json.dumps(pipeline))
    for action in edited["stages"][0]["actions"]:
        if action["actionTypeId"] == S3_SOURCE:
            configuration = action.setdefault("configuration", {})
            configuration["PollForSourceChanges"] = "true" if on else "false"
    return edited


def s3_deploy_action(name: str, bucket: str, artifact: str) -> dict:
    """Deploys (extracts) an artifact's files into a bucket."""
    return {
        "name": name,
        "actionTypeId": S3_DEPLOY,
        "runOrder": 1,
        "configuration": {"BucketName": bucket, "Extract": "true"},
        "inputArtifacts": [{"name": artifact}],
        "outputArtifacts": [],
    }


def lambda_action(
    name: str,
    function_name: str,
    user_parameters: str | None = None,
    inputs: tuple[str, ...] = (),
    run_order: int = 1,
) -> dict:
    """A Lambda invoke action: CodePipeline passes UserParameters to the function's job."""
    configuration = {"FunctionName": function_name}
    if user_parameters is not None:
        configuration["UserParameters"] = user_parameters
    return {
        "name": name,
        "actionTypeId": LAMBDA_INVOKE,
        "runOrder": run_order,
        "configuration": configuration,
        "inputArtifacts": [{"name": i} for i in inputs],
        "outputArtifacts": [],
    }


def two_stage_pipeline(
    name: str,
    role_arn: str,
    artifact_bucket: str,
    source_bucket: str,
    source_key: str,
    site_bucket: str,
) -> dict:
    """The page's Step 1 pipeline: S3 source -> deploy the site (to S3 here)."""
    return {
        "name": name,
        "roleArn": role_arn,
        "artifactStore": {"type": "S3", "location": artifact_bucket},
        "pipelineType": "V2",
        "executionMode": "SUPERSEDED",
        "stages": [
            {
                "name": "Source",
                "actions": [
                    s3_source_action("Source", source_bucket, source_key, "SourceArtifact")
                ],
            },
            {
                "name": "Deploy",
                "actions": [s3_deploy_action("DeploySite", site_bucket, "SourceArtifact")],
            },
        ],
    }


def add_lambda_stage(
    pipeline: dict,
    function_name: str,
    user_parameters: str,
    stage_name: str = "LambdaStage",
    action_name: str = "MyLambdaAction",
) -> dict:
    """A copy of ``pipeline`` with a stage that runs the function last (replacing an older one)."""
    edited = copy.deepcopy(pipeline)
    edited["stages"] = [s for s in edited["stages"] if s["name"] != stage_name]
    edited["stages"].append(
        {
            "name": stage_name,
            "actions": [lambda_action(action_name, function_name, user_parameters)],
        }
    )
    return edited


def add_action(pipeline: dict, stage_name: str, action: dict) -> dict:
    """A copy of ``pipeline`` with ``action`` added to (or replaced in) a stage."""
    edited = copy.deepcopy(pipeline)
    for stage in edited["stages"]:
        if stage["name"] == stage_name:
            stage["actions"] = [a for a in stage["actions"] if a["name"] != action["name"]]
            stage["actions"].append(action)
            return edited
    raise KeyError(f"The pipeline has no stage named {stage_name!r}")


def add_stage(pipeline: dict, stage: dict) -> dict:
    edited = copy.deepcopy(pipeline)
    edited["stages"] = [s for s in edited["stages"] if s["name"] != stage["name"]] + [stage]
    return edited


def structure(pipeline: dict) -> str:
    """The pipeline as a learner draws it: stages, actions, providers, artifacts."""
    lines = [f"{pipeline['name']} ({pipeline.get('pipelineType', 'V1')})"]
    for stage in pipeline["stages"]:
        lines.append(f"└─ {stage['name']}")
        for action in sorted(stage["actions"], key=lambda a: a.get("runOrder", 1)):
            kind = action["actionTypeId"]
            arrows = ""
            ins = [a["name"] for a in action.get("inputArtifacts", [])]
            outs = [a["name"] for a in action.get("outputArtifacts", [])]
            if ins:
                arrows += f" in: {', '.join(ins)}"
            if outs:
                arrows += f" out: {', '.join(outs)}"
            config = action.get("configuration", {})
            detail = (
                config.get("FunctionName")
                or config.get("S3ObjectKey")
                or config.get("BucketName", "")
            )
            lines.append(
                f"   └─ [{action.get('runOrder', 1)}] {action['name']}: {kind['category']}/"
                f"{kind['provider']} {detail}{arrows}".rstrip()
            )
    return "\n".join(lines)


def get_declaration(codepipeline, name: str) -> dict:
    return codepipeline.get_pipeline(name=name)["pipeline"]


def wait_for_execution(
    codepipeline, pipeline: str, execution_id: str, timeout: float = 1800, poll: float = 0.1
) -> dict:
    """Poll GetPipelineExecution until the execution has finished; returns it.

    ``poll`` is the pause between two calls: short on the local cloud, seconds on AWS
    (``resources.poll_interval``), where a whole room polls the same account's API quotas.
    """
    deadline = time.monotonic() + timeout
    while True:
        execution = codepipeline.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=execution_id
        )["pipelineExecution"]
        if execution["status"] in FINISHED:
            return execution
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pipeline} execution {execution_id} still running")
        time.sleep(poll)


def wait_for_all(codepipeline, pipeline: str, poll: float = 0.1) -> None:
    """Wait until no execution of the pipeline is running (e.g. the one creation starts)."""
    for summary in codepipeline.list_pipeline_executions(pipelineName=pipeline)[
        "pipelineExecutionSummaries"
    ]:
        if summary["status"] not in FINISHED:
            wait_for_execution(codepipeline, pipeline, summary["pipelineExecutionId"], poll=poll)


def release_and_wait(codepipeline, pipeline: str, poll: float = 0.1) -> dict:
    """Release change (StartPipelineExecution) and wait for the outcome."""
    execution_id = codepipeline.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    return wait_for_execution(codepipeline, pipeline, execution_id, poll=poll)


def action_executions(codepipeline, pipeline: str, execution_id: str | None = None) -> list[dict]:
    """ListActionExecutions, every page: the action runs of one execution (or of all), oldest
    first."""
    kwargs: dict = {"pipelineName": pipeline}
    if execution_id is not None:
        kwargs["filter"] = {"pipelineExecutionId": execution_id}
    details = [
        detail
        for page in codepipeline.get_paginator("list_action_executions").paginate(**kwargs)
        for detail in page["actionExecutionDetails"]
    ]
    return sorted(details, key=lambda d: d["startTime"])


def latest_action_run(
    codepipeline, pipeline: str, stage: str, action: str, execution_id: str | None = None
) -> dict | None:
    """The latest run of one action (of one execution, or of any): an ActionExecutionDetail,
    or None if the action never ran. A retried action has several runs; this is the last."""
    runs = [
        detail
        for detail in action_executions(codepipeline, pipeline, execution_id)
        if detail["stageName"] == stage and detail["actionName"] == action
    ]
    return runs[-1] if runs else None


def action_message(detail: dict) -> str:
    """What an action run reported: its error message, else its summary ("" if neither)."""
    result = detail.get("output", {}).get("executionResult", {})
    error = result.get("errorDetails")
    return error["message"] if error else result.get("externalExecutionSummary", "")


def why(codepipeline, pipeline: str, execution: dict) -> str:
    """For a checkpoint that failed on a release: which release, which stage and action
    failed, what the action reported, and where to look next; "" for a release that
    succeeded. ``execution`` is GetPipelineExecution's ``pipelineExecution``."""
    status = execution.get("status")
    if status == "Succeeded":
        return ""
    execution_id = execution["pipelineExecutionId"]
    runs = action_executions(codepipeline, pipeline, execution_id)
    latest: dict[tuple[str, str], dict] = {}
    for run in runs:  # oldest first: a retried action's last run wins
        latest[(run["stageName"], run["actionName"])] = run
    failed = [r for r in latest.values() if r["status"] == "Failed"]
    if not failed:
        summary = execution.get("statusSummary") or execution.get("statusReason") or ""
        return f"release {execution_id} is {status}" + (f": {summary}" if summary else ".")
    lines = []
    for run in failed:
        line = f"release {execution_id} failed in {run['stageName']} › {run['actionName']}"
        message = action_message(run)
        lines.append(line + (f": {message}" if message else ""))
        function = (run.get("input", {}).get("configuration") or {}).get("FunctionName")
        if function:
            lines.append(
                f"its function's log: /aws/lambda/{function} (the pipeline view's Details, or "
                "FilterLogEvents); fix the cause, then release again or retry the stage."
            )
    return "\n  ".join(lines)


def action_table(details: list[dict]) -> pd.DataFrame:
    """ListActionExecutions' details as a table, one row per action run, oldest first: sort
    it, filter it, compare runs (``seconds`` is the run's wall time in CodePipeline)."""
    rows = [
        {
            "stage": d["stageName"],
            "action": d["actionName"],
            "provider": d["input"]["actionTypeId"]["provider"],
            "status": d["status"],
            "start": d["startTime"],
            "end": d["lastUpdateTime"],
            "message": action_message(d),
        }
        for d in details
    ]
    columns = ["stage", "action", "provider", "status", "start", "end", "message"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    frame.insert(6, "seconds", (frame["end"] - frame["start"]).dt.total_seconds())
    return frame.sort_values("start", kind="stable").reset_index(drop=True)


def action_summary(detail: dict) -> str:
    """One line per action run: stage/action: status — summary or error."""
    text = action_message(detail)
    return f"{detail['stageName']}/{detail['actionName']}: {detail['status']}" + (
        f" — {text}" if text else ""
    )


def stage_statuses(codepipeline, pipeline: str) -> dict[str, str]:
    """{stage: status of its latest execution} from GetPipelineState."""
    state = codepipeline.get_pipeline_state(name=pipeline)
    return {
        s["stageName"]: s.get("latestExecution", {}).get("status", "—")
        for s in state["stageStates"]
    }


def action_log_events(
    logs,
    function_name: str,
    started: datetime,
    ended: datetime,
    slack_ms: int = 2000,
    wait_s: float = 10.0,
    poll: float = 0.1,
) -> list[dict]:
    """The invocations (START…REPORT) the function began while the action ran.

    This is what the console's Details link opens: the log stream of the invocation. The
    REPORT line is written just after the function returns — after it reported its result, so
    possibly after the action ended — and CloudWatch takes a moment to show new events (on AWS,
    seconds): this polls FilterLogEvents every ``poll`` seconds, for at most ``wait_s``, until
    every invocation it found is complete. It may return [] if none showed up in time.
    """
    deadline = time.monotonic() + wait_s
    while True:
        events = _invocation_events(logs, function_name, started, ended, slack_ms)
        if _complete(events) or time.monotonic() > deadline:
            return events
        time.sleep(poll)


def _complete(events: list[dict]) -> bool:
    """At least one invocation, and each START has its REPORT."""
    starts = sum(e["message"].startswith("START RequestId:") for e in events)
    reports = sum(e["message"].startswith("REPORT RequestId:") for e in events)
    return starts > 0 and reports == starts


def _invocation_events(
    logs, function_name: str, started: datetime, ended: datetime, slack_ms: int
) -> list[dict]:
    group = f"/aws/lambda/{function_name}"
    start_ms = int(started.timestamp() * 1000)
    end_ms = int(ended.timestamp() * 1000) + slack_ms
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, startTime=start_ms, endTime=end_ms
        )
        events = [e for page in pages for e in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []
    events.sort(key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))
    # keep whole invocations: from a START to its REPORT
    kept, inside = [], False
    for event in events:
        message = event["message"]
        if message.startswith("START RequestId:"):
            inside = True
        if inside:
            kept.append(event)
        if message.startswith("REPORT RequestId:"):
            inside = False
    return kept


def job_data_table(example: dict, delivered: dict) -> pd.DataFrame:
    """The page's example job beside a job CodePipeline really made, one row per field.

    ``example`` is the example event's ``"CodePipeline.job"``; ``delivered`` is GetJobDetails'
    ``jobDetails`` (the same fields, plus ``actionTypeId`` and ``pipelineContext``). Secrets are
    never shown: ``artifactCredentials`` lists its field names only.
    """
    fields = [
        ("id", lambda j: j.get("id")),
        ("accountId", lambda j: j.get("accountId")),
    ] + [
        (f"data.actionConfiguration.configuration.{name}", _configuration(name))
        for name in ("FunctionName", "UserParameters")
    ]
    fields += [
        (f"data.{name}", _data(name))
        for name in (
            "inputArtifacts",
            "outputArtifacts",
            "artifactCredentials",
            "continuationToken",
            "encryptionKey",
            "actionTypeId",
            "pipelineContext",
        )
    ]
    rows = [
        {"field": field, "page's example": _shown(get(example)), "this job": _shown(get(delivered))}
        for field, get in fields
    ]
    return pd.DataFrame(rows, columns=["field", "page's example", "this job"])


def _configuration(name: str):
    return lambda job: (
        job.get("data", {}).get("actionConfiguration", {}).get("configuration", {}).get(name)
    )


def _data(name: str):
    def get(job: dict):
        value = job.get("data", {}).get(name, _ABSENT)
        if name == "artifactCredentials" and isinstance(value, dict):
            return "keys: " + ", ".join(sorted(value)) + " (values not shown)"
        return value

    return get


_ABSENT = object()


def _shown(value) -> str:
    """A short, secret-free rendering of one field's value."""
    if value is _ABSENT or value is None:
        return "(absent)"
    if isinstance(value, list):
        if not value:
            return "[] (none)"
        return "; ".join(
            f"{a.get('name')} at s3://{a['location']['s3Location']['bucketName']}/"
            f"{a['location']['s3Location']['objectKey']}"
            for a in value
        )
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def user_parameters(url: str, expect: str | None = None) -> str:
    """The health check's UserParameters: the plain URL, or JSON when a text is expected."""
    if not expect or expect == "Congratulations":
        return url
    return json.dumps({"url": url, "expect": expect})
