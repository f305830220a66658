"""CodePipeline's modelled exceptions (botocore raises the same classes as on AWS)."""

from __future__ import annotations

from ..errors import AwsError


def pipeline_not_found(account_id: str, name: str) -> AwsError:
    return AwsError(
        "PipelineNotFoundException",
        f"Account '{account_id}' does not have a pipeline with name '{name}'",
    )


def execution_not_found(name: str, execution_id: str) -> AwsError:
    return AwsError(
        "PipelineExecutionNotFoundException",
        f"Pipeline execution with id '{execution_id}' does not exist in pipeline "
        f"with name '{name}'",
    )


def job_not_found(job_id: str) -> AwsError:
    return AwsError("JobNotFoundException", f"Job with id {job_id} not found")


def invalid_job_state(job_id: str, status: str) -> AwsError:
    return AwsError(
        "InvalidJobStateException",
        f"Job {job_id} is in state {status}; a result can be reported only once, "
        "while the job is InProgress",
    )


def stage_not_found(stage: str) -> AwsError:
    return AwsError("StageNotFoundException", f"Stage '{stage}' does not exist in the pipeline")


def stage_not_retryable(message: str) -> AwsError:
    return AwsError("StageNotRetryableException", message)


def not_latest_execution(message: str) -> AwsError:
    return AwsError("NotLatestPipelineExecutionException", message)


def execution_not_stoppable(message: str) -> AwsError:
    return AwsError("PipelineExecutionNotStoppableException", message)


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message)
