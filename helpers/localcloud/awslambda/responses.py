"""Lambda's API over HTTP (restJson1): Invoke, answered by the runtime, and the checks AWS makes
before the calls moto stores.

The server calls ``install()`` once, ``before_moto(...)`` for every Lambda request it will pass
to moto (it raises the AwsError AWS would answer instead), and ``handle_invoke`` for Invoke.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile

from .. import backends, validation
from ..access.operations import Operation
from ..errors import AwsError
from . import logging_config, paging, states
from .exceptions import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestEntityTooLargeException,
    ResourceConflictException,
    ValidationException,
)
from .packages import MAX_UNZIPPED_BYTES, too_large
from .runtime import LambdaRuntime, is_json
from .runtimes import check_supported

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
SYNC_LIMIT = 6 * 1024 * 1024  # a RequestResponse payload
ASYNC_LIMIT = 1024 * 1024  # an Event payload: raised from 256 KB to 1 MB in October 2025
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")

# Limits of on-demand functions that the service model states more loosely (its maxima also
# cover other kinds of function): AWS answers them in the model's ValidationException wording.
LIMITS = {"Timeout": ("timeout", 900), "MemorySize": ("memorySize", 10240)}

# Environment variables Lambda sets and refuses to let a function configure ("Defined runtime
# environment variables" in the Lambda developer guide).
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def install() -> None:
    """Patch moto's Lambda once, at start-up: function states (``states.py``) and the
    LoggingConfig moto drops (``logging_config.py``)."""
    states.install()
    logging_config.install()
    paging.install()


# -- before moto --------------------------------------------------------------------------
def before_moto(operation: Operation | None, region: str, runtime: LambdaRuntime) -> None:
    """AWS's answer to a Lambda request that moto would accept but AWS refuses: invalid
    parameters, deprecated runtimes, reserved variables, a package that isn't a zip, a
    function still being created or updated. Returns None when moto may go ahead."""
    if operation is None or operation.service != "lambda":
        return
    check = BEFORE_MOTO.get(operation.name)
    if check is not None:
        check(operation.params, region, runtime)


def _create_function(params: dict, region: str, runtime: LambdaRuntime) -> None:
    _validate("CreateFunction", params)
    if params.get("PackageType", "Zip") == "Zip" and not (
        params.get("Runtime") and params.get("Handler")
    ):
        raise InvalidParameterValueException.missing_runtime_or_handler()
    check_supported(params.get("Runtime"))
    _check_variables(params)
    logging_config.check(params)
    _check_package(params.get("Code"))


def _update_function_configuration(params: dict, region: str, runtime: LambdaRuntime) -> None:
    _validate("UpdateFunctionConfiguration", params)
    check_supported(params.get("Runtime"))
    _check_variables(params)
    if isinstance(params.get("FunctionName"), str):
        current = logging_config.of(runtime.resolve(region, params["FunctionName"]))
        logging_config.check(params, current)
    _check_not_busy(params, region, runtime)


def _update_function_code(params: dict, region: str, runtime: LambdaRuntime) -> None:
    _validate("UpdateFunctionCode", params)
    _check_package(params)
    _check_not_busy(params, region, runtime)


def _publish_version(params: dict, region: str, runtime: LambdaRuntime) -> None:
    _validate("PublishVersion", params)
    _check_not_busy(params, region, runtime)


BEFORE_MOTO = {
    "CreateFunction": _create_function,
    "UpdateFunctionConfiguration": _update_function_configuration,
    "UpdateFunctionCode": _update_function_code,
    "PublishVersion": _publish_version,
}


def _validate(operation: str, params: dict) -> None:
    """The model's constraints, with on-demand functions' limits where the model is looser."""
    errors = validation.problems("lambda", operation, params)
    for name, (path, maximum) in LIMITS.items():
        value = params.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= maximum:
            continue
        looser = f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
        errors = [e for e in errors if not e.startswith(looser + "value less than or equal")]
        errors.append(f"{looser}value less than or equal to {maximum}")
    if errors:
        raise ValidationException(validation.message(errors))


def _check_variables(params: dict) -> None:
    environment = params.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    reserved = [name for name in variables or {} if name in RESERVED_VARIABLES]
    if reserved:
        raise InvalidParameterValueException.reserved_variables(reserved)


def _check_package(code) -> None:
    """The code must have a source, and a .zip deployment package must be a zip file with
    something in it (inline, or the S3 object named)."""
    if not isinstance(code, dict):
        return  # the model check has answered already
    if isinstance(code.get("ZipFile"), str):
        try:
            package = base64.b64decode(code["ZipFile"], validate=True)
        except (binascii.Error, ValueError):
            package = b""
    elif isinstance(code.get("S3Bucket"), str) and isinstance(code.get("S3Key"), str):
        try:
            package = backends.read_object(code["S3Bucket"], code["S3Key"]).body
        except backends.ArtifactError:
            return  # moto answers a missing bucket or key as Lambda does
    elif code.get("ImageUri"):
        return
    else:
        raise InvalidParameterValueException.no_code()
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            empty = not archive.namelist()
            oversized = too_large(archive)  # from the central directory: nothing is unzipped
    except (zipfile.BadZipFile, ValueError):
        raise InvalidParameterValueException.not_a_zip() from None
    if empty:
        raise InvalidParameterValueException.empty_zip()
    if oversized:
        raise InvalidParameterValueException.unzipped_too_large(MAX_UNZIPPED_BYTES)


def _check_not_busy(params: dict, region: str, runtime: LambdaRuntime) -> None:
    """Lambda refuses to change or publish a function still being created or updated."""
    name = params.get("FunctionName")
    if not isinstance(name, str):
        return
    fn = runtime.resolve(region, name)
    if states.pending(fn):
        raise ResourceConflictException.pending_update(fn.function_arn)
    if states.updating(fn):
        raise ResourceConflictException.update_in_progress(fn.function_arn)


# -- Invoke -------------------------------------------------------------------------------
def handle_invoke(
    runtime: LambdaRuntime, region: str, name: str, query: dict, headers, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Invoke: RequestResponse (200 + payload), Event (202), DryRun (204)."""
    invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    qualifier = (query.get("Qualifier") or [None])[0]
    _validate("Invoke", {"FunctionName": name, "Qualifier": qualifier})
    if invocation_type not in INVOCATION_TYPES:
        raise InvalidParameterValueException(f"Unsupported invocation type {invocation_type}")
    runtime.resolve(region, name, qualifier)
    if invocation_type == "DryRun":
        return 204, {}, b""
    if invocation_type == "RequestResponse" and len(body) > SYNC_LIMIT:
        raise RequestEntityTooLargeException.invoke(SYNC_LIMIT)
    if invocation_type == "Event" and len(body) > ASYNC_LIMIT:
        raise RequestEntityTooLargeException.event(len(body), ASYNC_LIMIT)
    if not is_json(body):
        raise InvalidRequestContentException.not_json()
    if invocation_type == "Event":
        request_id = runtime.invoke_async(region, name, body, qualifier)
        return 202, {"X-Amzn-RequestId": request_id}, b""
    invocation = runtime.invoke(region, name, body, qualifier)
    out = {
        "X-Amzn-RequestId": invocation.request_id,
        "X-Amz-Executed-Version": invocation.executed_version,
        "Content-Type": "application/json",
    }
    if invocation.function_error:
        out["X-Amz-Function-Error"] = invocation.function_error
    if (headers.get("X-Amz-Log-Type") or "None") == "Tail":
        tail = ("\n".join(invocation.log_lines) + "\n").encode()[-4096:]
        out["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
    return 200, out, invocation.result_payload


def error_response(error: AwsError) -> tuple[int, dict[str, str], bytes]:
    return (
        error.status,
        {"X-Amzn-ErrorType": error.code, "Content-Type": "application/json"},
        error.rest_json_body(),
    )
