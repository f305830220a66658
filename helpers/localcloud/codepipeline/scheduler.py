"""The scheduler: runs executions through their pipeline, as the execution mode says.

Stages run in order. A stage runs one execution at a time (it is locked while the execution is
in it); which waiting execution enters next depends on the mode ("How pipeline executions
work"): SUPERSEDED — the newest, older waiting ones are superseded; QUEUED — the oldest, in the
order they were started; PARALLEL — no locks, every execution runs independently. An execution
waits before a stage whose inbound transition is disabled, as one waiting for the stage's lock
does (a newer one supersedes it in SUPERSEDED mode), and enters once it is enabled. In a stage,
actions run by runOrder, the same runOrder in parallel; artifacts pass from action to action by
name through the artifact store. An UpdatePipeline lets running actions finish, then fails the
stage and the execution (user guide, "Edit a pipeline").

A stage that fails does what its onFailure says (user guide, "Roll back or retry stages"):

- RETRY: it is retried once, automatically — "You can only configure automatic retry on stage
  failure for one retry attempt" — in its retryConfiguration's retryMode: FAILED_ACTIONS reruns
  the failed actions (and those after them that never ran), ALL_ACTIONS the whole stage. AWS
  documents no default retryMode: here it is ALL_ACTIONS. A manual RetryStageExecution doesn't
  give the stage another automatic attempt. GetPipelineState shows both in retryStageMetadata.
- ROLLBACK: the execution fails, and a rollback execution (executionType ROLLBACK, trigger
  AutomatedRollback) reruns the stage alone with the artifacts, source revisions and variables
  of the stage's most recent successful execution — a STANDARD one started with the same
  pipeline version; with none, nothing is rolled back. A failing rollback execution isn't
  rolled back again.
- FAIL, the default: the execution fails.
"""

from __future__ import annotations

import itertools
import secrets
import string
import sys
import threading
import traceback
import uuid
from datetime import timedelta
from itertools import groupby

from .. import arns, backends
from . import exceptions as exc
from .executions import ActionRun, Artifact, PipelineExecution, StageRetries, StageRun, utcnow
from .jobs import JobBoard
from .providers import PROVIDERS, ActionFailed, ActionServices
from .variables import (
    MAX_CONFIGURATION_VALUE,
    MAX_RESOLVED_CONFIGURATION_BYTES,
    Unresolved,
    resolve,
    size,
)

ALNUM = string.ascii_letters + string.digits
UNRESOLVED_MESSAGE = (
    "An action in this pipeline failed because one or more variables could not be resolved: "
    "Action name={name}."
)
INTERRUPTED_MESSAGE = (
    "The local cloud stopped while this execution was in progress (make stop, a crash or a "
    "reboot), so it ended when the local cloud started again: an execution can't resume after "
    "a restart. Start a new execution, or retry the failed stage."
)
UPDATED_MESSAGE = (
    "The pipeline was updated (version {version}) while this execution was in progress: its "
    "running actions finished, then the execution failed. Start a new execution to run the "
    "new version."
)

# The principal CodePipeline assumes a pipeline's service role as.
PIPELINE_SERVICE = "codepipeline.amazonaws.com"
DEFAULT_RETRY_MODE = "ALL_ACTIONS"  # onFailure RETRY without retryConfiguration.retryMode


def on_failure(stage: dict) -> str:
    """What a stage does when it fails: RETRY, ROLLBACK or FAIL."""
    return (stage.get("onFailure") or {}).get("result") or "FAIL"


def automatic_retry_mode(stage: dict) -> str:
    configuration = (stage.get("onFailure") or {}).get("retryConfiguration") or {}
    return configuration.get("retryMode") or DEFAULT_RETRY_MODE


def internal_error() -> str:
    """What an action or execution shows when the engine itself failed: the traceback goes to
    the local cloud's log, the learner sees where to find it (never an internal repr)."""
    traceback.print_exc(file=sys.stderr)
    return (
        "The action failed because the local cloud's pipeline engine hit an internal error; "
        ".localcloud/localcloud.log has the details. Release again, or run it against AWS "
        "(WORKBOOK_TARGET=aws)."
    )


class Scheduler:
    """Runs the executions of the pipelines of one region."""

    def __init__(
        self,
        region: str,
        account_id: str,
        runtime,
        jobs: JobBoard,
        job_timeout_s: float,
        lock: threading.RLock,
        issue_credentials=None,
        enforce_iam: bool = False,
        inbound_enabled=None,
    ):
        self.region, self.account_id = region, account_id
        self.jobs = jobs
        self.enforce_iam = enforce_iam
        # (pipeline name, stage name) -> whether the stage's inbound transition is enabled
        self._inbound_enabled = inbound_enabled or (lambda name, stage: True)
        # (role ARN, session name, seconds) -> temporary credentials: the artifact credentials
        self._issue_credentials = issue_credentials
        self._lock = lock
        self._turns = threading.Condition(lock)
        self._executions: dict[str, dict[str, PipelineExecution]] = {}
        self._stage_owner: dict[tuple[str, str], str] = {}
        self._sequence = itertools.count(1)
        services = ActionServices(
            region,
            account_id,
            runtime,
            jobs,
            job_timeout_s,
            lock,
            self._require,
            self._artifact_credentials,
        )
        self.providers = {provider.kind: provider(services) for provider in PROVIDERS}

    # -- what runs --------------------------------------------------------------------------
    def _executions_of(self, name: str) -> dict[str, PipelineExecution]:
        return self._executions.setdefault(name, {})

    def executions(self, name: str) -> list[PipelineExecution]:
        """Oldest first."""
        with self._lock:
            return list(self._executions_of(name).values())

    def execution(self, name: str, execution_id: str) -> PipelineExecution:
        with self._lock:
            execution = self._executions_of(name).get(execution_id)
        if execution is None:
            raise exc.PipelineExecutionNotFoundException(name, execution_id)
        return execution

    def latest_for_stage(self, name: str, stage_name: str) -> PipelineExecution | None:
        with self._lock:
            latest = None
            for execution in self._executions_of(name).values():
                if stage_name in execution.stages:
                    latest = execution
            return latest

    def inbound(self, name: str, stage_name: str) -> list[PipelineExecution]:
        """The executions waiting to enter a stage, the one to enter next first."""
        with self._lock:
            waiting = [
                e
                for e in self._executions_of(name).values()
                if e.waiting_for == stage_name and self._halted(e) is None
            ]
        newest_first = bool(waiting) and waiting[-1].execution_mode == "SUPERSEDED"
        return sorted(waiting, key=lambda e: e.sequence, reverse=newest_first)

    def stage_running(self, name: str, stage_name: str) -> bool:
        """Whether an execution is running the stage now."""
        with self._lock:
            return any(
                e.status in ("InProgress", "Stopping")
                and e.stages.get(stage_name) is not None
                and e.stages[stage_name].status == "InProgress"
                for e in self._executions_of(name).values()
            )

    def last_success(self, name: str, stage_name: str, version: int) -> PipelineExecution | None:
        """The most recent STANDARD execution, started with ``version``, that succeeded in the
        stage: what a rollback of the stage goes back to."""
        with self._lock:
            found = None
            for execution in self._executions_of(name).values():
                stage = execution.stages.get(stage_name)
                if (
                    execution.execution_type == "STANDARD"
                    and execution.version == version
                    and stage is not None
                    and stage.status == "Succeeded"
                    and (found is None or execution.sequence > found.sequence)
                ):
                    found = execution
            return found

    def wake(self) -> None:
        """Something an execution may wait for changed (a transition was enabled)."""
        with self._turns:
            self._turns.notify_all()

    def in_progress(self) -> bool:
        with self._lock:
            return any(
                e.status in ("InProgress", "Stopping")
                for runs in self._executions.values()
                for e in runs.values()
            )

    def all_executions(self) -> list[PipelineExecution]:
        """Every execution of every pipeline (to save them)."""
        with self._lock:
            return [e for runs in self._executions.values() for e in runs.values()]

    def restore(self, executions: list[PipelineExecution]) -> None:
        """Executions saved before a restart. Those that were running end now — Failed, or
        Stopped if a stop was under way — with INTERRUPTED_MESSAGE: nothing runs them any more."""
        with self._lock:
            for execution in sorted(executions, key=lambda e: e.sequence):
                if execution.status in ("InProgress", "Stopping"):
                    self._end_interrupted(execution)
                self._executions_of(execution.pipeline_name)[execution.id] = execution
            last = max((e.sequence for e in executions), default=0)
            self._sequence = itertools.count(last + 1)

    def _end_interrupted(self, execution: PipelineExecution) -> None:
        outcome = "Stopped" if execution.status == "Stopping" else "Failed"
        for run in execution.action_history:
            if run.status == "InProgress":
                if outcome == "Stopped":
                    run.touch(status="Abandoned")
                else:
                    run.touch(
                        status="Failed", error={"code": "JobFailed", "message": INTERRUPTED_MESSAGE}
                    )
            if run.current_job is not None:
                self.jobs.end(run.current_job, "Failed")
        for stage in execution.stages.values():
            if stage.status == "InProgress":
                stage.status = outcome
        execution.waiting_for = None
        execution.touch(status=outcome, status_summary=INTERRUPTED_MESSAGE)

    # -- starting, stopping, retrying -------------------------------------------------------
    def start(
        self,
        name: str,
        declaration: dict,
        trigger: dict,
        variables: dict[str, str],
    ) -> PipelineExecution:
        with self._lock:
            execution = self._new_execution(name, declaration, trigger, variables)
            self._executions_of(name)[execution.id] = execution
        self._spawn(execution, 0)
        return execution

    def _new_execution(
        self, name: str, declaration: dict, trigger: dict, variables: dict, **kind
    ) -> PipelineExecution:
        """A new execution of the declaration's version, next in sequence (lock held)."""
        return PipelineExecution(
            id=str(uuid.uuid4()),
            pipeline_name=name,
            version=int(declaration["version"]),
            declaration=declaration,
            trigger=trigger,
            sequence=next(self._sequence),
            variables=variables,
            **kind,
        )

    def rollback(
        self, name: str, declaration: dict, stage_name: str, target: PipelineExecution, trigger
    ) -> PipelineExecution:
        """A ROLLBACK execution that reruns one stage with what ``target`` ran it with: the
        artifacts and action variables of the stages before it, its source revisions and
        pipeline variables."""
        stages = declaration["stages"]
        index = [s["name"] for s in stages].index(stage_name)
        earlier = [a for s in stages[:index] for a in s["actions"]]
        produced = {o["name"] for a in earlier for o in a.get("outputArtifacts") or []}
        namespaces = {a["namespace"] for a in earlier if a.get("namespace")}
        with self._lock:
            execution = self._new_execution(
                name,
                declaration,
                trigger,
                dict(target.variables),
                execution_type="ROLLBACK",
                rollback_target=target.id,
            )
            execution.artifacts = {n: a for n, a in target.artifacts.items() if n in produced}
            execution.namespaces = {
                n: dict(v) for n, v in target.namespaces.items() if n in namespaces
            }
            execution.revisions = [dict(r) for r in target.revisions]
            self._executions_of(name)[execution.id] = execution
        self._spawn(execution, index, last_stage=index)
        return execution

    def _spawn(
        self,
        execution: PipelineExecution,
        first_stage: int,
        retry: str | None = None,
        last_stage: int | None = None,
    ):
        threading.Thread(
            target=self._run,
            args=(execution, first_stage, retry, last_stage),
            daemon=True,
            name=f"pipeline-{execution.pipeline_name}-{execution.id[:8]}",
        ).start()

    def stop(self, name: str, execution_id: str, abandon: bool, reason: str | None) -> str:
        with self._lock:
            execution = self._executions_of(name).get(execution_id)
            if execution is None:
                raise exc.PipelineExecutionNotStoppableException(
                    f"Pipeline execution {execution_id} does not exist in pipeline {name}, so "
                    "it can't be stopped."
                )
            if execution.status == "Stopping" and not abandon:
                raise exc.DuplicatedStopRequestException()
            if execution.status not in ("InProgress", "Stopping"):
                raise exc.PipelineExecutionNotStoppableException(
                    f"Unable to stop pipeline execution {execution_id}: it is "
                    f"{execution.status}; only InProgress executions can be stopped."
                )
            execution.stop_requested = True
            execution.abandon = execution.abandon or abandon
            execution.stop_trigger = {"reason": reason or ""}
            execution.touch(status="Stopping")
            if abandon:
                self._abandon_running(execution, "Abandoned by a stop request")
            self._turns.notify_all()
        return execution_id

    def _abandon_running(self, execution: PipelineExecution, summary: str | None) -> None:
        for stage in execution.stages.values():
            for run in stage.actions.values():
                if run.status == "InProgress":
                    run.touch(status="Abandoned", summary=summary or run.summary)
                    if run.current_job is not None:
                        self.jobs.end(run.current_job, "Abandoned")

    def retry(self, name: str, stage_name: str, execution_id: str, mode: str) -> str:
        with self._lock:
            execution = self._executions_of(name).get(execution_id)
            if execution is None:
                raise exc.StageNotRetryableException(
                    f"Pipeline execution {execution_id} does not exist in pipeline {name}, so "
                    f"its stage {stage_name} can't be retried."
                )
            stage_names = [s["name"] for s in execution.declaration["stages"]]
            if stage_name not in stage_names:
                raise exc.StageNotFoundException(stage_name)
            stage = execution.stages.get(stage_name)
            if (
                execution.status in ("InProgress", "Stopping")
                or stage is None
                or stage.status not in ("Failed", "Stopped")
            ):
                raise exc.StageNotRetryableException(
                    f"Stage {stage_name} in pipeline execution {execution_id} is not "
                    "retryable: only a failed or stopped stage of a finished execution can be "
                    "retried."
                )
            latest = self.latest_for_stage(name, stage_name)
            if execution.execution_mode != "PARALLEL" and latest is not execution:
                raise exc.NotLatestPipelineExecutionException(
                    f"Pipeline execution {execution_id} is not the latest execution of stage "
                    f"{stage_name}; retry the latest one ({latest.id})."
                )
            execution.stop_requested = execution.abandon = False
            execution.stop_trigger = execution.updated_to = None
            retries = execution.retries.setdefault(stage_name, StageRetries())
            retries.manual += 1
            retries.latest = "ManualStageRetry"
            execution.touch(status="InProgress", status_summary=None)
        index = stage_names.index(stage_name)
        last = index if execution.execution_type == "ROLLBACK" else None  # it runs one stage
        self._spawn(execution, index, retry=mode, last_stage=last)
        return execution_id

    def forget(self, name: str) -> None:
        """The pipeline was deleted: abandon what runs and drop its history."""
        with self._lock:
            for execution in self._executions.pop(name, {}).values():
                if execution.status in ("InProgress", "Stopping"):
                    execution.stop_requested = execution.abandon = True
                    self._abandon_running(execution, None)
            for key in [k for k in self._stage_owner if k[0] == name]:
                del self._stage_owner[key]
            self._turns.notify_all()

    def pipeline_updated(self, name: str, version: int) -> None:
        """UpdatePipeline: every execution in progress fails once its running actions end."""
        with self._lock:
            for execution in self._executions_of(name).values():
                if execution.status == "InProgress":
                    execution.updated_to = version
            self._turns.notify_all()

    # -- running ----------------------------------------------------------------------------
    @staticmethod
    def _halted(execution: PipelineExecution) -> str | None:
        """How an execution must end before its next step: Stopped, Failed (the pipeline was
        updated under it), or None to go on."""
        if execution.stop_requested:
            return "Stopped"
        if execution.updated_to is not None:
            return "Failed"
        return None

    def _run(
        self,
        execution: PipelineExecution,
        first_stage: int,
        retry: str | None,
        last_stage: int | None = None,
    ) -> None:
        outcome, summary, failed_stage = "Succeeded", None, None
        try:
            stages = execution.declaration["stages"]
            last = len(stages) - 1 if last_stage is None else last_stage
            for index in range(first_stage, last + 1):
                stage = stages[index]
                if not self._enter_stage(execution, stage["name"]):
                    outcome = self._halted(execution) or "Superseded"
                    break
                try:
                    mode = retry if index == first_stage else None
                    outcome = self._run_stage(execution, stage, mode)
                    if outcome == "Failed" and self._retries_automatically(execution, stage):
                        outcome = self._run_stage(execution, stage, automatic_retry_mode(stage))
                finally:
                    self._leave_stage(execution, stage["name"])
                if outcome != "Succeeded":
                    failed = [
                        r
                        for r in execution.stages[stage["name"]].actions.values()
                        if r.status == "Failed"
                    ]
                    summary = (failed[0].error or {}).get("message") if failed else None
                    failed_stage = stage
                    break
        except Exception:  # an engine bug must not leave the execution InProgress
            outcome, summary = "Failed", internal_error()
        with self._lock:
            if execution.stop_requested and outcome in ("Succeeded", "Failed"):
                outcome = "Stopped"
            if outcome == "Stopped" and execution.stop_trigger:
                summary = execution.stop_trigger.get("reason") or summary
            if outcome == "Failed" and summary is None and execution.updated_to is not None:
                summary = UPDATED_MESSAGE.format(version=execution.updated_to)
            execution.touch(status=outcome, status_summary=summary)
            target = self._rollback_target(execution, failed_stage) if outcome == "Failed" else None
            self._turns.notify_all()
        if target is not None:
            trigger = {"triggerType": "AutomatedRollback", "triggerDetail": execution.id}
            self.rollback(
                execution.pipeline_name,
                execution.declaration,
                failed_stage["name"],
                target,
                trigger,
            )
        backends.on_change("codepipeline", now=True)  # an ended execution is written at once

    def _retries_automatically(self, execution: PipelineExecution, stage: dict) -> bool:
        """Whether a stage that just failed gets its one automatic retry now (and count it)."""
        with self._lock:
            if on_failure(stage) != "RETRY" or self._halted(execution) is not None:
                return False
            retries = execution.retries.setdefault(stage["name"], StageRetries())
            if retries.automatic:
                return False
            retries.automatic += 1
            retries.latest = "AutomatedStageRetry"
            execution.touch()
            return True

    def _rollback_target(
        self, execution: PipelineExecution, stage: dict | None
    ) -> PipelineExecution | None:
        """What a failed stage with onFailure ROLLBACK rolls back to, if anything."""
        if (
            stage is None
            or on_failure(stage) != "ROLLBACK"
            or execution.execution_type != "STANDARD"
            or execution.stop_requested
            or execution.updated_to is not None
        ):
            return None
        return self.last_success(execution.pipeline_name, stage["name"], execution.version)

    def _inbound_open(self, execution: PipelineExecution, stage_name: str) -> bool:
        try:
            return self._inbound_enabled(execution.pipeline_name, stage_name)
        except exc.PipelineNotFoundException:
            return True  # deleted: the execution is being abandoned

    def _enter_stage(self, execution: PipelineExecution, stage_name: str) -> bool:
        """Wait for the stage's turn (and its inbound transition); False if stopped, failed or
        superseded meanwhile."""
        parallel = execution.execution_mode == "PARALLEL"
        if parallel and self._inbound_open(execution, stage_name):
            return self._halted(execution) is None
        key = (execution.pipeline_name, stage_name)
        with self._turns:
            execution.waiting_for = stage_name
            self._turns.notify_all()  # an older execution waiting here may be superseded now
            try:
                while self._halted(execution) is None:
                    waiting = self.inbound(execution.pipeline_name, stage_name)
                    if waiting[0] is not execution and execution.execution_mode == "SUPERSEDED":
                        return False
                    if not self._inbound_open(execution, stage_name):
                        self._turns.wait(1.0)  # enabling it wakes us
                        continue
                    if parallel:
                        return True
                    if waiting[0] is execution and self._stage_owner.get(key) in (
                        None,
                        execution.id,
                    ):
                        self._stage_owner[key] = execution.id
                        return True
                    self._turns.wait(1.0)
                return False
            finally:
                execution.waiting_for = None
                self._turns.notify_all()

    def _leave_stage(self, execution: PipelineExecution, stage_name: str) -> None:
        with self._turns:
            key = (execution.pipeline_name, stage_name)
            if self._stage_owner.get(key) == execution.id:
                del self._stage_owner[key]
            self._turns.notify_all()

    def _run_stage(self, execution: PipelineExecution, stage: dict, retry: str | None) -> str:
        previous = execution.stages.get(stage["name"])
        run = StageRun(stage["name"])
        if retry == "FAILED_ACTIONS" and previous is not None:
            run.actions = {n: a for n, a in previous.actions.items() if a.status == "Succeeded"}
        with self._lock:
            execution.stages[stage["name"]] = run
            execution.touch()
        ordered = sorted(stage["actions"], key=lambda a: int(a.get("runOrder", 1)))
        status = "Succeeded"
        for _, group in groupby(ordered, key=lambda a: int(a.get("runOrder", 1))):
            halted = self._halted(execution)
            if halted:
                status = halted
                break
            todo = [a for a in group if a["name"] not in run.actions]
            runs = [self._new_action_run(execution, stage["name"], a) for a in todo]
            with self._lock:
                for action_run in runs:
                    run.actions[action_run.name] = action_run
            threads = [
                threading.Thread(target=self._run_action, args=(r,), daemon=True) for r in runs
            ]
            for thread in threads[1:]:
                thread.start()
            if runs:
                self._run_action(runs[0])
            for thread in threads[1:]:
                thread.join()
            statuses = {r.status for r in runs}
            if "Failed" in statuses:
                status = "Failed"
                break
            if statuses - {"Succeeded"}:
                status = "Stopped"
                break
            if execution.updated_to is not None:
                status = "Failed"  # its running actions are done: the update fails the stage
                break
        if execution.stop_requested and status == "Succeeded" and execution.abandon:
            status = "Stopped"
        with self._lock:
            run.status = status
            execution.touch()
        return status

    def _new_action_run(self, execution: PipelineExecution, stage: str, action: dict) -> ActionRun:
        run = ActionRun(
            id=str(uuid.uuid4()),
            execution=execution,
            stage_name=stage,
            declaration=action,
            region=self.region,
        )
        with self._lock:
            execution.action_history.append(run)
        return run

    def _run_action(self, run: ActionRun) -> None:
        provider = self.providers.get(run.kind)
        try:
            run.inputs = [
                self._input_artifact(run, a["name"]) for a in run.declaration["inputArtifacts"]
            ]
            run.outputs = [
                self._new_artifact(run.execution, a["name"])
                for a in run.declaration["outputArtifacts"]
            ]
            config = self._resolve(run)
            if provider is not None:
                run.touch(entity_url=provider.entity_url(config))
            self._assume_service_role(run)
            for artifact in run.inputs:
                self._require(run, "s3:GetObject", arns.s3_arn(artifact.bucket, artifact.key))
            for artifact in run.outputs:
                self._require(run, "s3:PutObject", arns.s3_arn(artifact.bucket, artifact.key))
            if provider is None:
                raise ActionFailed(
                    f"The {'/'.join(run.kind)} action provider is not emulated locally: the "
                    "local cloud runs S3 source, S3 deploy and Lambda invoke actions. Run this "
                    "pipeline on AWS (WORKBOOK_TARGET=aws) to use it.",
                    "ConfigurationError",
                )
            provider.run(run, config)
        except ActionFailed as failure:
            with self._lock:
                if run.status == "InProgress":
                    run.touch(
                        status="Failed",
                        error={"code": failure.code, "message": failure.message},
                        external_id=failure.external_id or run.external_id,
                    )
            return
        except Exception:  # an engine bug fails the action, saying so, never hangs it
            message = internal_error()
            with self._lock:
                if run.status == "InProgress":
                    run.touch(status="Failed", error={"code": "JobFailed", "message": message})
            return
        with self._lock:
            if run.status == "InProgress":
                for artifact in run.outputs:
                    run.execution.artifacts[artifact.name] = artifact
                if run.namespace:
                    run.execution.namespaces[run.namespace] = dict(run.output_variables)
                run.touch(status="Succeeded")

    def _resolve(self, run: ActionRun) -> dict:
        """The action's configuration with its variables resolved (input.resolvedConfiguration
        in ListActionExecutions)."""
        with self._lock:
            scope = run.execution.scope()
        try:
            resolved = resolve(run.configuration, scope)
        except Unresolved as unresolved:
            raise ActionFailed(
                UNRESOLVED_MESSAGE.format(name=run.name), "ConfigurationError"
            ) from unresolved
        run.resolved_configuration = resolved
        for key, value in resolved.items():
            if len(value) > MAX_CONFIGURATION_VALUE:
                raise ActionFailed(
                    f"The configuration {key} of action {run.name} is {len(value)} characters "
                    f"long once its variables are resolved; the most is "
                    f"{MAX_CONFIGURATION_VALUE}.",
                    "ConfigurationError",
                )
        if size(resolved) > MAX_RESOLVED_CONFIGURATION_BYTES:
            raise ActionFailed(
                f"The resolved configuration of action {run.name} is {size(resolved)} bytes; "
                f"the most is {MAX_RESOLVED_CONFIGURATION_BYTES}.",
                "ConfigurationError",
            )
        return resolved

    # -- the service role -------------------------------------------------------------------
    def _assume_service_role(self, run: ActionRun) -> None:
        """Each action runs as the pipeline's service role, which CodePipeline assumes: the
        role's trust policy must (still: it may have changed since CreatePipeline) let
        codepipeline.amazonaws.com assume it."""
        if not self.enforce_iam:
            return
        from ..access.policies import role_trust_policy, trusts_service

        role = run.execution.declaration.get("roleArn", "")
        pipeline = arns.pipeline_arn(self.region, self.account_id, run.execution.pipeline_name)
        context = {"aws:SourceAccount": self.account_id, "aws:SourceArn": pipeline}
        trust = role_trust_policy(self.account_id, role)
        if not trusts_service(trust, PIPELINE_SERVICE, context):
            raise ActionFailed(
                f"CodePipeline is not authorized to perform AssumeRole on role {role}",
                "PermissionError",
            )

    def _require(self, run: ActionRun, action: str, resource: str) -> None:
        """The pipeline acts with its service role: fail the action if the role's policies
        don't allow ``action`` on ``resource``."""
        if not self.enforce_iam:
            return
        from ..access.gate import role_allows

        role = run.execution.declaration.get("roleArn", "")
        if role_allows(self.account_id, role, action, resource):
            return
        stage_action = f"{run.stage_name}/{run.name}"
        if action == "lambda:InvokeFunction":
            message = (
                f"The provided role does not have the lambda:InvokeFunction permission: the "
                f"pipeline's service role {role} may not invoke {resource}, so action "
                f"{stage_action} can't run it. Allow lambda:InvokeFunction in the role's policy."
            )
        else:
            message = (
                f"Insufficient permissions: the pipeline's service role {role} is not allowed "
                f"{action} on {resource}, which action {stage_action} needs. Allow it in the "
                "role's policy, then retry."
            )
        raise ActionFailed(message, "PermissionError")

    def _artifact_credentials(self, run: ActionRun) -> dict:
        """Temporary credentials of the pipeline's service role, for the job's artifacts."""
        role = run.execution.declaration.get("roleArn", "")
        if self._issue_credentials is not None and role:
            issued = self._issue_credentials(
                role,
                f"codepipeline-{run.id[:8]}",
                3600,
                service=PIPELINE_SERVICE,
                source_arn=arns.pipeline_arn(
                    self.region, self.account_id, run.execution.pipeline_name
                ),
            )
            return {
                "accessKeyId": issued["AccessKeyId"],
                "secretAccessKey": issued["SecretAccessKey"],
                "sessionToken": issued["SessionToken"],
                "expirationTime": int(issued["Expiration"].timestamp() * 1000),
            }
        alphabet = string.ascii_uppercase + string.digits
        expires = utcnow() + timedelta(hours=1)
        return {
            "accessKeyId": "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
            "secretAccessKey": secrets.token_urlsafe(30),
            "sessionToken": secrets.token_urlsafe(96),
            "expirationTime": int(expires.timestamp() * 1000),
        }

    # -- artifacts --------------------------------------------------------------------------
    def _artifact_bucket(self, execution: PipelineExecution) -> str:
        declaration = execution.declaration
        store = declaration.get("artifactStore") or (
            declaration.get("artifactStores", {}).get(self.region)
        )
        if not store:
            raise ActionFailed(
                f"The pipeline has no artifact store in {self.region}", "ConfigurationError"
            )
        return store["location"]

    def _new_artifact(self, execution: PipelineExecution, name: str) -> Artifact:
        suffix = "".join(secrets.choice(ALNUM) for _ in range(7))
        key = f"{execution.pipeline_name[:20]}/{name[:10]}/{suffix}"
        return Artifact(name, self._artifact_bucket(execution), key)

    def _input_artifact(self, run: ActionRun, name: str) -> Artifact:
        artifact = run.execution.artifacts.get(name)
        if artifact is None:
            raise ActionFailed(
                f"Input artifact {name} was not produced by an earlier action of this execution",
                "ConfigurationError",
            )
        return artifact
