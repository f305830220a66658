"""Limits on what goes in and comes out, refused as AWS refuses them.

- Invoke: a RequestResponse payload over 6 MB, an Event payload over 1 MB → 413
  RequestEntityTooLargeException in Lambda's words (the code Lambda sends, though botocore's
  model names it RequestTooLargeException).
- The Runtime API: a function's response over 6,291,556 bytes gets 413, and its invocation
  fails with Function.ResponseSizeTooLarge (the end-to-end case is in both_clients/).
- CloudFormation: a TemplateBody over 51,200 bytes is a ValidationError in the model's words; a
  template at a TemplateURL over 1,000,000 bytes, AWS's "Template may not exceed ...".
- S3 deploy: an artifact that would unzip to more than the local cloud extracts fails the
  action with a message that says so, decided before a single object is written.

Large payloads are built in memory; nothing here writes more than a few MB anywhere.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import pytest
from botocore.exceptions import ClientError

from helpers import pipelines
from helpers.localcloud.awslambda.runtime_api import MAX_PAYLOAD_BYTES, RuntimeApi
from helpers.localcloud.codepipeline.providers import MAX_EXTRACTED_BYTES

from .conftest import unique
from .pipeline_kit import actions, create, declaration, release, source_world
from .test_runtime_api import StandInEnvironment, call, invocation

MB = 1024 * 1024
LENGTH_OF_EVENT = "def handler(event, context):\n    return len(event)\n"


def json_string(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes: a string of x's."""
    return b'"' + b"x" * (size - 2) + b'"'


def refusal(call_aws) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        call_aws()
    response = raised.value.response
    error = response["Error"]
    return response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"]


# -- Invoke ---------------------------------------------------------------------------------
def test_a_request_response_payload_over_6_mb_is_refused(aws, make_function):
    name = make_function(LENGTH_OF_EVENT)
    lam = aws("lambda")
    over = json_string(6 * MB + 1)
    assert refusal(lambda: lam.invoke(FunctionName=name, Payload=over)) == (
        413,
        "RequestEntityTooLargeException",
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    )
    under = json_string(6 * MB - 1000)
    answer = lam.invoke(FunctionName=name, Payload=under)
    assert json.loads(answer["Payload"].read()) == len(under) - 2


def test_an_event_payload_over_1_mb_is_refused(aws, make_function):
    name = make_function(LENGTH_OF_EVENT)
    lam = aws("lambda")
    over = json_string(MB + 1)
    assert refusal(lambda: lam.invoke(FunctionName=name, InvocationType="Event", Payload=over)) == (
        413,
        "RequestEntityTooLargeException",
        "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)",
    )
    accepted = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json_string(MB))
    assert accepted["StatusCode"] == 202


def test_the_runtime_api_refuses_a_response_over_its_limit_and_fails_the_invocation():
    environment = StandInEnvironment()
    api = RuntimeApi(environment)
    api.admit(os.getpid())  # this process plays the environment's runtime client
    try:
        event = invocation()
        environment.invocations.put(event)
        call(api, "GET", "/invocation/next")
        path = f"/invocation/{event.request_id}/response"
        status, _, body = call(api, "POST", path, b"x" * (MAX_PAYLOAD_BYTES + 1))
        assert status == 413
        assert json.loads(body) == {
            "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
            "errorType": "RequestEntityTooLarge",
        }
        assert environment.errors == [
            (
                event.request_id,
                {
                    "errorMessage": "Response payload size exceeded maximum allowed payload "
                    "size (6291556 bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                },
            )
        ]
        assert environment.responses == []
        status, _, _ = call(api, "POST", path, b"x" * MAX_PAYLOAD_BYTES)
        assert status == 202, "a response of exactly the limit is taken"
    finally:
        api.close()


# -- CloudFormation ---------------------------------------------------------------------------
def template_of(size: int) -> str:
    """A valid JSON template of exactly ``size`` bytes (padded in its Metadata)."""
    skeleton = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Metadata": {"Padding": ""},
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
    }
    empty = len(json.dumps(skeleton))
    skeleton["Metadata"]["Padding"] = "p" * (size - empty)
    text = json.dumps(skeleton)
    assert len(text.encode()) == size
    return text


TEMPLATE_BODY_LIMIT = (
    "' at 'templateBody' failed to satisfy constraint: Member must have length less than or "
    "equal to 51200"
)


@pytest.mark.parametrize("operation", ["validate_template", "create_stack", "update_stack"])
def test_a_template_body_over_51200_bytes_is_a_validation_error(aws, operation):
    cfn = aws("cloudformation")
    params = {"TemplateBody": template_of(51_201)}
    if operation != "validate_template":
        params["StackName"] = unique("big")
    status, code, message = refusal(lambda: getattr(cfn, operation)(**params))
    assert (status, code) == (400, "ValidationError")
    assert message.startswith("1 validation error detected: Value '{")
    assert message.endswith(TEMPLATE_BODY_LIMIT)


def test_a_template_body_of_51200_bytes_is_taken(aws):
    aws("cloudformation").validate_template(TemplateBody=template_of(51_200))


def test_a_template_in_s3_over_1000000_bytes_is_refused(aws):
    bucket = unique("templates")
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="big.json", Body=template_of(1_000_001).encode())
    aws("s3").put_object(Bucket=bucket, Key="fits.json", Body=template_of(60_000).encode())
    cfn = aws("cloudformation")
    url = f"https://{bucket}.s3.amazonaws.com/"
    assert refusal(lambda: cfn.validate_template(TemplateURL=url + "big.json")) == (
        400,
        "ValidationError",
        "Template may not exceed 1000000 bytes in size.",
    )
    cfn.validate_template(TemplateURL=url + "fits.json")  # over 51,200 bytes, from S3: taken


# -- CodePipeline's S3 deploy ------------------------------------------------------------------
def declaring(files: dict[str, int]) -> bytes:
    """A zip whose central directory declares each file's size as given, though it holds a few
    bytes: what a zip bomb's directory looks like, built in a few microseconds."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name in files:
            package.writestr(name, b"tiny")
    data = bytearray(buffer.getvalue())
    position = data.find(b"PK\x01\x02")  # the central directory's entries
    for name, size in files.items():
        assert data[position + 46 : position + 46 + len(name)] == name.encode()
        struct.pack_into("<I", data, position + 24, size)  # uncompressed size
        extra, comment = struct.unpack_from("<HH", data, position + 30)
        position += 46 + len(name) + extra + comment
    return bytes(data)


def test_an_s3_deploy_refuses_an_artifact_that_unzips_past_its_limit(aws, roles):
    world = source_world(aws, roles)
    bomb = declaring({"index.html": 2**31, "big.bin": 2**31})
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist()) == 2**32
    assert 2**32 > MAX_EXTRACTED_BYTES
    aws("s3").put_object(Bucket=world["source"], Key="site.zip", Body=bomb)
    site = unique("site")
    aws("s3").create_bucket(Bucket=site)
    deploy = {
        "name": "Deploy",
        "actions": [pipelines.s3_deploy_action("Site", site, "SourceArtifact")],
    }
    pipeline = create(aws, declaration(world, deploy))
    execution = release(aws, pipeline)
    assert execution["status"] == "Failed"
    row = actions(aws, pipeline, execution["pipelineExecutionId"])["Site"]
    assert row["status"] == "Failed"
    assert row["output"]["executionResult"]["errorDetails"] == {
        "code": "JobFailed",
        "message": (
            f"The input artifact SourceArtifact unzips to {2**32} bytes, more than the "
            f"{MAX_EXTRACTED_BYTES} bytes the local cloud extracts in an S3 deploy action. "
            "Deploy it without Extract, or in smaller artifacts."
        ),
    }
    assert "Contents" not in aws("s3").list_objects_v2(Bucket=site), "nothing was written"
