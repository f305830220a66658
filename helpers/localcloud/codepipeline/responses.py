"""CodePipeline's JSON API (awsJson1_1): read the parameters, call the engine, render.

Every request is checked against botocore's model first — JSON types (SerializationException)
then lengths, patterns, ranges, enums and required members (ValidationException, AWS's
wording) — so each method below can read its parameters as the model declares them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from .. import validation
from . import exceptions as exc
from .models import PipelineEngine
from .paging import paginate

SERVICE = "codepipeline"
OPERATIONS = frozenset(
    {
        "CreatePipeline",
        "UpdatePipeline",
        "GetPipeline",
        "DeletePipeline",
        "ListPipelines",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
        "StartPipelineExecution",
        "StopPipelineExecution",
        "RetryStageExecution",
        "RollbackStage",
        "DisableStageTransition",
        "EnableStageTransition",
        "OverrideStageCondition",
        "GetPipelineState",
        "GetPipelineExecution",
        "ListPipelineExecutions",
        "ListActionExecutions",
        "PutJobSuccessResult",
        "PutJobFailureResult",
        "GetJobDetails",
    }
)
JSON_TYPES = {
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
    "string": (str,),
    "blob": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float, str),
}


class CodePipelineResponses:
    """One method per operation, named after it; ``dispatch`` picks it."""

    def __init__(self, engine_for):
        self.engine_for = engine_for  # region -> PipelineEngine; .all() -> every engine

    def handles(self, operation: str) -> bool:
        return operation in OPERATIONS

    def dispatch(self, operation: str, region: str, body: bytes) -> dict:
        params = parse(body)
        shape = validation.input_shape(SERVICE, operation)
        wrong = _wrong_type(shape, params, "")
        if wrong:
            raise exc.SerializationException(wrong)
        problems = validation.problems(SERVICE, operation, params)
        if problems:
            raise exc.ValidationException.of(problems)
        handler = getattr(self, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        return _clean(handler(self.engine_for(region), params))

    # -- pipelines --------------------------------------------------------------------------
    def create_pipeline(self, engine: PipelineEngine, p: dict) -> dict:
        pipeline = engine.create_pipeline(p["pipeline"], p.get("tags"))
        return {"pipeline": pipeline.declaration(1), "tags": pipeline.tag_list()}

    def update_pipeline(self, engine: PipelineEngine, p: dict) -> dict:
        pipeline = engine.update_pipeline(p["pipeline"])
        return {"pipeline": pipeline.declaration()}

    def get_pipeline(self, engine: PipelineEngine, p: dict) -> dict:
        declaration, metadata = engine.get_pipeline(p["name"], p.get("version"))
        return {"pipeline": declaration, "metadata": metadata}

    def delete_pipeline(self, engine: PipelineEngine, p: dict) -> dict:
        engine.delete_pipeline(p["name"])
        return {}

    def list_pipelines(self, engine: PipelineEngine, p: dict) -> dict:
        page, token = paginate(
            engine.list_pipelines(),
            lambda pipeline: (pipeline.name,),
            "ListPipelines",
            p.get("nextToken"),
            p.get("maxResults"),
        )
        return {"pipelines": [pipeline.summary() for pipeline in page], "nextToken": token}

    def tag_resource(self, engine: PipelineEngine, p: dict) -> dict:
        engine.tag_resource(p["resourceArn"], p["tags"])
        return {}

    def untag_resource(self, engine: PipelineEngine, p: dict) -> dict:
        engine.untag_resource(p["resourceArn"], p["tagKeys"])
        return {}

    def list_tags_for_resource(self, engine: PipelineEngine, p: dict) -> dict:
        page, token = paginate(
            engine.list_tags_for_resource(p["resourceArn"]),
            lambda tag: (tag["key"],),
            f"ListTagsForResource {p['resourceArn']}",
            p.get("nextToken"),
            p.get("maxResults"),
        )
        return {"tags": page, "nextToken": token}

    # -- executions -------------------------------------------------------------------------
    def start_pipeline_execution(self, engine: PipelineEngine, p: dict) -> dict:
        if p.get("sourceRevisions"):
            raise exc.ValidationException(
                "The local cloud does not emulate sourceRevisions: an execution runs the "
                "latest revision of each source. Run it on AWS (WORKBOOK_TARGET=aws) to "
                "override a source revision."
            )
        execution_id = engine.start(
            p["name"],
            variables=p.get("variables"),
            client_request_token=p.get("clientRequestToken"),
        )
        return {"pipelineExecutionId": execution_id}

    def stop_pipeline_execution(self, engine: PipelineEngine, p: dict) -> dict:
        execution_id = engine.stop(
            p["pipelineName"], p["pipelineExecutionId"], bool(p.get("abandon")), p.get("reason")
        )
        return {"pipelineExecutionId": execution_id}

    def retry_stage_execution(self, engine: PipelineEngine, p: dict) -> dict:
        execution_id = engine.retry(
            p["pipelineName"], p["stageName"], p["pipelineExecutionId"], p["retryMode"]
        )
        return {"pipelineExecutionId": execution_id}

    def rollback_stage(self, engine: PipelineEngine, p: dict) -> dict:
        execution_id = engine.rollback_stage(
            p["pipelineName"], p["stageName"], p["targetPipelineExecutionId"]
        )
        return {"pipelineExecutionId": execution_id}

    def disable_stage_transition(self, engine: PipelineEngine, p: dict) -> dict:
        engine.set_transition(
            p["pipelineName"], p["stageName"], p["transitionType"], False, p["reason"]
        )
        return {}

    def enable_stage_transition(self, engine: PipelineEngine, p: dict) -> dict:
        engine.set_transition(p["pipelineName"], p["stageName"], p["transitionType"], True)
        return {}

    def override_stage_condition(self, engine: PipelineEngine, p: dict) -> dict:
        engine.override_stage_condition(p["pipelineName"], p["stageName"], p["conditionType"])
        return {}

    def get_pipeline_state(self, engine: PipelineEngine, p: dict) -> dict:
        return engine.pipeline_state(p["name"])

    def get_pipeline_execution(self, engine: PipelineEngine, p: dict) -> dict:
        execution = engine.execution(p["pipelineName"], p["pipelineExecutionId"])
        return {"pipelineExecution": execution.to_dict()}

    def list_pipeline_executions(self, engine: PipelineEngine, p: dict) -> dict:
        stage = ((p.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
        page, token = paginate(
            engine.executions(p["pipelineName"], succeeded_in_stage=stage),
            lambda execution: (-execution.sequence,),
            f"ListPipelineExecutions {p['pipelineName']} {stage}",
            p.get("nextToken"),
            p.get("maxResults"),
        )
        return {"pipelineExecutionSummaries": [e.to_summary() for e in page], "nextToken": token}

    def list_action_executions(self, engine: PipelineEngine, p: dict) -> dict:
        where = p.get("filter") or {}
        latest = where.get("latestInPipelineExecution") or {}
        execution_id = where.get("pipelineExecutionId") or latest.get("pipelineExecutionId")
        runs = engine.action_runs(
            p["pipelineName"], execution_id, latest_only=latest.get("startTimeRange") == "Latest"
        )
        page, token = paginate(
            runs,
            lambda run: (-run.start_time.timestamp(), run.id),
            f"ListActionExecutions {p['pipelineName']} {execution_id}",
            p.get("nextToken"),
            p.get("maxResults"),
        )
        return {"actionExecutionDetails": [run.to_detail() for run in page], "nextToken": token}

    # -- jobs -------------------------------------------------------------------------------
    def _job_engine(self, job_id: str) -> PipelineEngine:
        """Job ids are unique across regions: the engine of the region that opened it."""
        for engine in self.engine_for.all():
            if engine.has_job(job_id):
                return engine
        raise exc.JobNotFoundException(job_id)

    def put_job_success_result(self, engine: PipelineEngine, p: dict) -> dict:
        self._job_engine(p["jobId"]).put_job_success(
            p["jobId"],
            p.get("continuationToken"),
            p.get("executionDetails"),
            p.get("outputVariables"),
        )
        return {}

    def put_job_failure_result(self, engine: PipelineEngine, p: dict) -> dict:
        self._job_engine(p["jobId"]).put_job_failure(p["jobId"], p["failureDetails"])
        return {}

    def get_job_details(self, engine: PipelineEngine, p: dict) -> dict:
        return {"jobDetails": self._job_engine(p["jobId"]).job_details(p["jobId"])}


def parse(body: bytes) -> dict:
    """The request's JSON object, or AWS's SerializationException."""
    try:
        params = json.loads(body or b"{}")
    except ValueError as error:
        raise exc.SerializationException(f"The request body is not valid JSON: {error}") from None
    if not isinstance(params, dict):
        raise exc.SerializationException("The request body must be a JSON object")
    return params


def _wrong_type(shape, value: Any, path: str) -> str | None:
    """Where ``value`` has a JSON type the model's ``shape`` can't hold, said once."""
    if shape is None or value is None:
        return None
    expected = JSON_TYPES.get(shape.type_name, (object,))
    if not isinstance(value, expected) or (bool in expected) != isinstance(value, bool):
        where = f" at '{path}'" if path else ""
        return f"Value{where} must be of type {shape.type_name}, not {type(value).__name__}"
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            problem = _wrong_type(member, value.get(name), _join(path, name))
            if problem:
                return problem
    elif shape.type_name == "list":
        for index, item in enumerate(value, start=1):
            problem = _wrong_type(shape.member, item, f"{path}.{index}.member")
            if problem:
                return problem
    elif shape.type_name == "map":
        for key, item in value.items():
            problem = _wrong_type(shape.value, item, f"{path}.{key}")
            if problem:
                return problem
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _clean(value: Any) -> Any:
    """Drop None values (AWS omits absent members); timestamps as epoch seconds."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    return value
