"""The job board: the jobs CodePipeline opens for Lambda actions and the results reported.

A job is one invocation of the function. It ends when the function reports PutJobSuccessResult
or PutJobFailureResult — once: a second report gets InvalidJobStateException — or when it times
out. A success with a continuationToken asks for another job (a new id, the token in its
event); only the last one may carry outputVariables, within the quota's size.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from . import exceptions as exc
from .executions import ActionRun, utcnow
from .variables import MAX_OUTPUT_VARIABLES_BYTES, size

NO_RESULT_MESSAGE = (
    "The AWS Lambda function {name} failed to return a result. Check the function to verify "
    "that it has permission to call the PutJobSuccessResult action and that it made a call to "
    "PutJobSuccessResult."
)


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
    request_id: str | None = None  # the invocation's Lambda request id
    created: datetime = field(default_factory=utcnow)
    data: dict = field(default_factory=dict)  # the event's "data", as the function got it

    def to_details(self, account_id: str, pipeline_arn: str) -> dict:
        """GetJobDetails' jobDetails: the event's data plus actionTypeId and pipelineContext."""
        run = self.action
        execution = run.execution
        data = {
            **self.data,
            "actionTypeId": run.declaration["actionTypeId"],
            "pipelineContext": {
                "pipelineName": execution.pipeline_name,
                "stage": {"name": run.stage_name},
                "action": {"name": run.name, "actionExecutionId": run.id},
                "pipelineArn": pipeline_arn,
                "pipelineExecutionId": execution.id,
            },
        }
        return {"id": self.id, "data": data, "accountId": account_id}


class JobBoard:
    """Every job of one region, open or ended (GetJobDetails answers for both)."""

    def __init__(self, lock: threading.RLock):
        self._lock = lock
        self._jobs: dict[str, Job] = {}

    def open(self, action: ActionRun, function_name: str, token: str | None) -> Job:
        job = Job(str(uuid.uuid4()), action, function_name, token)
        with self._lock:
            self._jobs[job.id] = job
            action.current_job = job
        return job

    def restore(self, jobs) -> None:
        """Jobs saved before a restart (each action run's last one), for GetJobDetails."""
        with self._lock:
            for job in jobs:
                self._jobs[job.id] = job

    def has(self, job_id: str) -> bool:
        return job_id in self._jobs

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise exc.JobNotFoundException(job_id)
        return job

    def _open_job(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status != "InProgress":
            raise exc.InvalidJobStateException(job_id, job.status)
        return job

    # -- results ----------------------------------------------------------------------------
    def succeed(
        self,
        job_id: str,
        continuation_token: str | None = None,
        execution_details: dict | None = None,
        output_variables: dict | None = None,
    ) -> None:
        if continuation_token and output_variables:
            raise exc.ValidationException(
                "outputVariables can be returned only when the job is complete: don't send a "
                "continuationToken with them"
            )
        total = size(output_variables or {})
        with self._lock:
            job = self._open_job(job_id)
            if total > MAX_OUTPUT_VARIABLES_BYTES:
                raise exc.OutputVariablesSizeExceededException(total, MAX_OUTPUT_VARIABLES_BYTES)
            job.status = "Succeeded"
            job.success = {
                "continuationToken": continuation_token,
                "executionDetails": execution_details or {},
                "outputVariables": dict(output_variables or {}),
            }
            job.done.set()

    def fail(self, job_id: str, failure_details: dict) -> None:
        with self._lock:
            job = self._open_job(job_id)
            job.status = "Failed"
            job.failure = dict(failure_details)
            job.done.set()

    def end(self, job: Job, status: str) -> bool:
        """End a job nobody reported on (TimedOut, Abandoned, Failed to invoke); False if a
        result came first."""
        with self._lock:
            if job.status != "InProgress":
                return False
            job.status = status
            job.done.set()
            return True
