"""A locked local cloud: only its credentials get in, browsers don't, and IAM decides.

Every refusal is checked the way a learner meets it: through plain boto3 (the exception class
AWS would give) or raw HTTP (what a web page or another user of the machine could send).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from helpers import localcloud, pipelines

from .conftest import (
    LAMBDA_TRUST,
    PIPELINE_TRUST,
    create_function,
    unique,
    wait_for_execution,
    zip_bytes,
)
from .test_codepipeline_engine import LAMBDA, actions

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Config(retries={"max_attempts": 1}, read_timeout=60)
REPORTING = """
import boto3
def handler(event, context):
    job = event["CodePipeline.job"]["id"]
    print("identity", boto3.client("sts").get_caller_identity()["Arn"])
    boto3.client("codepipeline").put_job_success_result(jobId=job)
"""


def client(endpoint: str, service: str, key: str, secret: str, token: str | None = None):
    session = boto3.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name="us-east-1",
    )
    return session.client(service, endpoint_url=endpoint, config=CONFIG)


def error_of(call) -> dict:
    with pytest.raises(Exception) as raised:
        call()
    return raised.value.response["Error"]


def raw(endpoint: str, path: str, method: str = "POST", body: bytes = b"", **headers):
    """A plain HTTP request, as a web page or a script without credentials sends it."""
    request = urllib.request.Request(endpoint + path, data=body or None, method=method)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# -- credentials ---------------------------------------------------------------------------
def test_the_owner_key_is_in_a_0600_file_and_survives_a_restart(tmp_path):
    process, endpoint = localcloud.start(state=tmp_path)
    try:
        path = tmp_path / "credentials"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert "[localcloud]" in text and "aws_access_key_id = AKIA" in text
        owner = localcloud.owner_credentials(tmp_path)
        arn = client(endpoint, "sts", owner.access_key_id, owner.secret_access_key)
        assert arn.get_caller_identity()["Arn"].endswith(":user/localcloud-owner")
    finally:
        process.terminate()
        process.wait(10)
    process, endpoint = localcloud.start(state=tmp_path)
    try:
        again = localcloud.owner_credentials(tmp_path)
        assert again == owner, "the same key on every start with this state directory"
        sts = client(endpoint, "sts", again.access_key_id, again.secret_access_key)
        assert sts.get_caller_identity()["Account"] == "123456789012"
    finally:
        process.terminate()
        process.wait(10)


def test_env_prints_exports_a_shell_and_any_sdk_can_use(tmp_path):
    env = {**os.environ, "LOCALCLOUD_STATE_DIR": str(tmp_path)}
    env["LOCALCLOUD_PORT"] = str(localcloud.free_port())
    try:
        printed = subprocess.run(
            [sys.executable, "-m", "helpers.localcloud", "--env"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            timeout=60,
        ).stdout
        exported = dict(line.removeprefix("export ").split("=", 1) for line in printed.splitlines())
        assert set(exported) == {
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        }
        shell = subprocess.run(
            ["sh", "-c", f'eval "{printed}"; {sys.executable} -c "{SDK_CALL}"'],
            env={k: v for k, v in env.items() if not k.startswith("AWS_")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.stdout.strip().endswith(":user/localcloud-owner"), shell.stderr
    finally:
        subprocess.run(
            [sys.executable, "-m", "helpers.localcloud", "--stop"], env=env, cwd=ROOT, check=True
        )


SDK_CALL = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"


# -- authentication ------------------------------------------------------------------------
SERVICES = {
    "s3": lambda c: c.list_buckets(),
    "lambda": lambda c: c.list_functions(),
    "codepipeline": lambda c: c.list_pipelines(),
    "logs": lambda c: c.describe_log_groups(),
    "iam": lambda c: c.list_roles(),
    "sts": lambda c: c.get_caller_identity(),
    "cloudformation": lambda c: c.list_stacks(),
}
UNKNOWN_KEY = {
    "s3": "InvalidAccessKeyId",
    "lambda": "UnrecognizedClientException",
    "codepipeline": "UnrecognizedClientException",
    "logs": "UnrecognizedClientException",
    "iam": "InvalidClientTokenId",
    "sts": "InvalidClientTokenId",
    "cloudformation": "InvalidClientTokenId",
}
BAD_SIGNATURE = {
    "s3": "SignatureDoesNotMatch",
    "lambda": "InvalidSignatureException",
    "codepipeline": "InvalidSignatureException",
    "logs": "InvalidSignatureException",
    "iam": "SignatureDoesNotMatch",
    "sts": "SignatureDoesNotMatch",
    "cloudformation": "SignatureDoesNotMatch",
}
NO_CREDENTIALS = {
    "s3": "AccessDenied",
    "lambda": "MissingAuthenticationTokenException",
    "codepipeline": "MissingAuthenticationTokenException",
    "logs": "MissingAuthenticationTokenException",
    "iam": "MissingAuthenticationToken",
    "sts": "MissingAuthenticationToken",
    "cloudformation": "MissingAuthenticationToken",
}


@pytest.mark.parametrize("service", SERVICES)
def test_an_unknown_key_gets_the_protocols_invalid_token_error(cloud, service):
    made_up = client(cloud.endpoint, service, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/EXAMPLE")
    assert error_of(lambda: SERVICES[service](made_up))["Code"] == UNKNOWN_KEY[service]


@pytest.mark.parametrize("service", SERVICES)
def test_a_wrong_secret_gets_the_protocols_signature_error(cloud, service):
    wrong = client(cloud.endpoint, service, cloud.owner.access_key_id, "not-the-secret")
    assert error_of(lambda: SERVICES[service](wrong))["Code"] == BAD_SIGNATURE[service]


@pytest.mark.parametrize("service", SERVICES)
def test_no_credentials_get_missing_authentication_token(cloud, service):
    session = boto3.Session(region_name="us-east-1")
    unsigned = session.client(
        service,
        endpoint_url=cloud.endpoint,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )
    assert error_of(lambda: SERVICES[service](unsigned))["Code"] == NO_CREDENTIALS[service]


def account_role(cloud, name: str) -> str:
    """A role whose trust policy lets the account's own principals assume it (what AssumeRole
    by a user needs, on AWS as here)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = cloud.client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]


def test_a_session_token_that_doesnt_match_is_refused(cloud):
    role = account_role(cloud, "test-assumable-role")
    issued = cloud.client("sts").assume_role(RoleArn=role, RoleSessionName="try")["Credentials"]
    good = client(
        cloud.endpoint,
        "sts",
        issued["AccessKeyId"],
        issued["SecretAccessKey"],
        issued["SessionToken"],
    )
    assert good.get_caller_identity()["Arn"].endswith(":assumed-role/test-assumable-role/try")
    forged = client(
        cloud.endpoint, "sts", issued["AccessKeyId"], issued["SecretAccessKey"], "forged"
    )
    assert error_of(forged.get_caller_identity)["Code"] == "InvalidClientTokenId"


def test_presigned_urls_work_and_tampering_or_expiry_is_refused(cloud):
    s3 = cloud.client("s3")
    bucket = unique("presign")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a file.txt", Body=b"presigned body")
    signer = boto3.Session(
        aws_access_key_id=cloud.owner.access_key_id,
        aws_secret_access_key=cloud.owner.secret_access_key,
        region_name="us-east-1",
    ).client("s3", endpoint_url=cloud.endpoint, config=Config(signature_version="s3v4"))
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a file.txt"}, ExpiresIn=60
    )
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.read() == b"presigned body"
    tampered = url.replace("a%20file.txt", "other.txt")
    status, _, body = raw(cloud.endpoint, tampered[len(cloud.endpoint) :], method="GET")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    expired = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a file.txt"}, ExpiresIn=1
    )
    time.sleep(2)
    status, _, body = raw(cloud.endpoint, expired[len(cloud.endpoint) :], method="GET")
    assert status == 403 and b"Request has expired" in body


def test_an_aws_chunked_upload_with_a_trailing_checksum_is_verified_and_stored(cloud):
    """What boto3 sends to S3 over HTTPS: aws-chunked body, CRC32 trailer, the payload hash
    STREAMING-UNSIGNED-PAYLOAD-TRAILER in the signature."""
    s3 = cloud.client("s3")
    bucket = unique("chunked")
    s3.create_bucket(Bucket=bucket)
    data = b"chunked upload " * 100
    checksum = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = (
        f"{len(data):x}\r\n".encode()
        + data
        + b"\r\n0\r\n"
        + f"x-amz-checksum-crc32:{checksum}\r\n\r\n".encode()
    )
    url = f"{cloud.endpoint}/{bucket}/chunked.txt"
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "Content-Length": str(len(body)),
        "Content-Type": "text/plain",
    }

    def send(secret: str) -> int:
        request = AWSRequest(method="PUT", url=url, data=body, headers=dict(headers))
        # what botocore sets for a flexible checksum sent as a trailer
        request.context["checksum"] = {"request_algorithm": {"in": "trailer", "algorithm": "crc32"}}
        S3SigV4Auth(Credentials(cloud.owner.access_key_id, secret), "s3", "us-east-1").add_auth(
            request
        )
        assert request.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        prepared = urllib.request.Request(url, data=body, method="PUT")
        for name, value in request.headers.items():
            prepared.add_header(name, value)
        try:
            with urllib.request.urlopen(prepared, timeout=30) as reply:
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code

    assert send("wrong secret") == 403
    assert send(cloud.owner.secret_access_key) == 200
    assert s3.get_object(Bucket=bucket, Key="chunked.txt")["Body"].read() == data


# -- browsers and other hosts --------------------------------------------------------------
def test_a_cross_site_no_cors_post_is_refused_and_runs_nothing(cloud, make_function):
    bucket = unique("xsite")
    cloud.client("s3").create_bucket(Bucket=bucket)
    name = make_function(
        "import boto3\n"
        "def handler(event, context):\n"
        f"    boto3.client('s3').put_object(Bucket='{bucket}', Key='ran', Body=b'x')\n"
    )
    status, headers, body = raw(
        cloud.endpoint,
        f"/2015-03-31/functions/{name}/invocations",
        body=b'{"from": "a web page"}',
        Content_Type="text/plain",
        Origin="https://evil.example",
        Referer="https://evil.example/page.html",
    )
    assert status == 403
    assert not any(h.lower().startswith("access-control-") for h in headers)
    keys = cloud.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    assert keys == [], "the function did not run"
    # same page, Referer only (some browsers drop Origin on navigation-like requests)
    status, _, _ = raw(cloud.endpoint, "/", method="GET", Referer="http://attacker.test/")
    assert status == 403


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:4566", "127.0.0.1.nip.io", "192.168.1.10:4566"]
)
def test_a_foreign_host_header_is_refused(cloud, host):
    status, _, _ = raw(cloud.endpoint, "/_localcloud/health", method="GET", Host=host)
    assert status == 403


@pytest.mark.parametrize("host", ["localhost", "localhost:4566", "lab.localhost", "[::1]:4566"])
def test_loopback_host_names_pass(cloud, host):
    status, _, _ = raw(cloud.endpoint, "/_localcloud/health", method="GET", Host=host)
    assert status == 200


def test_signed_replies_never_carry_cors_headers(cloud):
    s3 = cloud.client("s3")
    seen = {}
    s3.meta.events.register(
        "after-call.s3.ListBuckets",
        lambda http_response, **_: seen.update(http_response.headers),
    )
    s3.meta.events.register(
        "before-send.s3.ListBuckets",
        lambda request, **_: request.headers.__setitem__("Origin", "http://127.0.0.1:8888"),
    )
    s3.list_buckets()
    assert not any(name.lower().startswith("access-control-") for name in seen)


# -- never a hang --------------------------------------------------------------------------
def test_an_unsigned_post_to_an_unrouted_operation_is_answered(cloud):
    started = time.monotonic()
    status, headers, _ = raw(
        cloud.endpoint,
        "/2015-03-31/functions",
        body=json.dumps({"FunctionName": "x"}).encode(),
        Content_Type="application/json",
    )
    assert status == 403 and headers["X-Amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert time.monotonic() - started < 5


def test_a_signed_request_moto_doesnt_implement_gets_a_modelled_error(cloud):
    lam = cloud.client("lambda")
    with pytest.raises(lam.exceptions.ClientError) as raised:
        lam.create_code_signing_config(
            AllowedPublishers={"SigningProfileVersionArns": ["arn:aws:signer:x"]}
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500


def test_a_half_sent_body_gets_an_answer(cloud):
    port = int(cloud.endpoint.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nonly ten b"
        )
        started = time.monotonic()
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 4"), reply[:100]
    assert time.monotonic() - started < 25


# -- functions and pipelines run with their roles -----------------------------------------
def make_role(cloud, trust: dict, policy: dict | None) -> str:
    iam = cloud.client("iam")
    name = unique("role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn


def allow(*actions: str, resource: str = "*") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


def release(cloud, function: str, pipeline_role: str | None = None) -> tuple[str, dict]:
    s3 = cloud.client("s3")
    world = {"source": unique("src"), "store": unique("store")}
    for bucket in world.values():
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=world["source"], VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=world["source"], Key="app.zip", Body=zip_bytes({"a.txt": "a"}))
    name = unique("pipe")
    cp = cloud.client("codepipeline")
    cp.create_pipeline(
        pipeline={
            "name": name,
            "roleArn": pipeline_role or cloud.roles["pipeline"],
            "artifactStore": {"type": "S3", "location": world["store"]},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        pipelines.s3_source_action("Source", world["source"], "app.zip", "Out")
                    ],
                },
                {
                    "name": "LambdaStage",
                    "actions": [
                        {
                            "name": "Check",
                            "actionTypeId": LAMBDA,
                            "configuration": {"FunctionName": function},
                        }
                    ],
                },
            ],
        }
    )
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    return name, wait_for_execution(cp, name, first["pipelineExecutionId"], timeout=90)


def function_with_role(cloud, role: str, source: str = REPORTING) -> str:
    name = unique("fn")
    create_function(
        cloud.client,
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": source})},
        Timeout=10,
    )
    return name


def all_log_lines(cloud, function: str) -> list[str]:
    logs = cloud.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events]


def test_a_function_runs_as_its_role_and_reports_with_it(cloud):
    role = make_role(
        cloud,
        LAMBDA_TRUST,
        json.loads((ROOT / "data/policies/CodePipelineLambdaExecPolicy.json").read_text()),
    )
    function = function_with_role(cloud, role)
    _, execution = release(cloud, function)
    assert execution["status"] == "Succeeded"
    role_name = role.rsplit("/", 1)[1]
    identity = f"identity arn:aws:sts::123456789012:assumed-role/{role_name}/{function}"
    assert identity in all_log_lines(cloud, function)


def test_a_role_without_put_job_success_result_fails_the_action_like_aws(cloud):
    role = make_role(cloud, LAMBDA_TRUST, allow("logs:*", resource="arn:aws:logs:*:*:*"))
    function = function_with_role(cloud, role)
    name, execution = release(cloud, function)
    assert execution["status"] == "Failed"
    detail = actions(cloud.client, name, execution["pipelineExecutionId"])["Check"]
    message = detail["output"]["executionResult"]["errorDetails"]["message"]
    assert message == (
        f"The AWS Lambda function {function} failed to return a result. Check the function to "
        "verify that it has permission to call the PutJobSuccessResult action and that it made "
        "a call to PutJobSuccessResult."
    )
    role_name = role.rsplit("/", 1)[1]
    denied = (
        f"An error occurred (AccessDeniedException) when calling the PutJobSuccessResult "
        f"operation: User: arn:aws:sts::123456789012:assumed-role/{role_name}/{function} is not "
        "authorized to perform: codepipeline:PutJobSuccessResult because no identity-based "
        "policy allows the codepipeline:PutJobSuccessResult action"
    )
    assert any(denied in line for line in all_log_lines(cloud, function))


def test_a_role_without_logging_permissions_leaves_no_logs(cloud):
    role = make_role(cloud, LAMBDA_TRUST, allow("codepipeline:PutJobSuccessResult"))
    function = function_with_role(cloud, role)
    _, execution = release(cloud, function)
    assert execution["status"] == "Succeeded"
    assert all_log_lines(cloud, function) == [], "as on AWS: no logs:PutLogEvents, no logs"


def test_the_aws_managed_basic_execution_role_policy_applies(cloud):
    iam = cloud.client("iam")
    role = make_role(cloud, LAMBDA_TRUST, allow("codepipeline:PutJob*"))
    iam.attach_role_policy(
        RoleName=role.rsplit("/", 1)[1],
        PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    )
    function = function_with_role(cloud, role)
    _, execution = release(cloud, function)
    assert execution["status"] == "Succeeded"
    assert any(line.startswith("REPORT RequestId:") for line in all_log_lines(cloud, function))


def test_a_pipeline_role_without_invoke_permission_fails_the_action_naming_it(cloud):
    function = function_with_role(cloud, cloud.roles["lambda"])
    store_only = allow("s3:*")
    role = make_role(cloud, PIPELINE_TRUST, store_only)
    name, execution = release(cloud, function, pipeline_role=role)
    assert execution["status"] == "Failed"
    detail = actions(cloud.client, name, execution["pipelineExecutionId"])["Check"]
    message = detail["output"]["executionResult"]["errorDetails"]["message"]
    assert "lambda:InvokeFunction" in message and "LambdaStage/Check" in message
    assert all_log_lines(cloud, function) == [], "the function was never invoked"


def test_a_pipeline_role_that_cant_write_the_artifact_store_fails_the_source(cloud):
    role = make_role(cloud, PIPELINE_TRUST, allow("s3:GetObject*", "s3:GetBucketVersioning"))
    name, execution = release(cloud, "anything", pipeline_role=role)
    assert execution["status"] == "Failed"
    detail = actions(cloud.client, name, execution["pipelineExecutionId"])["Source"]
    message = detail["output"]["executionResult"]["errorDetails"]["message"]
    assert "s3:PutObject" in message and "Source/Source" in message


def test_trust_policies_decide_who_can_use_a_role(cloud):
    not_for_lambda = make_role(cloud, PIPELINE_TRUST, None)
    lam = cloud.client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as raised:
        function_with_role(cloud, not_for_lambda)
    assert raised.value.response["Error"]["Message"] == (
        "The role defined for the function cannot be assumed by Lambda."
    )
    not_for_pipelines = make_role(cloud, LAMBDA_TRUST, None)
    cp = cloud.client("codepipeline")
    with pytest.raises(cp.exceptions.InvalidStructureException) as raised:
        release(cloud, "anything", pipeline_role=not_for_pipelines)
    assert "not authorized to perform AssumeRole" in str(raised.value)


def test_no_iam_turns_policy_checks_off_but_keeps_the_lock(tmp_path):
    process, endpoint = localcloud.start(state=tmp_path, enforce_iam=False)
    try:
        owner = localcloud.owner_credentials(tmp_path)
        iam = client(endpoint, "iam", owner.access_key_id, owner.secret_access_key)
        role = iam.create_role(
            RoleName="no-policies", AssumeRolePolicyDocument=json.dumps(PIPELINE_TRUST)
        )["Role"]["Arn"]
        lam = client(endpoint, "lambda", owner.access_key_id, owner.secret_access_key)
        lam.create_function(  # a role Lambda couldn't assume: accepted without IAM
            FunctionName="fn",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": zip_bytes({"app.py": "def handler(e, c):\n    return 1\n"})},
        )
        made_up = client(endpoint, "lambda", "AKIAIOSFODNN7EXAMPLE", "secret")
        assert error_of(made_up.list_functions)["Code"] == "UnrecognizedClientException"
    finally:
        process.terminate()
        process.wait(10)


def test_two_local_clouds_dont_accept_each_others_keys(tmp_path, cloud):
    process, endpoint = localcloud.start(state=tmp_path)
    try:
        other = localcloud.owner_credentials(tmp_path)
        assert other.access_key_id != cloud.owner.access_key_id
        mine_there = client(
            endpoint, "sts", cloud.owner.access_key_id, cloud.owner.secret_access_key
        )
        theirs_here = client(cloud.endpoint, "sts", other.access_key_id, other.secret_access_key)
        assert error_of(mine_there.get_caller_identity)["Code"] == "InvalidClientTokenId"
        assert error_of(theirs_here.get_caller_identity)["Code"] == "InvalidClientTokenId"
    finally:
        process.terminate()
        process.wait(10)


def test_handing_a_role_to_lambda_needs_pass_role(cloud):
    """An IAM user may create functions only with roles it may pass (iam:PassRole)."""
    iam = cloud.client("iam")
    user = unique("user")
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="functions-only",
        PolicyDocument=json.dumps(allow("lambda:CreateFunction", "lambda:GetFunction")),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    lam = client(cloud.endpoint, "lambda", key["AccessKeyId"], key["SecretAccessKey"])

    def create():
        lam.create_function(
            FunctionName=unique("fn"),
            Runtime="python3.12",
            Role=cloud.roles["lambda"],
            Handler="app.handler",
            Code={"ZipFile": zip_bytes({"app.py": "def handler(e, c):\n    return 1\n"})},
        )

    error = error_of(create)
    assert error["Code"] == "AccessDeniedException"
    assert f"iam:PassRole on resource: {cloud.roles['lambda']}" in error["Message"]
    iam.put_user_policy(
        UserName=user,
        PolicyName="pass-the-role",
        PolicyDocument=json.dumps(allow("iam:PassRole", resource=cloud.roles["lambda"])),
    )
    create()
