"""Tests for helpers/functions/stack_deployer.py against moto's in-process AWS.

S3 and CloudFormation are moto's. moto doesn't implement CodePipeline's PutJobSuccessResult and
PutJobFailureResult, so a botocore ``before-call`` handler on the function's CodePipeline client
records them: botocore has already validated and serialized the parameters against the service
model when ``before-call`` fires, and the first handler response is used instead of sending the
request (botocore.client.BaseClient._make_api_call).
"""

import copy
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from helpers import packaging
from helpers.functions import stack_deployer

ROOT = Path(__file__).resolve().parents[1]
EVENT_FILE = ROOT / "data" / "events" / "codepipeline_job_event.json"
TEMPLATE_FILE = ROOT / "data" / "cloudformation" / "template-package" / "template.json"
TEMPLATE_PATH = "template-package/template.json"

BUCKET = "codepipeline-us-east-1-artifacts"
KEY = "MyPipeline/MyTemplate/template-package.zip"
STACK = "MyTestStack"
JOB_ID = "11111111-abcd-1111-abcd-111111abcdef"
NEXT_JOB_ID = "22222222-abcd-2222-abcd-222222abcdef"
REQUEST_ID = "3f2c9a1e-0b7d-4c55-9e8a-7d1f0c2b4a66"
USER_PARAMETERS = json.dumps({"stack": STACK, "file": TEMPLATE_PATH, "artifact": "MyTemplate"})

TEMPLATE = TEMPLATE_FILE.read_text(encoding="utf-8")
CHANGED_TEMPLATE = json.dumps(
    {
        **json.loads(TEMPLATE),
        "Resources": {
            "MySampleBucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "MySecondBucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        },
    },
    indent=2,
)
CREDENTIALS = json.loads(EVENT_FILE.read_text(encoding="utf-8"))["CodePipeline.job"]["data"][
    "artifactCredentials"
]


class LambdaContext:
    """The parts of Lambda's context object the function uses."""

    aws_request_id = REQUEST_ID
    function_name = "stack-deployer"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


class JobResults:
    """Records PutJobSuccessResult / PutJobFailureResult as sent by the function's client."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        for operation in ("PutJobSuccessResult", "PutJobFailureResult"):
            client.meta.events.register(f"before-call.codepipeline.{operation}", self._record)

    def _record(self, model: Any, params: dict[str, Any], **kwargs: Any) -> tuple[Any, dict]:
        # params is the serialized request; its JSON body is exactly what AWS would receive.
        self.calls.append((model.name, json.loads(params["body"])))
        return AWSResponse(params["url"], 200, {}, None), {"ResponseMetadata": {}}

    def only(self) -> tuple[str, dict[str, Any]]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]

    def failure(self) -> dict[str, Any]:
        """The one failure reported; checks the limits every failure must respect."""
        operation, params = self.only()
        assert operation == "PutJobFailureResult", params
        details = params["failureDetails"]
        assert details["externalExecutionId"] == REQUEST_ID
        assert 1 <= len(details["message"]) <= 5000
        return details

    def success(self) -> dict[str, Any]:
        """The one success (or continuation) reported."""
        operation, params = self.only()
        assert operation == "PutJobSuccessResult", params
        assert params["jobId"] in (JOB_ID, NEXT_JOB_ID)
        assert params["executionDetails"]["externalExecutionId"] == REQUEST_ID
        return params


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy credentials, us-east-1 and moto; fresh function clients inside the mock."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        stack_deployer._cloudformation.cache_clear()
        stack_deployer._codepipeline.cache_clear()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield
    stack_deployer._cloudformation.cache_clear()
    stack_deployer._codepipeline.cache_clear()


@pytest.fixture
def results(aws: None) -> JobResults:
    return JobResults(stack_deployer._codepipeline())


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(body: bytes, key: str = KEY) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)


def upload_template(template: str = TEMPLATE, key: str = KEY) -> None:
    upload(zip_bytes({TEMPLATE_PATH: template.encode("utf-8")}), key)


def make_event(
    user_parameters: str | None = USER_PARAMETERS,
    key: str = KEY,
    continuation_token: str | None = None,
    job_id: str = JOB_ID,
) -> dict[str, Any]:
    """The sample job event with our parameters, artifact location and (no) token."""
    event = copy.deepcopy(json.loads(EVENT_FILE.read_text(encoding="utf-8")))
    job = event["CodePipeline.job"]
    job["id"] = job_id
    data = job["data"]
    if user_parameters is None:
        del data["actionConfiguration"]["configuration"]["UserParameters"]
    else:
        data["actionConfiguration"]["configuration"]["UserParameters"] = user_parameters
    artifact = data["inputArtifacts"][0]
    artifact["name"] = "MyTemplate"
    artifact["location"]["s3Location"] = {"bucketName": BUCKET, "objectKey": key}
    if continuation_token is None:
        del data["continuationToken"]
    else:
        data["continuationToken"] = continuation_token
    return event


def continuation_event(operation: str = "create") -> dict[str, Any]:
    token = json.dumps({"previous_job_id": JOB_ID, "stack": STACK, "operation": operation})
    return make_event(continuation_token=token, job_id=NEXT_JOB_ID)


def cloudformation() -> Any:
    return stack_deployer._cloudformation()


def stack_names() -> list[str]:
    return [
        stack["StackName"]
        for stack in boto3.client("cloudformation").list_stacks()["StackSummaries"]
    ]


def stack_template(stack: str = STACK) -> dict[str, Any]:
    """The stack's template as stored by CloudFormation (botocore decodes JSON bodies)."""
    body = boto3.client("cloudformation").get_template(StackName=stack)["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else dict(body)


def create_existing_stack(template: str = TEMPLATE) -> None:
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=template)


def force_status(status: str) -> None:
    """Make DescribeStacks report status: moto's stacks can't reach failed or running states."""

    def rewrite(parsed: dict[str, Any], **kwargs: Any) -> None:
        for stack in parsed.get("Stacks", []):
            stack["StackStatus"] = status

    cloudformation().meta.events.register("after-call.cloudformation.DescribeStacks", rewrite)


def count_calls(operation: str) -> list[dict[str, Any]]:
    """Record the function's calls of a CloudFormation operation; they still go to moto."""
    calls: list[dict[str, Any]] = []

    def spy(params: dict[str, Any], **kwargs: Any) -> None:
        calls.append(params)

    cloudformation().meta.events.register(f"before-call.cloudformation.{operation}", spy)
    return calls


def raise_on(client: Any, event_name: str, code: str, message: str, operation: str) -> None:
    """Make the client's operation fail with a ClientError, as AWS would answer."""

    def fail(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

    client.meta.events.register_first(event_name, fail)


def token_of(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(params["continuationToken"])


# First release: create, then follow the continuation token.


def test_first_invocation_creates_stack_and_continues(results: JobResults, context) -> None:
    upload_template()

    returned = stack_deployer.lambda_handler(make_event(), context)

    assert returned == "Complete."
    assert stack_names() == [STACK]
    assert stack_template() == json.loads(TEMPLATE)
    params = results.success()
    assert params["jobId"] == JOB_ID
    assert token_of(params) == {"previous_job_id": JOB_ID, "stack": STACK, "operation": "create"}
    assert params["executionDetails"]["summary"] == f"Stack {STACK}: create started"
    assert "outputVariables" not in params


def test_continuation_with_create_complete_succeeds(results: JobResults, context) -> None:
    create_existing_stack()  # moto's stacks are CREATE_COMPLETE at once

    stack_deployer.lambda_handler(continuation_event(), context)

    params = results.success()
    assert params["jobId"] == NEXT_JOB_ID
    assert "continuationToken" not in params
    assert params["executionDetails"]["summary"] == f"Stack {STACK}: CREATE_COMPLETE"


@pytest.mark.parametrize(
    "status",
    [
        "CREATE_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    ],
)
def test_continuation_in_progress_continues_again(results: JobResults, context, status) -> None:
    create_existing_stack()
    force_status(status)

    stack_deployer.lambda_handler(continuation_event("update"), context)

    params = results.success()
    assert token_of(params) == {
        "previous_job_id": NEXT_JOB_ID,
        "stack": STACK,
        "operation": "update",
    }
    assert params["executionDetails"]["summary"] == f"Stack {STACK}: {status}"


@pytest.mark.parametrize(
    ("status", "operation", "extra"),
    [
        ("ROLLBACK_COMPLETE", "create", "can only be deleted"),
        ("ROLLBACK_FAILED", "create", "events"),
        ("CREATE_FAILED", "create", "events"),
        ("UPDATE_ROLLBACK_COMPLETE", "update", "events"),
        ("UPDATE_ROLLBACK_FAILED", "update", "events"),
        ("DELETE_IN_PROGRESS", "update", "events"),
    ],
)
def test_continuation_with_failed_state_fails(
    results: JobResults, context, status, operation, extra
) -> None:
    create_existing_stack()
    force_status(status)

    stack_deployer.lambda_handler(continuation_event(operation), context)

    details = results.failure()
    assert details["type"] == "JobFailed"
    assert f"Stack {STACK} {operation} failed: {status}" in details["message"]
    assert extra in details["message"]


def test_continuation_with_foreign_token_uses_user_parameters(results: JobResults, context) -> None:
    # The sample event's token is plain text, as is a token written by the guide's sample.
    create_existing_stack()
    event = make_event(continuation_token="A continuation token if continuing job")

    stack_deployer.lambda_handler(event, context)

    assert results.success()["executionDetails"]["summary"] == f"Stack {STACK}: CREATE_COMPLETE"


def test_continuation_for_missing_stack_fails(results: JobResults, context) -> None:
    stack_deployer.lambda_handler(continuation_event(), context)

    details = results.failure()
    assert details["type"] == "JobFailed"
    assert "does not exist" in details["message"]


# Later releases: update, no updates, stacks that can't be updated.


def test_changed_template_starts_update_then_completes(results: JobResults, context) -> None:
    create_existing_stack()
    upload_template(CHANGED_TEMPLATE)
    update_calls = count_calls("UpdateStack")

    stack_deployer.lambda_handler(make_event(), context)

    assert len(update_calls) == 1
    assert stack_template() == json.loads(CHANGED_TEMPLATE)
    params = results.success()
    assert token_of(params) == {"previous_job_id": JOB_ID, "stack": STACK, "operation": "update"}
    assert params["executionDetails"]["summary"] == f"Stack {STACK}: update started"

    results.calls.clear()
    stack_deployer.lambda_handler(continuation_event("update"), context)

    params = results.success()
    assert "continuationToken" not in params
    assert params["executionDetails"]["summary"] == f"Stack {STACK}: UPDATE_COMPLETE"


def test_unchanged_template_succeeds_at_once(results: JobResults, context) -> None:
    create_existing_stack()
    upload_template()
    # AWS answers UpdateStack with an unchanged template this way; moto accepts the update.
    raise_on(
        cloudformation(),
        "before-call.cloudformation.UpdateStack",
        "ValidationError",
        "No updates are to be performed.",
        "UpdateStack",
    )

    stack_deployer.lambda_handler(make_event(), context)

    params = results.success()
    assert "continuationToken" not in params
    summary = params["executionDetails"]["summary"]
    assert summary == f"Stack {STACK}: no updates are to be performed (CREATE_COMPLETE)"


def test_other_update_error_fails_the_job(results: JobResults, context) -> None:
    create_existing_stack()
    upload_template(CHANGED_TEMPLATE)
    raise_on(
        cloudformation(),
        "before-call.cloudformation.UpdateStack",
        "ValidationError",
        "Template format error: Unresolved resource dependencies [Nope]",
        "UpdateStack",
    )

    stack_deployer.lambda_handler(make_event(), context)

    details = results.failure()
    assert details["type"] == "JobFailed"
    assert "Template format error" in details["message"]


def test_rollback_complete_fails_and_does_not_update(results: JobResults, context) -> None:
    create_existing_stack()
    upload_template(CHANGED_TEMPLATE)
    force_status("ROLLBACK_COMPLETE")
    update_calls = count_calls("UpdateStack")

    stack_deployer.lambda_handler(make_event(), context)

    details = results.failure()
    assert details["type"] == "JobFailed"
    assert "ROLLBACK_COMPLETE" in details["message"]
    assert "delete the stack" in details["message"]
    assert f"delete-stack --stack-name {STACK}" in details["message"]
    assert update_calls == []
    assert stack_template() == json.loads(TEMPLATE)


@pytest.mark.parametrize(
    "status",
    [
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_ROLLBACK_FAILED",
        "DELETE_FAILED",
        "REVIEW_IN_PROGRESS",
    ],
)
def test_non_updatable_state_fails(results: JobResults, context, status) -> None:
    create_existing_stack()
    upload_template(CHANGED_TEMPLATE)
    force_status(status)
    update_calls = count_calls("UpdateStack")

    stack_deployer.lambda_handler(make_event(), context)

    details = results.failure()
    assert details["message"] == f"Stack cannot be updated when status is: {status}"
    assert update_calls == []


def test_update_rollback_complete_can_be_updated(results: JobResults, context) -> None:
    # A failed update that rolled back leaves an updatable stack (the guide's sample refuses it).
    create_existing_stack()
    upload_template(CHANGED_TEMPLATE)
    force_status("UPDATE_ROLLBACK_COMPLETE")

    stack_deployer.lambda_handler(make_event(), context)

    assert token_of(results.success())["operation"] == "update"
    assert stack_template() == json.loads(CHANGED_TEMPLATE)


# UserParameters.


@pytest.mark.parametrize(
    ("user_parameters", "fragments"),
    [
        ("some-input-such-as-a-URL", ["could not be decoded as JSON", "Expecting value"]),
        ('{"stack": "MyTestStack",}', ["could not be decoded as JSON", "double quotes"]),
        ('["MyTestStack"]', ["must be a JSON object", "list"]),
        ('"MyTestStack"', ["must be a JSON object", "str"]),
        ("42", ["must be a JSON object", "int"]),
        (json.dumps({"file": TEMPLATE_PATH, "artifact": "MyTemplate"}), ['include "stack"']),
        (json.dumps({"stack": STACK, "file": TEMPLATE_PATH}), ['include "artifact"']),
        (json.dumps({"stack": STACK, "artifact": "MyTemplate"}), ['include "file"']),
        (
            json.dumps({"stack": "", "file": TEMPLATE_PATH, "artifact": "MyTemplate"}),
            ['"stack" in UserParameters must be a non-empty string'],
        ),
        (
            json.dumps({"stack": STACK, "file": 3, "artifact": "MyTemplate"}),
            ['"file" in UserParameters must be a non-empty string'],
        ),
        (None, ["has no UserParameters"]),
    ],
)
def test_bad_user_parameters_fail_with_configuration_error(
    results: JobResults, context, user_parameters, fragments
) -> None:
    upload_template()

    stack_deployer.lambda_handler(make_event(user_parameters), context)

    details = results.failure()
    assert details["type"] == "ConfigurationError"
    for fragment in fragments:
        assert fragment in details["message"]
    assert stack_deployer.EXAMPLE_USER_PARAMETERS in details["message"]
    assert stack_names() == []


# The artifact and the template in it.


def corrupt_crc_zip() -> bytes:
    """A zip whose stored template bytes no longer match their CRC-32."""
    raw = zip_bytes({TEMPLATE_PATH: TEMPLATE.encode()}, zipfile.ZIP_STORED)
    return raw.replace(b"MySampleBucket", b"MySampleBucKet", 1)


ARTIFACT_FAILURES: list[tuple[str, Callable[[], None], str, list[str]]] = [
    (
        "missing artifact name",
        upload_template,
        "ConfigurationError",
        ['Input artifact named "OtherArtifact" not found', "'MyTemplate'"],
    ),
    (
        "missing S3 object",
        lambda: None,
        "JobFailed",
        [f"Could not download the input artifact from s3://{BUCKET}/{KEY}", "404"],
    ),
    (
        "not a zip",
        lambda: upload(b"this is not a zip file"),
        "JobFailed",
        ["is not a valid zip file", "File is not a zip file"],
    ),
    ("corrupt zip member", lambda: upload(corrupt_crc_zip()), "JobFailed", ["Bad CRC-32"]),
    (
        "file missing from zip",
        lambda: upload(
            zip_bytes({"templates/": b"", "templates/template.json": b"{}", "README.md": b"hi"})
        ),
        "JobFailed",
        [f"File '{TEMPLATE_PATH}' not found", "'templates/template.json', 'README.md'"],
    ),
    (
        "many files, none the template",
        lambda: upload(zip_bytes({f"file{i:02}.txt": b"x" for i in range(15)})),
        "JobFailed",
        ["'file00.txt'", "'file09.txt' and 5 more"],
    ),
    (
        "non-UTF-8 template",
        lambda: upload(zip_bytes({TEMPLATE_PATH: '{"Description": "Größe"}'.encode("latin-1")})),
        "JobFailed",
        ["is not UTF-8 text", "can't decode byte 0xf6"],
    ),
    ("empty template", lambda: upload(zip_bytes({TEMPLATE_PATH: b""})), "JobFailed", ["is empty"]),
    (
        "template too big for TemplateBody",
        lambda: upload(zip_bytes({TEMPLATE_PATH: b" " * 51_201})),
        "JobFailed",
        ["larger than 51200 bytes", "TemplateURL"],
    ),
]


@pytest.mark.parametrize(
    ("setup", "failure_type", "fragments"),
    [case[1:] for case in ARTIFACT_FAILURES],
    ids=[case[0] for case in ARTIFACT_FAILURES],
)
def test_artifact_problems_fail_the_job(
    results: JobResults, context, setup, failure_type, fragments
) -> None:
    setup()
    params = json.loads(USER_PARAMETERS)
    if failure_type == "ConfigurationError":
        params["artifact"] = "OtherArtifact"

    stack_deployer.lambda_handler(make_event(json.dumps(params)), context)

    details = results.failure()
    assert details["type"] == failure_type
    for fragment in fragments:
        assert fragment in details["message"]
    assert stack_names() == []


def test_missing_bucket_fails_the_job(results: JobResults, context) -> None:
    event = make_event()
    event["CodePipeline.job"]["data"]["inputArtifacts"][0]["location"]["s3Location"][
        "bucketName"
    ] = "no-such-artifact-bucket"

    stack_deployer.lambda_handler(event, context)

    assert "Could not download the input artifact" in results.failure()["message"]


def test_template_with_utf8_bom_is_accepted(results: JobResults, context) -> None:
    upload(zip_bytes({TEMPLATE_PATH: TEMPLATE.encode("utf-8-sig")}))

    stack_deployer.lambda_handler(make_event(), context)

    assert token_of(results.success())["operation"] == "create"
    assert stack_template() == json.loads(TEMPLATE)


def test_no_temporary_files_are_left(aws, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(stack_deployer.tempfile, "tempdir", str(tmp_path))
    upload_template()
    s3 = stack_deployer.setup_s3_client(make_event()["CodePipeline.job"]["data"])
    artifact = make_event()["CodePipeline.job"]["data"]["inputArtifacts"][0]

    assert stack_deployer.get_template(s3, artifact, TEMPLATE_PATH) == TEMPLATE
    with pytest.raises(stack_deployer.JobError):
        stack_deployer.get_template(s3, artifact, "missing.json")
    assert list(tmp_path.iterdir()) == []


def test_boto3_rejects_bytes_template_body(aws) -> None:
    # The guide's sample passes zip.read() (bytes on Python 3) as TemplateBody.
    template_bytes = zipfile.ZipFile(io.BytesIO(zip_bytes({TEMPLATE_PATH: TEMPLATE.encode()})))
    data = template_bytes.read(TEMPLATE_PATH)
    assert isinstance(data, bytes)

    with pytest.raises(ParamValidationError, match="TemplateBody"):
        cloudformation().create_stack(StackName=STACK, TemplateBody=data)
    assert stack_names() == []

    cloudformation().create_stack(StackName=STACK, TemplateBody=data.decode("utf-8"))
    assert stack_names() == [STACK]


# stack_exists.


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDenied", "User is not authorized; stack MyTestStack does not exist or is hidden"),
        ("ValidationError", "1 validation error detected: Value at 'stackName' failed"),
        ("Throttling", "Rate exceeded"),
    ],
)
def test_stack_exists_raises_other_errors(aws, code, message) -> None:
    raise_on(
        cloudformation(),
        "before-call.cloudformation.DescribeStacks",
        code,
        message,
        "DescribeStacks",
    )

    with pytest.raises(ClientError) as raised:
        stack_deployer.stack_exists(STACK)
    assert raised.value.response["Error"]["Code"] == code


def test_stack_exists(aws) -> None:
    assert stack_deployer.stack_exists(STACK) is False
    create_existing_stack()
    assert stack_deployer.stack_exists(STACK) is True


# Reporting and the job id.


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"CodePipeline.job": {}},
        {"CodePipeline.job": {"id": "", "data": {}}},
        {"Records": [{"eventSource": "aws:s3"}]},
    ],
    ids=["empty", "no id", "empty id", "other event"],
)
def test_event_without_job_id_raises_and_reports_nothing(results: JobResults, context, event):
    with pytest.raises(stack_deployer.MissingJobIdError, match="no CodePipeline.job.id"):
        stack_deployer.lambda_handler(event, context)
    assert results.calls == []


def test_job_data_missing_is_reported(results: JobResults, context) -> None:
    stack_deployer.lambda_handler({"CodePipeline.job": {"id": JOB_ID}}, context)

    details = results.failure()
    assert details["message"] == "Function exception: KeyError: 'data'"


def test_long_error_messages_are_cut_to_5000(results: JobResults, context) -> None:
    upload_template()
    raise_on(
        cloudformation(),
        "before-call.cloudformation.CreateStack",
        "ValidationError",
        "x" * 10_000,
        "CreateStack",
    )

    stack_deployer.lambda_handler(make_event(), context)

    message = results.failure()["message"]
    assert len(message) == 5000
    assert message.endswith(" [...]")


@pytest.mark.parametrize(
    ("operation", "user_parameters"),
    [
        ("PutJobSuccessResult", USER_PARAMETERS),
        ("PutJobFailureResult", "not json"),
    ],
)
def test_failing_report_is_raised(results: JobResults, context, operation, user_parameters):
    upload_template()
    raise_on(
        stack_deployer._codepipeline(),
        f"before-call.codepipeline.{operation}",
        "AccessDeniedException",
        "not authorized to perform: codepipeline:" + operation,
        operation,
    )

    with pytest.raises(stack_deployer.ReportError, match=operation) as raised:
        stack_deployer.lambda_handler(make_event(user_parameters), context)

    assert isinstance(raised.value.__cause__, ClientError)
    # A failed success report is not turned into a failure report.
    assert results.calls == []


SECRET_SCENARIOS: list[tuple[str, Callable[[], None], str]] = [
    ("create", upload_template, USER_PARAMETERS),
    ("missing object", lambda: None, USER_PARAMETERS),
    ("corrupt zip", lambda: upload(b"not a zip"), USER_PARAMETERS),
    ("bad parameters", upload_template, "{"),
]


@pytest.mark.parametrize(
    ("setup", "user_parameters"),
    [case[1:] for case in SECRET_SCENARIOS],
    ids=[case[0] for case in SECRET_SCENARIOS],
)
def test_logs_never_contain_artifact_credentials(
    results: JobResults, context, capsys, setup, user_parameters
) -> None:
    setup()

    stack_deployer.lambda_handler(make_event(user_parameters), context)

    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert JOB_ID in captured.out
    for secret in CREDENTIALS.values():
        assert secret not in logs
    assert len(results.calls) == 1


def test_logs_say_what_was_done(results: JobResults, context, capsys) -> None:
    upload_template()

    stack_deployer.lambda_handler(make_event(), context)

    out = capsys.readouterr().out
    assert f"Job {JOB_ID}: stack '{STACK}', artifact 'MyTemplate'" in out
    assert f"Downloading input artifact 'MyTemplate' from s3://{BUCKET}/{KEY}" in out
    assert f"Creating stack {STACK}" in out
    assert f"Putting job continuation for job {JOB_ID}" in out


def test_clients_are_reused_across_invocations(results: JobResults, context) -> None:
    upload_template()
    client = stack_deployer._cloudformation()

    stack_deployer.lambda_handler(make_event(), context)
    stack_deployer.lambda_handler(continuation_event(), context)

    assert stack_deployer._cloudformation() is client
    assert [operation for operation, _ in results.calls] == ["PutJobSuccessResult"] * 2


# The page's sample, as printed (data/functions/page_stack_deployer/lambda_function.py): 06
# deploys it unchanged, then sets its three named functions beside the fixed ones.

PAGE_SAMPLE = packaging.page_python_sample()
NAMED_BY_THE_PAGE = ("get_user_params", "get_template", "continue_job_later")


def test_the_pages_python_sample_is_kept_as_printed() -> None:
    """The page's code, unchanged: Python 2.7 style, module-level clients, the bytes read."""
    assert PAGE_SAMPLE.startswith(
        "from __future__ import print_function\nfrom boto3.session import Session\n"
    )
    for printed in (
        "cf = boto3.client('cloudformation')",
        "            return zip.read(file_in_zip)   ",
        "    continuation_token = json.dumps({'previous_job_id': job})",
        "        if status not in ['CREATE_COMPLETE', 'ROLLBACK_COMPLETE', 'UPDATE_COMPLETE']:",
        "        put_job_failure(job_id, 'Function exception: ' + str(e))",
    ):
        assert printed in PAGE_SAMPLE
    assert PAGE_SAMPLE.rstrip().endswith('return "Complete."')
    compile(PAGE_SAMPLE, "lambda_function.py", "exec")  # it is valid Python 3, and runs


@pytest.mark.parametrize("name", NAMED_BY_THE_PAGE)
def test_each_function_the_page_names_has_a_fixed_counterpart(name: str) -> None:
    page = packaging.function_def(PAGE_SAMPLE, name)
    fixed = packaging.function_def(packaging.function_source("stack_deployer"), name)
    assert page.startswith(f"def {name}(") and fixed.startswith(f"def {name}(")
    assert page in PAGE_SAMPLE and page != fixed
    with pytest.raises(KeyError, match="no_such_function"):
        packaging.function_def(PAGE_SAMPLE, "no_such_function")


def test_the_pages_get_template_returns_bytes_the_fixed_one_text(aws) -> None:
    """The page's get_template, run on Python 3, hands over bytes; the fixed one, a str."""
    namespace: dict[str, Any] = {"__name__": "lambda_function"}
    exec(compile(PAGE_SAMPLE, "lambda_function.py", "exec"), namespace)  # the page's module
    upload_template()
    artifact = make_event()["CodePipeline.job"]["data"]["inputArtifacts"][0]
    s3 = boto3.client("s3")
    printed = namespace["get_template"](s3, artifact, TEMPLATE_PATH)
    fixed = stack_deployer.get_template(s3, artifact, TEMPLATE_PATH)
    assert type(printed) is bytes and type(fixed) is str
    assert printed.decode("utf-8") == fixed == TEMPLATE
    with pytest.raises(ParamValidationError, match="Invalid type for parameter TemplateBody"):
        namespace["create_stack"](STACK, printed)
    assert stack_names() == []
