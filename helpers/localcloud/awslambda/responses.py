"""Lambda's Invoke API over HTTP (restJson1), answered by the runtime."""

from __future__ import annotations

import base64
import re

from ..errors import AwsError
from .runtime import LambdaRuntime, is_json

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
SYNC_LIMIT = 6 * 1024 * 1024
ASYNC_LIMIT = 1024 * 1024  # raised from 256 KB to 1 MB in 2025


def handle_invoke(
    runtime: LambdaRuntime, region: str, name: str, query: dict, headers, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Invoke: RequestResponse (200 + payload), Event (202), DryRun (204)."""
    invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    qualifier = (query.get("Qualifier") or [None])[0]
    if invocation_type not in ("RequestResponse", "Event", "DryRun"):
        raise AwsError(
            "InvalidParameterValueException",
            f"Unsupported invocation type {invocation_type}",
        )
    runtime.resolve(region, name, qualifier)
    if invocation_type == "DryRun":
        return 204, {}, b""
    limit = SYNC_LIMIT if invocation_type == "RequestResponse" else ASYNC_LIMIT
    if len(body) > limit:
        raise AwsError(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the {invocation_type} invocation type",
            413,
        )
    if not is_json(body):
        raise AwsError(
            "InvalidRequestContentException",
            "Could not parse request body into json: Could not parse payload into json",
        )
    if invocation_type == "Event":
        request_id = runtime.invoke_async(region, name, body)
        return 202, {"X-Amzn-RequestId": request_id}, b""
    invocation = runtime.invoke(region, name, body, qualifier)
    out = {
        "X-Amzn-RequestId": invocation.request_id,
        "X-Amz-Executed-Version": qualifier if qualifier and qualifier.isdigit() else "$LATEST",
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
