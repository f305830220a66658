"""The CodePipeline backend of one region: plain objects, no HTTP (moto's ``models.py``).

``PipelineEngine`` answers every CodePipeline operation the local cloud emulates, one method
each, by putting together its parts: the pipeline store (declarations, versions, tags,
transitions — ``pipelines``), the declaration rules (``declarations``), the scheduler that runs
executions (``scheduler``, with the action providers of ``providers``), the job board of the
Lambda actions (``jobs``) and the poller that starts releases on source changes
(``polling``). ``responses.py`` maps the JSON API onto it.
"""

from __future__ import annotations

import threading

from .. import arns, backends
from . import declarations
from . import exceptions as exc
from .executions import ActionRun, PipelineExecution
from .jobs import NO_RESULT_MESSAGE, JobBoard
from .pipelines import Pipeline, PipelineStore, utcnow
from .polling import SourcePoller, poll_interval_from_environment
from .scheduler import PIPELINE_SERVICE, Scheduler
from .variables import pipeline_variables

__all__ = ["NO_RESULT_MESSAGE", "PipelineEngine"]


class PipelineEngine:
    """Keeps and runs the pipelines of one region of the local cloud."""

    def __init__(
        self,
        region: str,
        runtime,
        job_timeout_s: float = 60.0,
        account_id: str = backends.ACCOUNT_ID,
        issue_credentials=None,
        enforce_iam: bool = False,
        poll_interval_s: float | None = None,
    ):
        self.region = region
        self.account_id = account_id
        self.enforce_iam = enforce_iam
        self._lock = threading.RLock()
        self.store = PipelineStore(region, account_id)
        self.jobs = JobBoard(self._lock)
        self.scheduler = Scheduler(
            region,
            account_id,
            runtime,
            self.jobs,
            job_timeout_s,
            self._lock,
            issue_credentials=issue_credentials,
            enforce_iam=enforce_iam,
            inbound_enabled=lambda name, stage: self.store.get(name).inbound_enabled(stage),
        )
        self.poller = SourcePoller(
            poll_interval_s or poll_interval_from_environment(), self._lock, self._source_changed
        )
        self._request_tokens: dict[tuple[str, str], str] = {}

    @property
    def _caller(self) -> str:
        """Who the request came from, as triggers and transitions show it."""
        return f"arn:aws:iam::{self.account_id}:root"

    # -- pipelines --------------------------------------------------------------------------
    def create_pipeline(self, declaration: dict, tags: list[dict] | None = None) -> Pipeline:
        """Check and keep a new pipeline, then run it once, as AWS does."""
        declarations.check(declaration, self.region)
        self._check_service_role(declaration["roleArn"])
        pipeline = self.store.add(declaration, tags)
        self.poller.watch(pipeline.name, pipeline.latest)  # the version there now is seen
        self.start(pipeline.name, trigger_type="CreatePipeline")
        return pipeline

    def update_pipeline(self, declaration: dict) -> Pipeline:
        """A new version; executions in progress fail once their running actions end."""
        if not self.store.exists(declaration["name"]):
            raise exc.InvalidStructureException(
                f"Account '{self.account_id}' does not have a pipeline with name "
                f"'{declaration['name']}': create it with CreatePipeline"
            )
        declarations.check(declaration, self.region)
        self._check_service_role(declaration["roleArn"])
        pipeline = self.store.replace(declaration)
        self.scheduler.pipeline_updated(pipeline.name, pipeline.version)
        self.poller.watch(pipeline.name, pipeline.latest)
        return pipeline

    def _check_service_role(self, role: str) -> None:
        """CodePipeline must be able to assume the service role (its trust policy)."""
        if not self.enforce_iam:
            return
        from ..access.policies import role_trust_policy, trusts_service

        trust = role_trust_policy(self.account_id, role)
        context = {"aws:SourceAccount": self.account_id}
        if trust is None or not trusts_service(trust, PIPELINE_SERVICE, context):
            raise exc.InvalidStructureException(
                f"CodePipeline is not authorized to perform AssumeRole on role {role}"
            )

    def get_pipeline(self, name: str, version: int | None = None) -> tuple[dict, dict]:
        """(declaration of ``version`` or the latest, metadata)."""
        pipeline = self.store.get(name)
        return pipeline.declaration(version), pipeline.metadata()

    def delete_pipeline(self, name: str) -> None:
        """Drop the pipeline and abandon what runs (no error if there is none, as on AWS)."""
        if self.store.remove(name) is not None:
            self.poller.forget(name)
            self.scheduler.forget(name)

    def list_pipelines(self) -> list[Pipeline]:
        return self.store.all()

    def tag_resource(self, arn: str, tags: list[dict]) -> None:
        self.store.tag(arn, tags)

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        self.store.untag(arn, keys)

    def list_tags_for_resource(self, arn: str) -> list[dict]:
        return self.store.by_arn(arn).tag_list()

    # -- executions -------------------------------------------------------------------------
    def start(
        self,
        name: str,
        trigger_type: str = "StartPipelineExecution",
        variables: list[dict] | None = None,
        client_request_token: str | None = None,
        trigger_detail: str | None = None,
    ) -> str:
        """Start an execution of the latest version; the same clientRequestToken gives the
        execution it started before."""
        pipeline = self.store.get(name)
        declaration = pipeline.declaration()
        with self._lock:
            if client_request_token and (name, client_request_token) in self._request_tokens:
                return self._request_tokens[(name, client_request_token)]
            values = pipeline_variables(
                name,
                declaration.get("variables") or [],
                variables,
                declaration["pipelineType"],
                require_all=trigger_type == "StartPipelineExecution",
            )
            trigger = {"triggerType": trigger_type, "triggerDetail": trigger_detail or self._caller}
            execution = self.scheduler.start(name, declaration, trigger, values)
            if client_request_token:
                self._request_tokens[(name, client_request_token)] = execution.id
        return execution.id

    def _source_changed(self, name: str, action: str) -> None:
        """The poller saw a new version of a source's object."""
        self.start(name, trigger_type="PollForSourceChanges", trigger_detail=action)

    def stop(self, name: str, execution_id: str, abandon: bool, reason: str | None) -> str:
        self.store.get(name)
        return self.scheduler.stop(name, execution_id, abandon, reason)

    def retry(self, name: str, stage_name: str, execution_id: str, mode: str) -> str:
        self.store.get(name)
        return self.scheduler.retry(name, stage_name, execution_id, mode)

    def rollback_stage(self, name: str, stage_name: str, target_id: str) -> str:
        """RollbackStage: a ROLLBACK execution reruns the stage as ``target_id`` ran it (user
        guide, "Considerations for rollbacks": not a source stage; a target started with the
        current pipeline version, not itself a rollback)."""
        pipeline = self.store.get(name)
        declaration = pipeline.declaration()
        names = [stage["name"] for stage in declaration["stages"]]
        if stage_name not in names:
            raise exc.StageNotFoundException(stage_name)
        target = self.scheduler.execution(name, target_id)
        with self._lock:
            if names.index(stage_name) == 0:
                raise exc.UnableToRollbackStageException(
                    f"Stage {stage_name} is the source stage of pipeline {name}: a source stage "
                    "can't be rolled back."
                )
            if target.execution_type == "ROLLBACK":
                raise exc.UnableToRollbackStageException(
                    f"Pipeline execution {target_id} is a rollback execution: a stage can be "
                    "rolled back only to a STANDARD execution."
                )
            if target.version != pipeline.version:
                raise exc.PipelineExecutionOutdatedException(
                    f"Pipeline execution {target_id} was started with version {target.version} "
                    f"of pipeline {name}, which is at version {pipeline.version} now: a stage "
                    "can be rolled back only to an execution started with the current version."
                )
            stage = target.stages.get(stage_name)
            if stage is None or stage.status != "Succeeded":
                raise exc.UnableToRollbackStageException(
                    f"Stage {stage_name} did not succeed in pipeline execution {target_id}: a "
                    "stage can be rolled back only to an execution that succeeded in it."
                )
            if self.scheduler.stage_running(name, stage_name):
                raise exc.UnableToRollbackStageException(
                    f"Stage {stage_name} of pipeline {name} is running: roll it back once its "
                    "execution has ended (or stop it)."
                )
            trigger = {"triggerType": "ManualRollback", "triggerDetail": self._caller}
            execution = self.scheduler.rollback(name, declaration, stage_name, target, trigger)
        return execution.id

    def set_transition(
        self, name: str, stage_name: str, kind: str, enabled: bool, reason: str | None = None
    ) -> None:
        """DisableStageTransition/EnableStageTransition of a stage's inbound transition: an
        execution waits before a disabled one. Outbound transitions are refused (the local
        cloud holds executions only at a stage's entrance)."""
        pipeline = self.store.get(name)
        names = [stage["name"] for stage in pipeline.latest["stages"]]
        if stage_name not in names:
            raise exc.StageNotFoundException(stage_name)
        index = names.index(stage_name)
        if kind != "Inbound":
            after = (
                f"disable the inbound transition of the stage after it ({names[index + 1]})"
                if index + 1 < len(names)
                else "it is the last stage"
            )
            raise exc.ValidationException(
                f"The local cloud handles Inbound transitions only: to hold executions after "
                f"stage {stage_name}, {after}."
            )
        if index == 0:
            raise exc.ValidationException(
                f"Stage {stage_name} is the first stage of pipeline {name}: it has no inbound "
                "transition."
            )
        state = {"enabled": enabled, "lastChangedBy": self._caller, "lastChangedAt": utcnow()}
        if not enabled:
            state["disabledReason"] = reason
        with self._lock:
            self.store.set_transition(name, stage_name, state)
        self.scheduler.wake()

    def override_stage_condition(self, name: str, stage_name: str, condition_type: str) -> None:
        """Nothing to override: stage conditions are refused at CreatePipeline/UpdatePipeline."""
        pipeline = self.store.get(name)
        if stage_name not in [stage["name"] for stage in pipeline.latest["stages"]]:
            raise exc.StageNotFoundException(stage_name)
        raise exc.ConditionNotOverridableException(
            f"Stage {stage_name} of pipeline {name} has no {condition_type} condition to "
            "override: the local cloud can't evaluate stage conditions, so CreatePipeline and "
            "UpdatePipeline refuse them."
        )

    def execution(self, name: str, execution_id: str) -> PipelineExecution:
        self.store.get(name)
        return self.scheduler.execution(name, execution_id)

    def executions(self, name: str, succeeded_in_stage: str | None = None) -> list:
        """Newest first; only those whose ``succeeded_in_stage`` succeeded, if given."""
        self.store.get(name)
        executions = self.scheduler.executions(name)
        if succeeded_in_stage is not None:
            executions = [
                e
                for e in executions
                if e.stages.get(succeeded_in_stage) is not None
                and e.stages[succeeded_in_stage].status == "Succeeded"
            ]
        return sorted(executions, key=lambda e: e.sequence, reverse=True)

    def action_runs(
        self, name: str, execution_id: str | None = None, latest_only: bool = False
    ) -> list[ActionRun]:
        """Every action run of the pipeline, or of one execution; newest first.
        ``latest_only``: the latest attempt of each action only."""
        self.store.get(name)
        if execution_id is not None:
            executions = [self.scheduler.execution(name, execution_id)]
        else:
            executions = self.scheduler.executions(name)
        with self._lock:
            runs = [run for execution in executions for run in execution.action_history]
        runs.sort(key=lambda r: r.start_time, reverse=True)
        if latest_only:
            seen: set[tuple[str, str, str]] = set()
            latest = []
            for run in runs:
                key = (run.execution.id, run.stage_name, run.name)
                if key not in seen:
                    seen.add(key)
                    latest.append(run)
            runs = latest
        return runs

    def pipeline_state(self, name: str) -> dict:
        """GetPipelineState: each stage's latest execution, inbound executions and actions."""
        pipeline = self.store.get(name)
        declaration = pipeline.latest
        latest_runs: dict[tuple[str, str], ActionRun] = {}
        for run in reversed(self.action_runs(name)):
            latest_runs[(run.stage_name, run.name)] = run
        stages = []
        for index, stage in enumerate(declaration["stages"]):
            latest = self.scheduler.latest_for_stage(name, stage["name"])
            inbound = self.scheduler.inbound(name, stage["name"])
            with self._lock:
                retries = latest.retries.get(stage["name"]) if latest is not None else None
            stages.append(
                {
                    "stageName": stage["name"],
                    "inboundExecution": inbound[0].inbound() if inbound else None,
                    "inboundExecutions": [e.inbound() for e in inbound] if inbound else None,
                    # the first stage has no inbound transition
                    "inboundTransitionState": pipeline.transition_state(stage["name"])
                    if index
                    else None,
                    "actionStates": [
                        _action_state(action, latest_runs.get((stage["name"], action["name"])))
                        for action in stage["actions"]
                    ],
                    "latestExecution": {
                        "pipelineExecutionId": latest.id,
                        "status": latest.stages[stage["name"]].status,
                        "type": latest.execution_type,
                    }
                    if latest is not None
                    else None,
                    "retryStageMetadata": retries.to_dict() if retries is not None else None,
                }
            )
        return {
            "pipelineName": name,
            "pipelineVersion": pipeline.version,
            "stageStates": stages,
            "created": pipeline.created,
            "updated": pipeline.updated,
        }

    # -- across a restart (persistence) -----------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        """Held while the engine's records are copied for saving."""
        return self._lock

    def in_progress(self) -> bool:
        """Whether an execution is running (or stopping)."""
        return self.scheduler.in_progress()

    def saved_state(self) -> tuple[dict, list[PipelineExecution]]:
        """What a restart must keep (call it holding ``lock``): the pipelines with every
        version, their tags and transitions, the idempotency tokens, what each polled source
        last showed, and every execution with its action runs and their last jobs."""
        return (
            {
                "pipelines": self.store.snapshot(),
                "request_tokens": dict(self._request_tokens),
                "source_revisions": self.poller.snapshot(),
            },
            self.scheduler.all_executions(),
        )

    def restore_state(self, saved: dict, executions: list[PipelineExecution]) -> None:
        """Take back what ``saved_state`` kept. Executions that were running end now, Failed
        (or Stopped), saying why: a new process can't resume them."""
        with self._lock:
            self.store.restore(saved.get("pipelines", {}))
            self._request_tokens.update(saved.get("request_tokens", {}))
            self.poller.restore(saved.get("source_revisions", {}))
            for pipeline in self.store.all():
                self.poller.watch(pipeline.name, pipeline.latest)
            self.scheduler.restore(executions)
            self.jobs.restore(
                run.current_job
                for execution in executions
                for run in execution.action_history
                if run.current_job is not None
            )

    # -- jobs -------------------------------------------------------------------------------
    def has_job(self, job_id: str) -> bool:
        return self.jobs.has(job_id)

    def put_job_success(
        self,
        job_id: str,
        continuation_token: str | None = None,
        execution_details: dict | None = None,
        output_variables: dict | None = None,
    ) -> None:
        self.jobs.succeed(job_id, continuation_token, execution_details, output_variables)

    def put_job_failure(self, job_id: str, failure_details: dict) -> None:
        self.jobs.fail(job_id, failure_details)

    def job_details(self, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        name = job.action.execution.pipeline_name
        pipeline_arn = arns.pipeline_arn(self.region, self.account_id, name)
        with self._lock:
            return job.to_details(self.account_id, pipeline_arn)


def _action_state(action: dict, run: ActionRun | None) -> dict:
    state: dict = {"actionName": action["name"]}
    if run is None:
        return state
    state["latestExecution"] = run.to_state()
    state["entityUrl"] = run.entity_url
    if run.kind[0] == "Source" and run.external_id:
        state["currentRevision"] = {
            "revisionId": run.external_id,
            "revisionChangeId": run.external_id,
            "created": run.last_update,
        }
    return state
