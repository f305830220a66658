"""Website health check for a CodePipeline Lambda action: the page's Node.js sample, in Python.

CodePipeline invokes this function with a job. It reads the URL to check from the action's
UserParameters (or JSON {"url": ..., "expect": ...} to look for another text than
"Congratulations"), fetches the page, and ends the job with PutJobSuccessResult or
PutJobFailureResult. Until it reports, the action stays In progress; a function that never
reports makes the action fail later with "failed to return a result".

How a page is fetched safely (deadlines, size caps, allowed schemes, encodings) is in
page_fetch.py, the second module of this deployment package. The event is never printed: its
artifactCredentials are live AWS keys.
"""

import functools
import json
import traceback
from typing import Any

import boto3

import page_fetch
from page_fetch import CheckFailure, ConfigurationError

DEFAULT_EXPECT = "Congratulations"
MAX_MESSAGE_CHARS = 5000  # FailureDetails.message limit
MAX_SUMMARY_CHARS = 2048  # ExecutionDetails.summary limit
EXAMPLE = 'http://192.0.2.4 or {"url": "https://example.com", "expect": "Congratulations"}'


@functools.cache
def _codepipeline() -> Any:
    """The CodePipeline client, made on first use and reused while the environment is warm.
    Region, credentials and endpoint come from the environment: the same code runs anywhere."""
    return boto3.client("codepipeline")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Check the page named in UserParameters and end the CodePipeline job with the result."""
    job = event["CodePipeline.job"]  # not a CodePipeline job event: nothing to report to
    job_id = job["id"]
    print(f"Job {job_id}: health check started")
    try:
        configuration = job.get("data", {}).get("actionConfiguration", {}).get("configuration")
        url, expect = parse_user_parameters((configuration or {}).get("UserParameters"))
        timeout = page_fetch.request_timeout(context.get_remaining_time_in_millis())
        print(f"Job {job_id}: GET {url}, expecting {expect!r}, time limit {timeout:.1f} s")
        summary = page_fetch.check_page(url, expect, timeout)
    except CheckFailure as exc:
        failure_type, message = type(exc).__name__, str(exc)
    except Exception as exc:
        traceback.print_exc()
        failure_type = "JobFailed"
        message = f"The health check function failed unexpectedly: {type(exc).__name__}: {exc}"
    else:
        report_success(job_id, summary)
        return {"jobId": job_id, "outcome": "succeeded", "summary": summary}
    report_failure(job_id, failure_type, message, getattr(context, "aws_request_id", None))
    return {"jobId": job_id, "outcome": "failed", "type": failure_type, "message": message}


def parse_user_parameters(raw: object) -> tuple[str, str]:
    """(url, expected text) from UserParameters: a plain URL or JSON {"url", "expect"}."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigurationError(
            f"UserParameters is empty: set it to the URL to check, for example {EXAMPLE}."
        )
    text = raw.strip()
    if not text.startswith(("{", "[")):
        return page_fetch.validate_url(text), DEFAULT_EXPECT
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"UserParameters looks like JSON but is not valid JSON ({exc.msg} at character "
            f"{exc.pos}): {text!r}. Use a plain URL or {EXAMPLE}."
        ) from None
    if not isinstance(params, dict):
        raise ConfigurationError(f"UserParameters JSON must be an object, like {EXAMPLE}.")
    unknown = sorted(set(params) - {"url", "expect"})
    if unknown:
        raise ConfigurationError(
            f"UserParameters JSON has unknown key(s) {', '.join(map(repr, unknown))}; "
            'only "url" and "expect" are understood.'
        )
    url, expect = params.get("url"), params.get("expect", DEFAULT_EXPECT)
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f'UserParameters JSON needs a "url" string, like {EXAMPLE}.')
    if not isinstance(expect, str) or not expect:
        raise ConfigurationError(
            f'"expect" in UserParameters must be a non-empty string (got {expect!r}).'
        )
    return page_fetch.validate_url(url.strip()), expect


def report_success(job_id: str, summary: str) -> None:
    """PutJobSuccessResult; if that call fails, log why and re-raise (a Lambda error)."""
    summary = _truncate(summary, MAX_SUMMARY_CHARS)
    print(f"Job {job_id}: succeeded: {summary}")
    try:
        _codepipeline().put_job_success_result(jobId=job_id, executionDetails={"summary": summary})
    except Exception as exc:
        print(f"Job {job_id}: could not report success to CodePipeline: {_why(exc, 'Success')}")
        raise
    print(f"Job {job_id}: success reported to CodePipeline")


def report_failure(job_id: str, failure_type: str, message: str, request_id: str | None) -> None:
    """PutJobFailureResult with the reason; if that call fails, log why and re-raise."""
    message = _truncate(message, MAX_MESSAGE_CHARS)
    print(f"Job {job_id}: failed ({failure_type}): {message}")
    details = {"type": failure_type, "message": message}
    if request_id:
        details["externalExecutionId"] = request_id
    try:
        _codepipeline().put_job_failure_result(jobId=job_id, failureDetails=details)
    except Exception as exc:
        print(f"Job {job_id}: could not report failure to CodePipeline: {_why(exc, 'Failure')}")
        raise
    print(f"Job {job_id}: failure reported to CodePipeline")


def _why(exc: Exception, kind: str) -> str:
    """The error, and what it usually means: each has its own cause."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    hint = {
        "AccessDeniedException": f"the function's role must allow codepipeline:PutJob{kind}Result",
        "JobNotFoundException": "no pipeline is waiting for this job id (an example event?)",
        "InvalidJobStateException": "this job already has a result (reported twice, or retried)",
    }.get(code, "")
    return f"{type(exc).__name__}: {exc}" + (f" — {hint}" if hint else "")


def _truncate(text: str, limit: int) -> str:
    """text cut to at most limit characters (the API's limit), marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
