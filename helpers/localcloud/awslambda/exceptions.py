"""Lambda's modelled exceptions: one class per AWS error, named after it, AWS's message inside.

botocore maps the code (the class name) to the same exception class a learner catches on AWS,
``client.exceptions.ResourceConflictException`` and so on; the HTTP status is the one
Lambda's service model gives the error.
"""

from __future__ import annotations

import json

from ..errors import AwsError

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"


class LambdaError(AwsError):
    """An error of Lambda's model; the class name is its code."""

    status = 400

    def __init__(self, message: str):
        super().__init__(type(self).__name__, message, self.status)


class ResourceNotFoundException(LambdaError):
    status = 404

    @classmethod
    def function(cls, arn: str) -> ResourceNotFoundException:
        return cls(f"Function not found: {arn}")


class ResourceConflictException(LambdaError):
    """Another operation on the function is under way (its State or LastUpdateStatus)."""

    status = 409

    @classmethod
    def update_in_progress(cls, arn: str) -> ResourceConflictException:
        return cls(
            f"The operation cannot be performed at this time. An update is in progress for "
            f"resource: {arn}"
        )

    @classmethod
    def pending_invoke(cls) -> ResourceConflictException:
        """Invoke of a function that is still being created."""
        return cls(
            "The operation cannot be performed at this time. The function is currently in the "
            "following state: Pending"
        )

    @classmethod
    def pending_update(cls, arn: str) -> ResourceConflictException:
        """An update or PublishVersion of a function that is still being created."""
        return cls(
            f"The operation cannot be performed at this time. The resource {arn} is currently "
            "in the following state: 'Pending'. StateReasonCode: 'Creating'"
        )


class InvalidParameterValueException(LambdaError):
    @classmethod
    def deprecated_runtime(
        cls, runtime: str, recommended: str | None
    ) -> InvalidParameterValueException:
        message = (
            f"The runtime parameter of {runtime} is no longer supported for creating or "
            "updating AWS Lambda functions."
        )
        if recommended:
            message += (
                f" We recommend you use the new runtime ({recommended}) while creating or "
                "updating functions."
            )
        return cls(message)

    @classmethod
    def reserved_variables(cls, names: list[str]) -> InvalidParameterValueException:
        return cls(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not "
            f"supported for modification. Reserved keys used in this request: {', '.join(names)}"
        )

    @classmethod
    def not_a_zip(cls) -> InvalidParameterValueException:
        return cls(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        )

    @classmethod
    def unzipped_too_large(cls, limit: int) -> InvalidParameterValueException:
        return cls(f"Unzipped size must be smaller than {limit} bytes")

    @classmethod
    def empty_zip(cls) -> InvalidParameterValueException:
        return cls("Uploaded file must be a non-empty zip")

    @classmethod
    def no_code(cls) -> InvalidParameterValueException:
        return cls("Please provide a source for function code.")

    @classmethod
    def missing_runtime_or_handler(cls) -> InvalidParameterValueException:
        return cls(
            "Runtime and Handler are mandatory parameters for functions created with "
            "deployment packages."
        )


class ValidationException(LambdaError):
    """A constraint of the request's model is broken (``validation.message`` words it)."""


class InvalidRequestContentException(LambdaError):
    @classmethod
    def not_json(cls) -> InvalidRequestContentException:
        return cls("Could not parse request body into json: Could not parse payload into json")


class RequestEntityTooLargeException(LambdaError):
    """An Invoke payload over Lambda's limit. botocore's model names this error
    RequestTooLargeException, but Lambda answers RequestEntityTooLargeException (aws/aws-sdk#45),
    so on AWS too it arrives as a plain ClientError with this code."""

    status = 413

    @classmethod
    def invoke(cls, limit: int) -> RequestEntityTooLargeException:
        """A RequestResponse payload over 6 MB."""
        return cls(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")

    @classmethod
    def event(cls, size: int, limit: int) -> RequestEntityTooLargeException:
        """An Event (asynchronous) payload over 1 MB."""
        return cls(
            f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"
        )


class InvalidRuntimeException(LambdaError):
    """The function's runtime can't run here (Invoke's model declares this error)."""

    status = 502


class InvalidZipFileException(LambdaError):
    """The deployment package can't be unzipped when the function runs."""

    status = 502

    @classmethod
    def package(cls) -> InvalidZipFileException:
        return cls("Lambda was unable to unzip the deployment package.")


class TooManyRequestsException(LambdaError):
    """Invoke over the function's reserved concurrency (reserved concurrency 0 throttles every
    invocation). AWS's body carries ``Reason`` beside the message."""

    status = 429

    def __init__(self, message: str = "Rate Exceeded.", reason: str = RESERVED_LIMIT):
        super().__init__(message)
        self.reason = reason

    def rest_json_body(self) -> bytes:
        return json.dumps({"Reason": self.reason, "Type": "User", "message": self.message}).encode()
