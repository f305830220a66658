"""The CodePipeline execution engine: plain objects, no HTTP.

It reads pipeline declarations from moto's backend and really runs them: stages in order,
actions by runOrder (same runOrder in parallel), artifacts stored as objects in the pipeline's
artifact bucket and handed from action to action by name, Lambda actions run as jobs that end
only when the function reports PutJobSuccessResult or PutJobFailureResult (or time out).
"""

from __future__ import annotations

import copy
import io
import json
import secrets
import string
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from .. import arns, backends
from ..backends import ArtifactError
from ..errors import AwsError
from . import exceptions as exc

ALNUM = string.ascii_letters + string.digits
NO_RESULT_MESSAGE = (
    "The AWS Lambda function {name} failed to return a result. Check the function to verify "
    "that it has permission to call the PutJobSuccessResult action and that it made a call to "
    "PutJobSuccessResult."
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ActionFailed(Exception):
    """An action's failure, shown as its errorDetails."""

    def __init__(self, message: str, code: str = "JobFailed", external_id: str | None = None):
        super().__init__(message)
        self.message, self.code, self.external_id = message, code, external_id


@dataclass
class Artifact:
    name: str
    bucket: str
    key: str
    revision: str | None = None

    def location(self) -> dict:
        return {
            "type": "S3",
            "s3Location": {"bucketName": self.bucket, "objectKey": self.key},
        }


@dataclass
class ActionRun:
    """One action execution (one row of ListActionExecutions)."""

    id: str
    execution: PipelineExecution
    stage_name: str
    declaration: dict
    status: str = "InProgress"
    start_time: datetime = field(default_factory=utcnow)
    last_update: datetime = field(default_factory=utcnow)
    summary: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    percent_complete: int | None = None
    error: dict | None = None
    output_variables: dict[str, str] = field(default_factory=dict)
    inputs: list[Artifact] = field(default_factory=list)
    outputs: list[Artifact] = field(default_factory=list)
    current_job: Job | None = None

    @property
    def name(self) -> str:
        return self.declaration["name"]

    def touch(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.last_update = utcnow()


@dataclass
class StageRun:
    name: str
    status: str = "InProgress"
    actions: dict[str, ActionRun] = field(default_factory=dict)


@dataclass
class PipelineExecution:
    id: str
    pipeline_name: str
    version: int
    declaration: dict
    trigger: dict
    status: str = "InProgress"
    status_summary: str | None = None
    start_time: datetime = field(default_factory=utcnow)
    last_update: datetime = field(default_factory=utcnow)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    revisions: list[dict] = field(default_factory=list)
    stages: dict[str, StageRun] = field(default_factory=dict)
    action_history: list[ActionRun] = field(default_factory=list)  # every attempt, retries too
    waiting_for: str | None = None
    stop_requested: bool = False
    abandon: bool = False
    stop_trigger: dict | None = None
    execution_mode: str = "SUPERSEDED"

    def touch(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.last_update = utcnow()


@dataclass
class Job:
    """A Lambda action's job: one invocation of the function, ended by a reported result."""

    id: str
    action: ActionRun
    function_name: str
    continuation_token: str | None
    status: str = "InProgress"  # InProgress | Succeeded | Failed | TimedOut | Abandoned
    done: threading.Event = field(default_factory=threading.Event)
    success: dict | None = None
    failure: dict | None = None
    request_id: str | None = None
    created: datetime = field(default_factory=utcnow)
    data: dict = field(default_factory=dict)  # the event's "data", as the function got it


class PipelineEngine:
    """Runs the pipelines of one region of the local cloud."""

    def __init__(
        self,
        region: str,
        runtime,
        job_timeout_s: float = 60.0,
        account_id: str = backends.ACCOUNT_ID,
        issue_credentials=None,
        enforce_iam: bool = False,
    ):
        self.region = region
        self.runtime = runtime
        self.job_timeout_s = job_timeout_s
        self.account_id = account_id
        # (role ARN, session name, seconds) -> temporary credentials: the artifact credentials
        self._issue_credentials = issue_credentials
        self.enforce_iam = enforce_iam
        self._lock = threading.RLock()
        self._stage_turns = threading.Condition(self._lock)
        self._executions: dict[str, dict[str, PipelineExecution]] = {}
        self._stage_owner: dict[tuple[str, str], str] = {}
        self._jobs: dict[str, Job] = {}

    # -- declarations (moto's) ------------------------------------------------------------
    def _pipeline(self, name: str):
        pipeline = backends.codepipeline(self.region, self.account_id).pipelines.get(name)
        if pipeline is None:
            raise exc.pipeline_not_found(self.account_id, name)
        return pipeline

    def _executions_of(self, name: str) -> dict[str, PipelineExecution]:
        return self._executions.setdefault(name, {})

    def _execution(self, name: str, execution_id: str) -> PipelineExecution:
        self._pipeline(name)
        execution = self._executions_of(name).get(execution_id)
        if execution is None:
            raise exc.execution_not_found(name, execution_id)
        return execution

    # -- starting, stopping, retrying -----------------------------------------------------
    def start(self, name: str, trigger_type: str = "StartPipelineExecution") -> str:
        pipeline = self._pipeline(name)
        declaration = copy.deepcopy(pipeline.pipeline)
        execution = PipelineExecution(
            id=str(uuid.uuid4()),
            pipeline_name=name,
            version=int(declaration.get("version", 1)),
            declaration=declaration,
            trigger={
                "triggerType": trigger_type,
                "triggerDetail": f"arn:aws:iam::{self.account_id}:root",
            },
            execution_mode=declaration.get("executionMode", "SUPERSEDED"),
        )
        with self._lock:
            self._executions_of(name)[execution.id] = execution
        self._spawn(execution, 0)
        return execution.id

    def _spawn(self, execution: PipelineExecution, first_stage: int, retry: str | None = None):
        threading.Thread(
            target=self._run,
            args=(execution, first_stage, retry),
            daemon=True,
            name=f"pipeline-{execution.pipeline_name}-{execution.id[:8]}",
        ).start()

    def stop(self, name: str, execution_id: str, abandon: bool, reason: str | None) -> str:
        with self._lock:
            execution = self._execution(name, execution_id)
            if execution.status == "Stopping" and not abandon:
                raise AwsError(
                    "DuplicatedStopRequestException",
                    "A stop request is already in progress for this pipeline execution",
                )
            if execution.status not in ("InProgress", "Stopping"):
                raise exc.execution_not_stoppable(
                    f"Unable to stop pipeline execution {execution_id}: it is "
                    f"{execution.status}; only InProgress executions can be stopped."
                )
            execution.stop_requested = True
            execution.abandon = execution.abandon or abandon
            execution.stop_trigger = {"reason": reason or ""}
            execution.touch(status="Stopping")
            if abandon:
                for stage in execution.stages.values():
                    for run in stage.actions.values():
                        if run.status == "InProgress":
                            run.touch(status="Abandoned", summary="Abandoned by a stop request")
                            if run.current_job is not None:
                                run.current_job.status = "Abandoned"
                                run.current_job.done.set()
            self._stage_turns.notify_all()
        return execution_id

    def retry(self, name: str, stage_name: str, execution_id: str, mode: str) -> str:
        with self._lock:
            execution = self._execution(name, execution_id)
            stage_names = [s["name"] for s in execution.declaration["stages"]]
            if stage_name not in stage_names:
                raise exc.stage_not_found(stage_name)
            stage = execution.stages.get(stage_name)
            if (
                execution.status == "InProgress"
                or stage is None
                or stage.status
                not in (
                    "Failed",
                    "Stopped",
                )
            ):
                raise exc.stage_not_retryable(
                    f"Stage {stage_name} in pipeline execution {execution_id} is not "
                    "retryable: only a failed or stopped stage of a finished execution can be "
                    "retried."
                )
            latest = self._latest_for_stage(name, stage_name)
            if latest is not None and latest.id != execution_id:
                raise exc.not_latest_execution(
                    f"Pipeline execution {execution_id} is not the latest execution of stage "
                    f"{stage_name}; retry the latest one ({latest.id})."
                )
            execution.stop_requested = execution.abandon = False
            execution.stop_trigger = None
            execution.touch(status="InProgress", status_summary=None)
        self._spawn(execution, stage_names.index(stage_name), retry=mode)
        return execution_id

    def forget(self, name: str) -> None:
        """The pipeline was deleted: abandon what runs and drop its history."""
        with self._lock:
            for execution in self._executions.pop(name, {}).values():
                if execution.status in ("InProgress", "Stopping"):
                    execution.stop_requested = execution.abandon = True
                    for stage in execution.stages.values():
                        for run in stage.actions.values():
                            if run.current_job is not None:
                                run.current_job.status = "Abandoned"
                                run.current_job.done.set()
            for key in [k for k in self._stage_owner if k[0] == name]:
                del self._stage_owner[key]
            self._stage_turns.notify_all()

    def _latest_for_stage(self, name: str, stage_name: str) -> PipelineExecution | None:
        latest = None
        for execution in self._executions_of(name).values():
            if stage_name in execution.stages:
                latest = execution
        return latest

    # -- running --------------------------------------------------------------------------
    def _run(self, execution: PipelineExecution, first_stage: int, retry: str | None) -> None:
        outcome = "Succeeded"
        summary = None
        try:
            for index, stage in enumerate(execution.declaration["stages"]):
                if index < first_stage:
                    continue
                if execution.stop_requested:
                    outcome = "Stopped"
                    break
                if not self._enter_stage(execution, stage["name"]):
                    outcome = "Stopped" if execution.stop_requested else "Superseded"
                    break
                try:
                    mode = retry if index == first_stage else None
                    stage_status = self._run_stage(execution, stage, mode)
                finally:
                    self._leave_stage(execution, stage["name"])
                if stage_status != "Succeeded":
                    outcome = stage_status
                    if stage_status == "Failed":
                        failed = [
                            r
                            for r in execution.stages[stage["name"]].actions.values()
                            if r.status == "Failed"
                        ]
                        summary = (failed[0].error or {}).get("message") if failed else None
                    break
        except Exception as error:  # an engine bug must not leave the execution InProgress
            outcome, summary = "Failed", f"Local cloud error: {error!r}"
        with self._lock:
            if execution.stop_requested and outcome in ("Succeeded", "Failed"):
                outcome = "Stopped"
            if outcome == "Stopped" and execution.stop_trigger:
                summary = execution.stop_trigger.get("reason") or summary
            execution.touch(status=outcome, status_summary=summary)

    def _enter_stage(self, execution: PipelineExecution, stage_name: str) -> bool:
        """Wait for the stage to be free; False if stopped or superseded meanwhile."""
        key = (execution.pipeline_name, stage_name)
        with self._stage_turns:
            execution.waiting_for = stage_name
            try:
                while self._stage_owner.get(key) not in (None, execution.id):
                    if execution.stop_requested:
                        return False
                    newer = [
                        other
                        for other in self._executions_of(execution.pipeline_name).values()
                        if other.waiting_for == stage_name
                        and other.start_time > execution.start_time
                    ]
                    if newer and execution.execution_mode == "SUPERSEDED":
                        return False
                    self._stage_turns.wait(0.5)
                self._stage_owner[key] = execution.id
                return True
            finally:
                execution.waiting_for = None

    def _leave_stage(self, execution: PipelineExecution, stage_name: str) -> None:
        with self._stage_turns:
            key = (execution.pipeline_name, stage_name)
            if self._stage_owner.get(key) == execution.id:
                del self._stage_owner[key]
            self._stage_turns.notify_all()

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
            if execution.stop_requested:
                status = "Stopped"
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
        if execution.stop_requested and status == "Succeeded" and execution.abandon:
            status = "Stopped"
        with self._lock:
            run.status = status
            execution.touch()
        return status

    def _new_action_run(self, execution: PipelineExecution, stage: str, action: dict) -> ActionRun:
        run = ActionRun(
            id=str(uuid.uuid4()), execution=execution, stage_name=stage, declaration=action
        )
        with self._lock:
            execution.action_history.append(run)
        return run

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

    def _run_action(self, run: ActionRun) -> None:
        type_id = run.declaration["actionTypeId"]
        kind = (type_id["category"], type_id["owner"], type_id["provider"])
        providers = {
            ("Source", "AWS", "S3"): self._s3_source,
            ("Deploy", "AWS", "S3"): self._s3_deploy,
            ("Invoke", "AWS", "Lambda"): self._lambda_invoke,
        }
        try:
            run.inputs = [
                self._input_artifact(run, a["name"]) for a in run.declaration["inputArtifacts"]
            ]
            run.outputs = [
                self._new_artifact(run.execution, a["name"])
                for a in run.declaration["outputArtifacts"]
            ]
            for artifact in run.inputs:
                self._require(run, "s3:GetObject", arns.s3_arn(artifact.bucket, artifact.key))
            for artifact in run.outputs:
                self._require(run, "s3:PutObject", arns.s3_arn(artifact.bucket, artifact.key))
            provider = providers.get(kind)
            if provider is None:
                raise ActionFailed(
                    f"The {'/'.join(kind)} action provider is not emulated locally: the local "
                    "cloud runs S3 source, S3 deploy and Lambda invoke actions. Run this "
                    "pipeline on AWS (WORKBOOK_TARGET=aws) to use it.",
                    "ConfigurationError",
                )
            provider(run)
        except ActionFailed as failure:
            with self._lock:
                if run.status == "InProgress":
                    run.touch(
                        status="Failed",
                        error={"code": failure.code, "message": failure.message[:5000]},
                        external_id=failure.external_id or run.external_id,
                    )
            return
        except Exception as error:  # keep the pipeline honest about engine problems
            with self._lock:
                run.touch(
                    status="Failed",
                    error={"code": "JobFailed", "message": f"Local cloud error: {error!r}"},
                )
            return
        with self._lock:
            if run.status == "InProgress":
                for artifact in run.outputs:
                    run.execution.artifacts[artifact.name] = artifact
                run.touch(status="Succeeded")

    # -- artifacts ------------------------------------------------------------------------
    def _artifact_bucket(self, execution: PipelineExecution) -> str:
        declaration = execution.declaration
        store = declaration.get("artifactStore") or (
            declaration.get("artifactStores", {}).get(self.region)
        )
        if not store:
            raise ActionFailed("The pipeline has no artifact store", "ConfigurationError")
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

    # -- providers ------------------------------------------------------------------------
    def _s3_source(self, run: ActionRun) -> None:
        config = run.declaration.get("configuration", {})
        bucket, key = config.get("S3Bucket"), config.get("S3ObjectKey")
        if not bucket or not key:
            raise ActionFailed(
                "The S3 source action needs S3Bucket and S3ObjectKey", "ConfigurationError"
            )
        for action in ("s3:GetObject", "s3:GetObjectVersion"):
            self._require(run, action, arns.s3_arn(bucket, key))
        self._require(run, "s3:GetBucketVersioning", arns.s3_arn(bucket))
        try:
            if not backends.versioning_enabled(bucket):
                raise ActionFailed(
                    f"Bucket {bucket} is not versioned: an S3 source action needs a bucket "
                    "with versioning enabled.",
                    "ConfigurationError",
                )
            source = backends.read_object(bucket, key)
            for artifact in run.outputs:
                backends.write_object(artifact.bucket, artifact.key, source.body, "application/zip")
                artifact.revision = source.version_id
        except ArtifactError as error:
            raise ActionFailed(str(error), "RevisionUnavailable") from error
        summary = f"Amazon S3 version id: {source.version_id}"
        with self._lock:
            run.execution.revisions.append(
                {
                    "name": run.outputs[0].name if run.outputs else run.name,
                    "actionName": run.name,
                    "revisionId": source.version_id,
                    "revisionSummary": summary,
                    "created": source.last_modified,
                }
            )
            run.touch(summary=summary, external_id=source.version_id)

    def _s3_deploy(self, run: ActionRun) -> None:
        config = run.declaration.get("configuration", {})
        bucket = config.get("BucketName")
        extract = str(config.get("Extract", "false")).lower() == "true"
        object_key = config.get("ObjectKey", "")
        if not bucket:
            raise ActionFailed("The S3 deploy action needs BucketName", "ConfigurationError")
        if not extract and not object_key:
            raise ActionFailed("ObjectKey is required when Extract is false", "ConfigurationError")
        if len(run.inputs) != 1:
            raise ActionFailed(
                "The S3 deploy action takes one input artifact", "ConfigurationError"
            )
        target = object_key.strip("/")
        self._require(
            run, "s3:PutObject", arns.s3_arn(bucket, target if not extract else f"{target}*")
        )
        try:
            artifact = backends.read_object(run.inputs[0].bucket, run.inputs[0].key)
            if not extract:
                backends.write_object(bucket, object_key, artifact.body)
                deployed = 1
            else:
                try:
                    package = zipfile.ZipFile(io.BytesIO(artifact.body))
                except zipfile.BadZipFile as error:
                    raise ActionFailed(
                        f"The input artifact {run.inputs[0].name} is not a zip file, so it "
                        "can't be extracted",
                        "JobFailed",
                    ) from error
                prefix = object_key.strip("/")
                deployed = 0
                with package:
                    for info in package.infolist():
                        if info.is_dir():
                            continue
                        target = f"{prefix}/{info.filename}" if prefix else info.filename
                        backends.write_object(bucket, target, package.read(info))
                        deployed += 1
        except ArtifactError as error:
            raise ActionFailed(str(error), "JobFailed") from error
        run.touch(summary=f"Deployed {deployed} object(s) to s3://{bucket}/{object_key}")

    def _lambda_invoke(self, run: ActionRun) -> None:
        config = run.declaration.get("configuration", {})
        function_name = config.get("FunctionName")
        if not function_name:
            raise ActionFailed("The Lambda action needs FunctionName", "ConfigurationError")
        self._require(
            run,
            "lambda:InvokeFunction",
            arns.function_arn(self.region, self.account_id, function_name),
        )
        token: str | None = None
        deadline_total = utcnow() + timedelta(hours=24)
        while True:
            job = Job(str(uuid.uuid4()), run, function_name, token)
            with self._lock:
                if run.status != "InProgress":
                    return
                self._jobs[job.id] = job
                run.current_job = job
            event = self._job_event(job, config)
            try:
                job.request_id = self.runtime.invoke_async(
                    self.region, function_name, json.dumps(event).encode()
                )
            except AwsError as error:
                with self._lock:
                    job.status = "Failed"
                raise ActionFailed(error.message, "ConfigurationError") from error
            if not job.done.wait(self.job_timeout_s):
                with self._lock:
                    if job.status == "InProgress":
                        job.status = "TimedOut"
                        raise ActionFailed(NO_RESULT_MESSAGE.format(name=function_name))
            with self._lock:
                if job.status == "Abandoned" or run.status != "InProgress":
                    return
                if job.failure is not None:
                    details = job.failure
                    raise ActionFailed(
                        details.get("message", ""),
                        details.get("type", "JobFailed"),
                        details.get("externalExecutionId"),
                    )
                success = job.success or {}
                details = success.get("executionDetails") or {}
                run.touch(
                    summary=details.get("summary", run.summary),
                    external_id=details.get("externalExecutionId", run.external_id),
                    percent_complete=details.get("percentComplete", run.percent_complete),
                )
                token = success.get("continuationToken")
                if not token:
                    run.output_variables = dict(success.get("outputVariables") or {})
                    return
            if utcnow() > deadline_total:
                raise ActionFailed(
                    f"The AWS Lambda function {function_name} did not finish within 24 hours."
                )

    def _job_event(self, job: Job, config: dict) -> dict:
        run = job.action
        data: dict[str, Any] = {
            "actionConfiguration": {
                "configuration": {
                    k: v for k, v in config.items() if k in ("FunctionName", "UserParameters")
                }
            },
            "inputArtifacts": [
                {"name": a.name, "revision": a.revision, "location": a.location()}
                for a in run.inputs
            ],
            "outputArtifacts": [
                {"name": a.name, "revision": None, "location": a.location()} for a in run.outputs
            ],
            "artifactCredentials": self._artifact_credentials(run),
        }
        if job.continuation_token:
            data["continuationToken"] = job.continuation_token
        store = run.execution.declaration.get("artifactStore") or {}
        if store.get("encryptionKey"):
            data["encryptionKey"] = store["encryptionKey"]
        job.data = data
        return {"CodePipeline.job": {"id": job.id, "accountId": self.account_id, "data": data}}

    def job_details(self, job_id: str) -> dict:
        """GetJobDetails: the event's data plus actionTypeId and pipelineContext."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise exc.job_not_found(job_id)
            run = job.action
            execution = run.execution
            pipeline = self._pipeline(execution.pipeline_name)
            data = {
                **job.data,
                "actionTypeId": run.declaration["actionTypeId"],
                "pipelineContext": {
                    "pipelineName": execution.pipeline_name,
                    "stage": {"name": run.stage_name},
                    "action": {
                        "name": run.name,
                        "actionExecutionId": run.id,
                    },
                    "pipelineArn": pipeline._arn,
                    "pipelineExecutionId": execution.id,
                },
            }
            return {"id": job.id, "data": data, "accountId": self.account_id}

    def _artifact_credentials(self, run: ActionRun) -> dict:
        """Temporary credentials of the pipeline's service role, for the job's artifacts."""
        role = run.execution.declaration.get("roleArn", "")
        if self._issue_credentials is not None and role:
            issued = self._issue_credentials(role, f"codepipeline-{run.id[:8]}", 3600)
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

    # -- job results ----------------------------------------------------------------------
    def _open_job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise exc.job_not_found(job_id)
        if job.status != "InProgress":
            raise exc.invalid_job_state(job_id, job.status)
        return job

    def has_job(self, job_id: str) -> bool:
        return job_id in self._jobs

    def put_job_success(
        self,
        job_id: str,
        continuation_token: str | None,
        execution_details: dict | None,
        output_variables: dict | None,
    ) -> None:
        if continuation_token and output_variables:
            raise exc.validation(
                "outputVariables can be returned only when the job is complete: don't send a "
                "continuationToken with them"
            )
        with self._lock:
            job = self._open_job(job_id)
            job.status = "Succeeded"
            job.success = {
                "continuationToken": continuation_token,
                "executionDetails": execution_details,
                "outputVariables": output_variables,
            }
            job.done.set()

    def put_job_failure(self, job_id: str, failure_details: dict) -> None:
        with self._lock:
            job = self._open_job(job_id)
            job.status = "Failed"
            job.failure = failure_details
            job.done.set()

    # -- views for the state APIs ---------------------------------------------------------
    def executions(self, name: str) -> list[PipelineExecution]:
        self._pipeline(name)
        with self._lock:
            return list(self._executions_of(name).values())

    def execution(self, name: str, execution_id: str) -> PipelineExecution:
        with self._lock:
            return self._execution(name, execution_id)

    def action_runs(self, name: str, execution_id: str | None = None) -> list[ActionRun]:
        runs = []
        with self._lock:
            if execution_id is not None:
                executions = [self._execution(name, execution_id)]
            else:
                executions = self.executions(name)
            for execution in executions:
                runs.extend(execution.action_history)
        return runs

    def latest_action_run(self, name: str, stage: str, action: str) -> ActionRun | None:
        latest = None
        for run in self.action_runs(name):
            if run.stage_name == stage and run.name == action:
                if latest is None or run.start_time >= latest.start_time:
                    latest = run
        return latest
