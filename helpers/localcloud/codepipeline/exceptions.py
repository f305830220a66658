"""CodePipeline's modelled errors: one class per AWS error, named after it, message inside.

botocore raises the same exception classes as on AWS (``client.exceptions.JobNotFoundException``
…) because each class's code is its own name. Which operation may raise which error follows the
service model (``operation_model.error_shapes``); tests hold every operation to it.
"""

from __future__ import annotations

from .. import validation
from ..errors import AwsError


class CodePipelineError(AwsError):
    """An error of CodePipeline's model: its code is the class name."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(type(self).__name__, message, status)


# -- any operation --------------------------------------------------------------------------
class ValidationException(CodePipelineError):
    """Input that breaks the model's constraints, or an operation's own rules."""

    @classmethod
    def of(cls, problems: list[str]) -> ValidationException:
        """AWS's ``N validation error(s) detected: ...`` for the model's constraint problems."""
        return cls(validation.message(problems))


class SerializationException(CodePipelineError):
    """A body that isn't JSON, or a member of the wrong JSON type (AWS's JSON front end)."""


class InvalidNextTokenException(CodePipelineError):
    def __init__(self):
        super().__init__(
            "The next token is not valid: pass the nextToken of the previous page of this "
            "same request, unchanged."
        )


# -- pipelines ------------------------------------------------------------------------------
class PipelineNotFoundException(CodePipelineError):
    def __init__(self, account_id: str, name: str):
        super().__init__(f"Account '{account_id}' does not have a pipeline with name '{name}'")


class PipelineVersionNotFoundException(CodePipelineError):
    def __init__(self, name: str, version: int, latest: int):
        super().__init__(
            f"Pipeline '{name}' has no version {version}: its versions are 1 to {latest}."
        )


class PipelineNameInUseException(CodePipelineError):
    def __init__(self, account_id: str, name: str):
        super().__init__(
            f"A pipeline with the name '{name}' already exists in account '{account_id}'"
        )


class InvalidStructureException(CodePipelineError):
    """The pipeline as a whole is not valid (stages, artifacts, role, type)."""


class InvalidStageDeclarationException(CodePipelineError):
    """A stage of the declaration is not valid."""


class InvalidActionDeclarationException(CodePipelineError):
    """An action of the declaration is not valid (type, configuration, artifacts)."""


class InvalidBlockerDeclarationException(CodePipelineError):
    """A stage declares blockers, which CodePipeline reserves for future use."""


# -- tags -----------------------------------------------------------------------------------
class ResourceNotFoundException(CodePipelineError):
    def __init__(self, account_id: str, arn: str):
        super().__init__(
            f"The account with id '{account_id}' does not include a pipeline with the ARN '{arn}'"
        )


class InvalidArnException(CodePipelineError):
    def __init__(self, arn: str):
        super().__init__(f"The ARN '{arn}' is not the ARN of a pipeline")


class InvalidTagsException(CodePipelineError):
    def __init__(self):
        super().__init__(
            "Not allowed to modify system tags. System tags start with 'aws:'. "
            "msg=[Caller is an end user and not allowed to mutate system tags]"
        )


class TooManyTagsException(CodePipelineError):
    def __init__(self, arn: str):
        super().__init__(f"Tag limit exceeded for resource [{arn}].")


# -- executions -----------------------------------------------------------------------------
class PipelineExecutionNotFoundException(CodePipelineError):
    def __init__(self, name: str, execution_id: str):
        super().__init__(
            f"Pipeline execution with id '{execution_id}' does not exist in pipeline "
            f"with name '{name}'"
        )


class PipelineExecutionNotStoppableException(CodePipelineError):
    """Only an InProgress (or Stopping, to abandon) execution can be stopped."""


class DuplicatedStopRequestException(CodePipelineError):
    def __init__(self):
        super().__init__("A stop request is already in progress for this pipeline execution")


class StageNotFoundException(CodePipelineError):
    def __init__(self, stage: str):
        super().__init__(f"Stage '{stage}' does not exist in the pipeline")


class StageNotRetryableException(CodePipelineError):
    """Only a failed or stopped stage of a finished execution can be retried."""


class NotLatestPipelineExecutionException(CodePipelineError):
    """A retry of an execution that a later one has replaced at that stage."""


class ConflictException(CodePipelineError):
    """The request conflicts with the pipeline's current state."""


class UnableToRollbackStageException(CodePipelineError):
    """A rollback the stage or its target execution doesn't allow (a source stage, a stage
    running now, a target that didn't succeed in the stage or is itself a rollback)."""


class PipelineExecutionOutdatedException(CodePipelineError):
    """A rollback target started with an older version of the pipeline."""


class ConditionNotOverridableException(CodePipelineError):
    """There is no condition of that type to override."""


# -- jobs -----------------------------------------------------------------------------------
class JobNotFoundException(CodePipelineError):
    def __init__(self, job_id: str):
        super().__init__(f"Job with id {job_id} not found")


class InvalidJobStateException(CodePipelineError):
    def __init__(self, job_id: str, status: str):
        super().__init__(
            f"Job {job_id} is in state {status}; a result can be reported only once, "
            "while the job is InProgress"
        )


class OutputVariablesSizeExceededException(CodePipelineError):
    def __init__(self, size: int, limit: int):
        super().__init__(
            f"Exceeded the total size limit for all variables in the pipeline: the output "
            f"variables of an action may total {limit} bytes (keys and values), these total "
            f"{size}."
        )
