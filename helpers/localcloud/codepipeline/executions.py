"""What a pipeline execution is made of — its stages, action runs and artifacts — and how the
state APIs show each (``to_dict`` and friends): plain records, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .variables import EXECUTION_NAMESPACE, PIPELINE_NAMESPACE, Scope


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Artifact:
    name: str
    bucket: str
    key: str
    revision: str | None = None

    def location(self) -> dict:
        """As a job's event shows it."""
        return {"type": "S3", "s3Location": {"bucketName": self.bucket, "objectKey": self.key}}

    def to_dict(self) -> dict:
        """As ListActionExecutions shows it."""
        return {"name": self.name, "s3location": {"bucket": self.bucket, "key": self.key}}


@dataclass
class ActionRun:
    """One action execution: one row of ListActionExecutions (a retry is a new one)."""

    id: str
    execution: PipelineExecution
    stage_name: str
    declaration: dict
    region: str
    status: str = "InProgress"  # InProgress | Succeeded | Failed | Abandoned
    start_time: datetime = field(default_factory=utcnow)
    last_update: datetime = field(default_factory=utcnow)
    resolved_configuration: dict | None = None
    summary: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    entity_url: str | None = None
    percent_complete: int | None = None
    error: dict | None = None
    output_variables: dict[str, str] = field(default_factory=dict)
    inputs: list[Artifact] = field(default_factory=list)
    outputs: list[Artifact] = field(default_factory=list)
    current_job: Any = None  # the Lambda action's open job (jobs.Job)

    @property
    def name(self) -> str:
        return self.declaration["name"]

    @property
    def kind(self) -> tuple[str, str, str]:
        type_id = self.declaration["actionTypeId"]
        return type_id["category"], type_id["owner"], type_id["provider"]

    @property
    def configuration(self) -> dict:
        return self.declaration.get("configuration") or {}

    @property
    def namespace(self) -> str | None:
        return self.declaration.get("namespace")

    def touch(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.last_update = utcnow()

    def to_detail(self) -> dict:
        """A row of ListActionExecutions."""
        result = {
            "externalExecutionId": self.external_id,
            "externalExecutionSummary": (self.error or {}).get("message") or self.summary,
            "externalExecutionUrl": self.external_url,
            "errorDetails": self.error,
        }
        resolved = self.resolved_configuration
        return {
            "pipelineExecutionId": self.execution.id,
            "actionExecutionId": self.id,
            "pipelineVersion": self.execution.version,
            "stageName": self.stage_name,
            "actionName": self.name,
            "startTime": self.start_time,
            "lastUpdateTime": self.last_update,
            "status": self.status,
            "input": {
                "actionTypeId": self.declaration["actionTypeId"],
                "configuration": self.configuration,
                "resolvedConfiguration": resolved if resolved is not None else self.configuration,
                "roleArn": self.declaration.get("roleArn"),
                "region": self.declaration.get("region", self.region),
                "inputArtifacts": [a.to_dict() for a in self.inputs],
                "namespace": self.namespace,
            },
            "output": {
                "outputArtifacts": [a.to_dict() for a in self.outputs]
                if self.status == "Succeeded"
                else [],
                "executionResult": result,
                "outputVariables": self.output_variables,
            },
        }

    def to_state(self) -> dict:
        """The latestExecution of an action in GetPipelineState."""
        return {
            "actionExecutionId": self.id,
            "status": self.status,
            "summary": self.summary,
            "lastStatusChange": self.last_update,
            "externalExecutionId": self.external_id,
            "externalExecutionUrl": self.external_url,
            "percentComplete": self.percent_complete,
            "errorDetails": self.error,
        }


@dataclass
class StageRun:
    name: str
    status: str = "InProgress"
    actions: dict[str, ActionRun] = field(default_factory=dict)


@dataclass
class StageRetries:
    """The retries of one stage of one execution: GetPipelineState's retryStageMetadata."""

    automatic: int = 0
    manual: int = 0
    latest: str | None = None  # AutomatedStageRetry | ManualStageRetry

    def to_dict(self) -> dict:
        return {
            "autoStageRetryAttempt": self.automatic or None,
            "manualStageRetryAttempt": self.manual or None,
            "latestRetryTrigger": self.latest,
        }


@dataclass
class PipelineExecution:
    id: str
    pipeline_name: str
    version: int
    declaration: dict
    trigger: dict
    sequence: int  # the order executions were started in: QUEUED mode's queue
    variables: dict[str, str] = field(default_factory=dict)  # pipeline-level, resolved
    status: str = "InProgress"
    status_summary: str | None = None
    start_time: datetime = field(default_factory=utcnow)
    last_update: datetime = field(default_factory=utcnow)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    namespaces: Scope = field(default_factory=dict)  # action namespace -> output variables
    revisions: list[dict] = field(default_factory=list)
    stages: dict[str, StageRun] = field(default_factory=dict)
    action_history: list[ActionRun] = field(default_factory=list)  # every attempt, retries too
    waiting_for: str | None = None  # the stage it waits to enter
    stop_requested: bool = False
    abandon: bool = False
    stop_trigger: dict | None = None
    updated_to: int | None = None  # the pipeline version an UpdatePipeline made meanwhile
    execution_type: str = "STANDARD"  # STANDARD | ROLLBACK
    rollback_target: str | None = None  # a ROLLBACK execution's target execution id
    retries: dict[str, StageRetries] = field(default_factory=dict)  # stage name -> retries

    @property
    def execution_mode(self) -> str:
        return self.declaration.get("executionMode", "SUPERSEDED")

    def touch(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.last_update = utcnow()

    def scope(self) -> Scope:
        """What ``#{NAMESPACE.NAME}`` can name in this execution now."""
        return {
            **self.namespaces,
            EXECUTION_NAMESPACE: {"PipelineExecutionId": self.id},
            PIPELINE_NAMESPACE: dict(self.variables),
        }

    def to_dict(self) -> dict:
        """GetPipelineExecution's pipelineExecution."""
        return {
            "pipelineName": self.pipeline_name,
            "pipelineVersion": self.version,
            "pipelineExecutionId": self.id,
            "status": self.status,
            "statusSummary": self.status_summary,
            "artifactRevisions": [
                {k: r[k] for k in ("name", "revisionId", "revisionSummary", "created")}
                for r in self.revisions
            ],
            "variables": [
                {"name": name, "resolvedValue": value} for name, value in self.variables.items()
            ],
            "trigger": self.trigger,
            "executionMode": self.execution_mode,
            "executionType": self.execution_type,
            "rollbackMetadata": self.rollback_metadata(),
        }

    def rollback_metadata(self) -> dict | None:
        if self.rollback_target is None:
            return None
        return {"rollbackTargetPipelineExecutionId": self.rollback_target}

    def to_summary(self) -> dict:
        """A row of ListPipelineExecutions."""
        return {
            "pipelineExecutionId": self.id,
            "status": self.status,
            "statusSummary": self.status_summary,
            "startTime": self.start_time,
            "lastUpdateTime": self.last_update,
            "sourceRevisions": [
                {k: r[k] for k in ("actionName", "revisionId", "revisionSummary")}
                for r in self.revisions
            ],
            "trigger": self.trigger,
            "stopTrigger": self.stop_trigger,
            "executionMode": self.execution_mode,
            "executionType": self.execution_type,
            "rollbackMetadata": self.rollback_metadata(),
        }

    def inbound(self) -> dict:
        """As a stage's inboundExecution shows it: waiting to enter."""
        return {"pipelineExecutionId": self.id, "status": self.status, "type": self.execution_type}
