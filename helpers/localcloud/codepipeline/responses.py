"""CodePipeline's JSON API for the operations the engine owns; moto answers the rest."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from . import exceptions as exc
from .models import ActionRun, PipelineEngine, PipelineExecution

OWNED = {
    "StartPipelineExecution",
    "StopPipelineExecution",
    "RetryStageExecution",
    "GetPipelineState",
    "GetPipelineExecution",
    "ListPipelineExecutions",
    "ListActionExecutions",
    "PutJobSuccessResult",
    "PutJobFailureResult",
    "GetJobDetails",
}


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _clean(value: Any) -> Any:
    """Drop None values (AWS omits absent members)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def _page(items: list, params: dict, default: int = 100) -> tuple[list, str | None]:
    start = int(params.get("nextToken") or 0)
    size = int(params.get("maxResults") or default)
    page = items[start : start + size]
    more = start + size < len(items)
    return page, (str(start + size) if more else None)


class CodePipelineResponses:
    """Maps X-Amz-Target operations onto the engines (one per region)."""

    def __init__(self, engine_for):
        self.engine_for = engine_for

    def dispatch(self, operation: str, region: str, params: dict) -> dict:
        handler = getattr(self, "_" + operation)
        try:
            return _clean(handler(self.engine_for(region), params))
        except KeyError as missing:
            raise exc.validation(
                f"1 validation error detected: Value null at '{missing.args[0]}' failed to "
                "satisfy constraint: Member must not be null"
            ) from missing

    # -- running --------------------------------------------------------------------------
    def _StartPipelineExecution(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        return {"pipelineExecutionId": engine.start(p["name"])}

    def _StopPipelineExecution(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        execution_id = engine.stop(
            p["pipelineName"], p["pipelineExecutionId"], bool(p.get("abandon")), p.get("reason")
        )
        return {"pipelineExecutionId": execution_id}

    def _RetryStageExecution(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        execution_id = engine.retry(
            p["pipelineName"], p["stageName"], p["pipelineExecutionId"], p["retryMode"]
        )
        return {"pipelineExecutionId": execution_id}

    # -- jobs -----------------------------------------------------------------------------
    def _job_engine(self, job_id: str) -> PipelineEngine:
        for engine in self.engine_for.all():
            if engine.has_job(job_id):
                return engine
        raise exc.job_not_found(job_id)

    def _PutJobSuccessResult(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        self._job_engine(p["jobId"]).put_job_success(
            p["jobId"],
            p.get("continuationToken"),
            p.get("executionDetails"),
            p.get("outputVariables"),
        )
        return {}

    def _PutJobFailureResult(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        self._job_engine(p["jobId"]).put_job_failure(p["jobId"], p["failureDetails"])
        return {}

    def _GetJobDetails(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        return {"jobDetails": self._job_engine(p["jobId"]).job_details(p["jobId"])}

    # -- state ----------------------------------------------------------------------------
    def _GetPipelineState(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        name = p["name"]
        pipeline = engine._pipeline(name)
        declaration = pipeline.pipeline
        executions = engine.executions(name)
        stages = []
        for stage in declaration["stages"]:
            latest_exec = None
            for execution in executions:
                if stage["name"] in execution.stages:
                    latest_exec = execution
            state: dict[str, Any] = {
                "stageName": stage["name"],
                "inboundTransitionState": {"enabled": True},
                "actionStates": [],
            }
            if latest_exec is not None:
                state["latestExecution"] = {
                    "pipelineExecutionId": latest_exec.id,
                    "status": latest_exec.stages[stage["name"]].status,
                }
            for action in stage["actions"]:
                action_state: dict[str, Any] = {"actionName": action["name"]}
                run = engine.latest_action_run(name, stage["name"], action["name"])
                if run is not None:
                    action_state["latestExecution"] = {
                        "actionExecutionId": run.id,
                        "status": run.status,
                        "summary": run.summary,
                        "lastStatusChange": run.last_update,
                        "externalExecutionId": run.external_id,
                        "externalExecutionUrl": run.external_url,
                        "percentComplete": run.percent_complete,
                        "errorDetails": run.error,
                    }
                    if action["actionTypeId"]["category"] == "Source" and run.external_id:
                        action_state["currentRevision"] = {
                            "revisionId": run.external_id,
                            "revisionChangeId": run.external_id,
                            "created": run.last_update,
                        }
                state["actionStates"].append(action_state)
            stages.append(state)
        return {
            "pipelineName": name,
            "pipelineVersion": declaration.get("version", 1),
            "stageStates": stages,
            "created": pipeline._created,
            "updated": pipeline._updated,
        }

    def _execution_dict(self, execution: PipelineExecution) -> dict:
        return {
            "pipelineName": execution.pipeline_name,
            "pipelineVersion": execution.version,
            "pipelineExecutionId": execution.id,
            "status": execution.status,
            "statusSummary": execution.status_summary,
            "artifactRevisions": [
                {
                    "name": r["name"],
                    "revisionId": r["revisionId"],
                    "revisionSummary": r["revisionSummary"],
                    "created": r["created"],
                }
                for r in execution.revisions
            ],
            "trigger": execution.trigger,
            "executionMode": execution.execution_mode,
            "executionType": "STANDARD",
        }

    def _GetPipelineExecution(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        execution = engine.execution(p["pipelineName"], p["pipelineExecutionId"])
        return {"pipelineExecution": self._execution_dict(execution)}

    def _ListPipelineExecutions(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        executions = sorted(
            engine.executions(p["pipelineName"]), key=lambda e: e.start_time, reverse=True
        )
        page, token = _page(executions, p)
        summaries = [
            {
                "pipelineExecutionId": e.id,
                "status": e.status,
                "statusSummary": e.status_summary,
                "startTime": e.start_time,
                "lastUpdateTime": e.last_update,
                "sourceRevisions": [
                    {
                        "actionName": r["actionName"],
                        "revisionId": r["revisionId"],
                        "revisionSummary": r["revisionSummary"],
                    }
                    for r in e.revisions
                ],
                "trigger": e.trigger,
                "stopTrigger": e.stop_trigger,
                "executionMode": e.execution_mode,
                "executionType": "STANDARD",
            }
            for e in page
        ]
        return {"pipelineExecutionSummaries": summaries, "nextToken": token}

    def _action_detail(self, run: ActionRun, region: str) -> dict:
        declaration = run.declaration
        result = {
            "externalExecutionId": run.external_id,
            "externalExecutionSummary": (run.error or {}).get("message") or run.summary,
            "externalExecutionUrl": run.external_url,
            "errorDetails": run.error,
        }
        return {
            "pipelineExecutionId": run.execution.id,
            "actionExecutionId": run.id,
            "pipelineVersion": run.execution.version,
            "stageName": run.stage_name,
            "actionName": run.name,
            "startTime": run.start_time,
            "lastUpdateTime": run.last_update,
            "status": run.status,
            "input": {
                "actionTypeId": declaration["actionTypeId"],
                "configuration": declaration.get("configuration", {}),
                "resolvedConfiguration": declaration.get("configuration", {}),
                "roleArn": declaration.get("roleArn"),
                "region": declaration.get("region", region),
                "inputArtifacts": [
                    {"name": a.name, "s3location": {"bucket": a.bucket, "key": a.key}}
                    for a in run.inputs
                ],
                "namespace": declaration.get("namespace"),
            },
            "output": {
                "outputArtifacts": [
                    {"name": a.name, "s3location": {"bucket": a.bucket, "key": a.key}}
                    for a in run.outputs
                ]
                if run.status == "Succeeded"
                else [],
                "executionResult": result,
                "outputVariables": run.output_variables,
            },
        }

    def _ListActionExecutions(self, engine: PipelineEngine, p: dict) -> dict:  # noqa: N802
        execution_id = (p.get("filter") or {}).get("pipelineExecutionId")
        runs = sorted(
            engine.action_runs(p["pipelineName"], execution_id),
            key=lambda r: r.start_time,
            reverse=True,
        )
        page, token = _page(runs, p)
        return {
            "actionExecutionDetails": [self._action_detail(r, engine.region) for r in page],
            "nextToken": token,
        }


def parse(body: bytes) -> dict:
    try:
        params = json.loads(body or b"{}")
    except ValueError as error:
        raise exc.validation(f"Request body is not valid JSON: {error}") from error
    if not isinstance(params, dict):
        raise exc.validation("Request body must be a JSON object")
    return params
