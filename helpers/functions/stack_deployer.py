"""Create or update a CloudFormation stack from a template in a CodePipeline artifact.

A Lambda "Invoke" action in CodePipeline runs this function. It reads JSON UserParameters
such as ``{"stack":"MyTestStack","file":"template-package/template.json","artifact":"MyTemplate"}``,
downloads the input artifact (a zip) with the job's temporary artifact credentials, takes the
template out of the zip and creates the stack, or updates it if it exists. CloudFormation works
asynchronously, so the function ends the job with a continuation token; CodePipeline then invokes
it again with that token, and it checks the stack status until the create or update is done.
Every outcome is reported with PutJobSuccessResult or PutJobFailureResult: without a report the
action only fails after CodePipeline's timeout.

This is the AWS CodePipeline user guide's "Sample Python function that uses an AWS CloudFormation
template", made correct on Python 3. Fixes compared with the sample:

1. The template read from the zip is ``bytes`` on Python 3 and boto3 rejects bytes for
   TemplateBody; it is decoded as UTF-8 (a BOM is allowed) with a clear failure otherwise.
2. A stack in ROLLBACK_COMPLETE (its creation failed) can only be deleted, not updated; the sample
   treats it as updatable. The job now fails with a message telling you to delete the stack.
3. UPDATE_ROLLBACK_COMPLETE (a failed update that rolled back) can be updated again; the sample
   refuses it, which would block the pipeline for good after one failed update.
4. When the event has no job id, the sample's error path calls put_job_failure with an unbound
   ``job_id`` (NameError). Now there is a clear MissingJobIdError and no report (there is no job
   to report to). Every other exception is still reported with PutJobFailureResult; a failed
   report is logged and re-raised instead of being turned into a second report.
5. UserParameters errors say what is wrong (the JSON error, a non-object value, the missing key)
   and show an example; they are reported as ConfigurationError.
6. Missing artifact, missing or unreadable S3 object, corrupt zip and a file missing from the zip
   fail the job with a message that names what was looked for and what is there.
7. The artifact is downloaded into a TemporaryDirectory that is always removed (the sample also
   creates a stray NamedTemporaryFile it never uses).
8. ``stack_exists`` checks the error code ValidationError as well as "does not exist".
9. The status check also waits through UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, and the continuation
   token carries the stack and the operation, so failures name the status and what was attempted.
10. Results carry executionDetails (a summary such as "Stack MyTestStack: CREATE_COMPLETE") and
    the Lambda request id as externalExecutionId; failure messages are cut to 5000 characters.
11. Clients are created on first use and reused across warm invocations; nothing logs the event,
    so the artifact credentials never reach CloudWatch.
"""

import functools
import json
import os
import tempfile
import traceback
import zipfile
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

print("Loading function")

EXAMPLE_USER_PARAMETERS = (
    '{"stack":"MyTestStack","file":"template-package/template.json","artifact":"MyTemplate"}'
)
REQUIRED_PARAMETERS = ("stack", "artifact", "file")

# Limits of the CodePipeline API (failureDetails.message, executionDetails.summary).
MAX_FAILURE_MESSAGE = 5000
MAX_SUMMARY = 2048

# CloudFormation accepts at most 51,200 bytes in TemplateBody (larger templates must be uploaded
# to S3 and passed as TemplateURL, up to 1 MB). The artifact zip itself is not capped: a source
# artifact can be a whole repository, so it goes to a temporary directory on disk (/tmp), and
# only the template file is read into memory, never more than this many bytes.
MAX_TEMPLATE_BYTES = 51_200

# States in which CloudFormation accepts UpdateStack.
UPDATABLE_STATUSES = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
# Statuses that end our own create or update successfully.
SUCCESS_STATUSES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
# Statuses in which our own create or update (or its rollback) is still running.
IN_PROGRESS_STATUSES = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    }
)


class JobError(Exception):
    """A problem with this job, reported to CodePipeline with its message as it is."""

    failure_type = "JobFailed"


class JobConfigurationError(JobError):
    """The action is set up wrongly (UserParameters, artifact names): a ConfigurationError."""

    failure_type = "ConfigurationError"


class MissingJobIdError(ValueError):
    """The event has no CodePipeline job id, so no result can be reported."""


class ReportError(RuntimeError):
    """Telling CodePipeline the result failed; only the Lambda logs can show what happened."""


@functools.cache
def _cloudformation() -> BaseClient:
    """The CloudFormation client, created on first use and reused by warm invocations."""
    return boto3.client("cloudformation")


@functools.cache
def _codepipeline() -> BaseClient:
    """The CodePipeline client, created on first use and reused by warm invocations."""
    return boto3.client("codepipeline")


def _clip(text: str, limit: int) -> str:
    """Cut text to the API's length limit, marking the cut."""
    if len(text) <= limit:
        return text
    marker = " [...]"
    return text[: limit - len(marker)] + marker


def find_artifact(artifacts: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Return the input artifact called name; the error lists the names there are."""
    for artifact in artifacts:
        if artifact.get("name") == name:
            return artifact
    available = ", ".join(repr(artifact.get("name")) for artifact in artifacts) or "none"
    raise JobConfigurationError(
        f'Input artifact named "{name}" not found in the job. Input artifacts: {available}. '
        'Set "artifact" in UserParameters to the name of the action\'s input artifact.'
    )


def get_template(s3: BaseClient, artifact: dict[str, Any], file_in_zip: str) -> str:
    """Download the artifact zip and return the template file in it as text.

    The zip goes to a temporary directory that is removed on return; only the template file is
    read into memory (at most MAX_TEMPLATE_BYTES + 1 bytes) and decoded, since TemplateBody
    must be a str.
    """
    bucket = artifact["location"]["s3Location"]["bucketName"]
    key = artifact["location"]["s3Location"]["objectKey"]
    where = f"s3://{bucket}/{key}"
    print(f"Downloading input artifact {artifact.get('name')!r} from {where}")

    with tempfile.TemporaryDirectory() as tmp_dir:
        zip_path = os.path.join(tmp_dir, "artifact.zip")
        try:
            s3.download_file(bucket, key, zip_path)
        except ClientError as error:
            details = error.response.get("Error", {})
            raise JobError(
                f"Could not download the input artifact from {where}: "
                f"{details.get('Code')} {details.get('Message')} ({error.operation_name}). "
                "Check that the object exists and that the pipeline can read it."
            ) from error

        try:
            with zipfile.ZipFile(zip_path) as archive:
                data = _read_member(archive, file_in_zip, where)
        except zipfile.BadZipFile as error:
            raise JobError(
                f"The input artifact {where} is not a valid zip file ({error}). "
                "Upload the template as a .zip archive."
            ) from error

    if not data:
        raise JobError(f"Template file {file_in_zip!r} in {where} is empty.")
    try:
        template = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise JobError(
            f"Template file {file_in_zip!r} in {where} is not UTF-8 text ({error}). "
            "CloudFormation templates are JSON or YAML text; save the file as UTF-8."
        ) from error
    print(f"Read template {file_in_zip!r}: {len(data)} bytes")
    return template


def _read_member(archive: zipfile.ZipFile, file_in_zip: str, where: str) -> bytes:
    """Read one file from the zip, failing clearly if it's missing or too big for TemplateBody."""
    try:
        info = archive.getinfo(file_in_zip)
    except KeyError:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        shown = ", ".join(repr(name) for name in names[:10]) or "no files"
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        raise JobError(
            f"File {file_in_zip!r} not found in the input artifact {where}. "
            f'It contains: {shown}{more}. Set "file" in UserParameters to the template\'s path '
            "inside the zip."
        ) from None
    with archive.open(info) as member:
        data = member.read(MAX_TEMPLATE_BYTES + 1)
    if len(data) > MAX_TEMPLATE_BYTES:
        raise JobError(
            f"Template file {file_in_zip!r} in {where} is larger than {MAX_TEMPLATE_BYTES} bytes, "
            "the most CloudFormation accepts as TemplateBody. Upload it to S3 and use TemplateURL."
        )
    return data


def update_stack(stack: str, template: str) -> bool:
    """Start a stack update; False when CloudFormation says there is nothing to change."""
    try:
        _cloudformation().update_stack(StackName=stack, TemplateBody=template)
    except ClientError as error:
        details = error.response.get("Error", {})
        if (
            details.get("Code") == "ValidationError"
            and details.get("Message") == "No updates are to be performed."
        ):
            return False
        raise
    return True


def stack_exists(stack: str) -> bool:
    """Whether the stack exists; other errors (permissions, throttling) are raised."""
    try:
        _cloudformation().describe_stacks(StackName=stack)
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationError" and "does not exist" in details.get(
            "Message", ""
        ):
            return False
        raise
    return True


def create_stack(stack: str, template: str) -> None:
    """Start creating the stack; CloudFormation goes on asynchronously."""
    _cloudformation().create_stack(StackName=stack, TemplateBody=template)


def get_stack_status(stack: str) -> str:
    """The stack's status, such as CREATE_COMPLETE."""
    stack_description = _cloudformation().describe_stacks(StackName=stack)
    return stack_description["Stacks"][0]["StackStatus"]


def _execution_details(summary: str, request_id: str | None) -> dict[str, Any]:
    """executionDetails for PutJobSuccessResult: a summary and the Lambda request id."""
    details: dict[str, Any] = {"summary": _clip(summary, MAX_SUMMARY)}
    if request_id:
        details["externalExecutionId"] = request_id
    return details


def _report(operation: str, **kwargs: Any) -> None:
    """Call a PutJob*Result operation; on failure log it and raise ReportError."""
    try:
        getattr(_codepipeline(), operation)(**kwargs)
    except Exception as error:
        print(f"Could not report the result to CodePipeline ({operation}): {error!r}")
        raise ReportError(
            f"{operation} failed for job {kwargs.get('jobId')}: {error}. Check that the "
            "function's role allows codepipeline:PutJobSuccessResult and PutJobFailureResult."
        ) from error


def put_job_success(job: str, message: str, request_id: str | None = None) -> None:
    """Tell CodePipeline the job succeeded, with message as the summary."""
    print(f"Putting job success for job {job}: {message}")
    _report(
        "put_job_success_result",
        jobId=job,
        executionDetails=_execution_details(message, request_id),
    )


def put_job_failure(
    job: str, message: str, failure_type: str = "JobFailed", request_id: str | None = None
) -> None:
    """Tell CodePipeline the job failed, with a message shown in the pipeline's console."""
    message = _clip(message, MAX_FAILURE_MESSAGE)
    print(f"Putting job failure ({failure_type}) for job {job}: {message}")
    failure_details: dict[str, Any] = {"type": failure_type, "message": message}
    if request_id:
        failure_details["externalExecutionId"] = request_id
    _report("put_job_failure_result", jobId=job, failureDetails=failure_details)


def continue_job_later(
    job: str, message: str, state: dict[str, Any], request_id: str | None = None
) -> None:
    """End this job with a continuation token, so CodePipeline invokes the function again.

    The token is the job's state as JSON ({"previous_job_id", "stack", "operation"}); the next
    invocation finds it in data.continuationToken.
    """
    continuation_token = json.dumps({"previous_job_id": job, **state})
    print(f"Putting job continuation for job {job}: {message}")
    _report(
        "put_job_success_result",
        jobId=job,
        continuationToken=continuation_token,
        executionDetails=_execution_details(message, request_id),
    )


def start_update_or_create(
    job_id: str, stack: str, template: str, request_id: str | None = None
) -> None:
    """Update the stack if it exists, otherwise create it, and report the first step."""
    if stack_exists(stack):
        status = get_stack_status(stack)
        print(f"Stack {stack} exists with status {status}")
        if status == "ROLLBACK_COMPLETE":
            # The sample lists ROLLBACK_COMPLETE as updatable, but a stack whose creation failed
            # can only be deleted. Deleting it here could remove something the learner wants to
            # inspect, so the job fails and says what to do.
            put_job_failure(
                job_id,
                f"Stack {stack} is in ROLLBACK_COMPLETE: its creation failed and CloudFormation "
                "can only delete it, not update it. See the stack's events for the cause, delete "
                f"the stack (aws cloudformation delete-stack --stack-name {stack}), then choose "
                "Release change to create it again.",
                request_id=request_id,
            )
            return
        if status not in UPDATABLE_STATUSES:
            # In progress, or failed in a way that needs a person: fail right away.
            put_job_failure(
                job_id, f"Stack cannot be updated when status is: {status}", request_id=request_id
            )
            return

        print(f"Updating stack {stack}")
        if update_stack(stack, template):
            # Continue the job so the next invocation can watch the update.
            continue_job_later(
                job_id,
                f"Stack {stack}: update started",
                {"stack": stack, "operation": "update"},
                request_id,
            )
        else:
            put_job_success(
                job_id,
                f"Stack {stack}: no updates are to be performed ({status})",
                request_id,
            )
    else:
        print(f"Creating stack {stack}")
        create_stack(stack, template)
        # Continue the job so the pipeline waits until the stack is created.
        continue_job_later(
            job_id,
            f"Stack {stack}: create started",
            {"stack": stack, "operation": "create"},
            request_id,
        )


def check_stack_update_status(
    job_id: str, stack: str, operation: str = "update", request_id: str | None = None
) -> None:
    """Succeed, continue or fail the job depending on the status of our create or update."""
    status = get_stack_status(stack)
    print(f"Stack {stack} ({operation}): {status}")
    if status in SUCCESS_STATUSES:
        put_job_success(job_id, f"Stack {stack}: {status}", request_id)
    elif status in IN_PROGRESS_STATUSES:
        continue_job_later(
            job_id,
            f"Stack {stack}: {status}",
            {"stack": stack, "operation": operation},
            request_id,
        )
    else:
        # Any other status (ROLLBACK_COMPLETE, UPDATE_ROLLBACK_COMPLETE, *_FAILED, ...) means
        # the create or update failed.
        message = (
            f"Stack {stack} {operation} failed: {status}. "
            "See the stack's events in the CloudFormation console for the cause."
        )
        if status == "ROLLBACK_COMPLETE":
            message += " A stack in ROLLBACK_COMPLETE can only be deleted: delete it before the "
            message += "next release."
        put_job_failure(job_id, message, request_id=request_id)


def get_user_params(job_data: dict[str, Any]) -> dict[str, Any]:
    """Decode the action's UserParameters JSON and check stack, artifact and file are there."""
    hint = f"Set the action's UserParameters to a JSON object such as {EXAMPLE_USER_PARAMETERS}"
    configuration = job_data.get("actionConfiguration", {}).get("configuration", {})
    user_parameters = configuration.get("UserParameters")
    if user_parameters is None:
        raise JobConfigurationError(f"The action has no UserParameters. {hint}")
    try:
        decoded_parameters = json.loads(user_parameters)
    except json.JSONDecodeError as error:
        raise JobConfigurationError(
            f"UserParameters could not be decoded as JSON ({error}); got {user_parameters[:100]!r}."
            f" {hint}"
        ) from error
    if not isinstance(decoded_parameters, dict):
        raise JobConfigurationError(
            f"UserParameters must be a JSON object, not a JSON "
            f"{type(decoded_parameters).__name__}. {hint}"
        )
    for key in REQUIRED_PARAMETERS:
        if key not in decoded_parameters:
            raise JobConfigurationError(f'Your UserParameters JSON must include "{key}". {hint}')
        value = decoded_parameters[key]
        if not isinstance(value, str) or not value:
            raise JobConfigurationError(
                f'"{key}" in UserParameters must be a non-empty string, got {value!r}. {hint}'
            )
    return decoded_parameters


def setup_s3_client(job_data: dict[str, Any]) -> BaseClient:
    """An S3 client with the job's temporary credentials for the artifact bucket."""
    credentials = job_data["artifactCredentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["accessKeyId"],
        aws_secret_access_key=credentials["secretAccessKey"],
        aws_session_token=credentials["sessionToken"],
    )
    return session.client("s3", config=Config(signature_version="s3v4"))


def parse_continuation_token(token: str) -> dict[str, Any]:
    """The state saved by continue_job_later; empty if the token isn't our JSON."""
    try:
        state = json.loads(token)
    except json.JSONDecodeError:
        return {}
    return state if isinstance(state, dict) else {}


def get_job_id(event: dict[str, Any]) -> str:
    """The CodePipeline job id; without it there is no job to report to, so raise."""
    job = event.get("CodePipeline.job") if isinstance(event, dict) else None
    job_id = job.get("id") if isinstance(job, dict) else None
    if not job_id:
        keys = sorted(event) if isinstance(event, dict) else type(event).__name__
        message = (
            "The event has no CodePipeline.job.id, so no result can be reported. This function "
            f"must be invoked by a CodePipeline Lambda action (event keys: {keys})."
        )
        print(message)
        raise MissingJobIdError(message)
    return job_id


def lambda_handler(event: dict[str, Any], context: Any) -> str:
    """Start a create or update on a new job, or check the stack on a continued one.

    Every exception is reported with PutJobFailureResult; if the report itself fails, the
    error is raised so that it shows in the logs and Lambda's error metrics.
    """
    job_id = get_job_id(event)
    request_id = getattr(context, "aws_request_id", None)
    print(f"Job {job_id}: Lambda request {request_id}")
    try:
        job_data = event["CodePipeline.job"]["data"]
        params = get_user_params(job_data)
        print(
            f"Job {job_id}: stack {params['stack']!r}, artifact {params['artifact']!r}, "
            f"file {params['file']!r}"
        )

        if "continuationToken" in job_data:
            # The create or update was started by an earlier job: check whether it has finished.
            state = parse_continuation_token(job_data["continuationToken"])
            stack = state.get("stack") or params["stack"]
            operation = state.get("operation") or "create or update"
            print(f"Job {job_id}: continuing job {state.get('previous_job_id')}")
            check_stack_update_status(job_id, stack, operation, request_id)
        else:
            artifact_data = find_artifact(job_data["inputArtifacts"], params["artifact"])
            s3 = setup_s3_client(job_data)
            template = get_template(s3, artifact_data, params["file"])
            start_update_or_create(job_id, params["stack"], template, request_id)
    except ReportError:
        raise
    except Exception as error:
        # Anything else fails the job with a message the pipeline's console shows.
        print(f"Job {job_id}: function failed due to exception")
        traceback.print_exc()
        if isinstance(error, JobError):
            put_job_failure(job_id, str(error), error.failure_type, request_id)
        else:
            put_job_failure(
                job_id,
                f"Function exception: {type(error).__name__}: {error}",
                request_id=request_id,
            )
    print(f"Job {job_id}: function complete")
    return "Complete."
