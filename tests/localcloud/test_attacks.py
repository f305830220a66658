"""The attacker's suite: each request that once got a least-privileged caller more than its
policies allow, sent on the wire as the attacker sent it, and refused.

Every probe is signed correctly with the caller's own key (the outer lock holds; these are the
holes past it), built by hand with botocore's signer so that the encoding is exactly the one
under test — no SDK would send any of them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import boto3
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from helpers import localcloud

from .conftest import create_function, unique, zip_bytes

ACCOUNT = "123456789012"
IAM_VERSION = "2010-05-08"
FORM = "application/x-www-form-urlencoded"
LOGS_JSON = "application/x-amz-json-1.1"
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
CREDENTIALS_OF_THE_FUNCTION = """
import os
def handler(event, context):
    return {k: os.environ[k] for k in
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
"""


class Caller:
    """Someone holding a key of the local cloud, sending requests by hand."""

    def __init__(self, endpoint: str, key: str, secret: str, token: str | None = None):
        self.endpoint, self.credentials = endpoint, Credentials(key, secret, token)

    def send(self, service, method="POST", path="/", body=b"", headers=None, query=""):
        """(status, headers, body) of a request signed with this caller's key."""
        url = self.endpoint + path + (f"?{query}" if query else "")
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        signer = S3SigV4Auth if service == "s3" else SigV4Auth
        signer(self.credentials, service, "us-east-1").add_auth(request)
        return wire(method, url, body, dict(request.headers))

    def presign(self, service, method, path, expires: int, query: str = "") -> str:
        url = self.endpoint + path + (f"?{query}" if query else "")
        request = AWSRequest(method=method, url=url)
        signer = S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth
        signer(self.credentials, service, "us-east-1", expires=expires).add_auth(request)
        return request.url

    def boto(self, service: str):
        session = boto3.Session(
            aws_access_key_id=self.credentials.access_key,
            aws_secret_access_key=self.credentials.secret_key,
            aws_session_token=self.credentials.token,
            region_name="us-east-1",
        )
        return session.client(
            service, endpoint_url=self.endpoint, config=Config(retries={"max_attempts": 1})
        )


def wire(method: str, url: str, body: bytes = b"", headers: dict | None = None):
    request = urllib.request.Request(url, data=body or None, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def user_with(cloud, *policy_arns: str, inline: dict | None = None) -> Caller:
    """A new IAM user with exactly these policies, and its key."""
    iam = cloud.client("iam")
    name = unique("user")
    iam.create_user(UserName=name)
    for arn in policy_arns:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if inline is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Caller(cloud.endpoint, key["AccessKeyId"], key["SecretAccessKey"])


def allow(*actions: str, resource: str = "*") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


def users(cloud) -> set[str]:
    return {u["UserName"] for u in cloud.client("iam").list_users()["Users"]}


def error_code(body: bytes) -> str:
    text = body.decode()
    if text.startswith("{"):
        data = json.loads(text)
        return data.get("__type") or data.get("code") or data.get("Code") or ""
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""


@pytest.fixture(scope="module")
def function_caller(cloud):
    """The session credentials of a function whose role has only AWSLambdaBasicExecutionRole,
    as its code reads them from its environment."""
    iam = cloud.client("iam")
    role = iam.create_role(
        RoleName=unique("basic-role"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=BASIC_EXECUTION)
    name = unique("creds")
    create_function(
        cloud.client,
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": CREDENTIALS_OF_THE_FUNCTION})},
    )
    payload = json.load(cloud.client("lambda").invoke(FunctionName=name)["Payload"])
    return Caller(
        cloud.endpoint,
        payload["AWS_ACCESS_KEY_ID"],
        payload["AWS_SECRET_ACCESS_KEY"],
        payload["AWS_SESSION_TOKEN"],
    )


def multipart(fields: dict[str, str], boundary: str = "XyZ") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    return (
        "".join(parts) + f"--{boundary}--\r\n"
    ).encode(), f"multipart/form-data; boundary={boundary}"


# -- one operation, one reading ----------------------------------------------------------------
def test_a_function_cant_make_itself_admin_with_a_multipart_form(cloud, function_caller):
    name = unique("evil")
    for fields in (
        {"Action": "CreateUser", "UserName": name, "Version": IAM_VERSION},
        {
            "Action": "AttachUserPolicy",
            "UserName": name,
            "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            "Version": IAM_VERSION,
        },
    ):
        body, content_type = multipart(fields)
        status, _, reply = function_caller.send(
            "iam", body=body, headers={"Content-Type": content_type}
        )
        assert status == 400 and error_code(reply) == "MalformedQueryString", reply
        assert b"multipart/form-data" in reply
    assert name not in users(cloud)
    # the same call in the encoding AWS reads is refused by IAM, as on AWS
    form = urlencode({"Action": "CreateUser", "UserName": name, "Version": IAM_VERSION})
    status, _, reply = function_caller.send(
        "iam", body=form.encode(), headers={"Content-Type": FORM}
    )
    assert status == 403 and error_code(reply) == "AccessDenied"
    assert b"iam:CreateUser" in reply and name not in users(cloud)


@pytest.mark.parametrize(
    "query, body, content_type",
    [
        ("", f"Action=CreateUser&UserName=NAME&Version={IAM_VERSION}&Action=ListUsers", FORM),
        (
            f"Action=CreateUser&UserName=NAME&Version={IAM_VERSION}",
            "Action=ListUsers",
            "text/plain",
        ),
        (f"Action=CreateUser&UserName=NAME&Version={IAM_VERSION}", "Action=ListUsers", FORM),
        (f"Action=ListUsers&Version={IAM_VERSION}&Action=CreateUser&UserName=NAME", "", FORM),
    ],
    ids=["two-actions-in-the-body", "query-and-text-body", "query-and-form-body", "two-in-query"],
)
def test_a_reader_cant_create_users_by_saying_two_operations(cloud, query, body, content_type):
    reader = user_with(cloud, "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    name = unique("evil")
    status, _, reply = reader.send(
        "iam",
        body=body.replace("NAME", name).encode(),
        headers={"Content-Type": content_type},
        query=query.replace("NAME", name),
    )
    assert status == 400 and error_code(reply) == "MalformedQueryString", reply
    assert name not in users(cloud)
    assert reader.boto("iam").list_users()["Users"], "the reader still reads"


def test_a_target_beside_a_query_action_is_refused(cloud):
    group = unique("/kept")
    cloud.client("logs").create_log_group(logGroupName=group)
    creator = user_with(cloud, inline=allow("logs:CreateLogGroup"))
    for query, headers in (
        ("Action=DeleteLogGroup", {"X-Amz-Target": "Logs_20140328.CreateLogGroup"}),
        ("", {"X-Amz-Target": "Logs_20140328.CreateLogGroup", "Action": "DeleteLogGroup"}),
    ):
        status, _, reply = creator.send(
            "logs",
            body=json.dumps({"logGroupName": group}).encode(),
            headers={**headers, "Content-Type": LOGS_JSON},
            query=query,
        )
        assert status == 400 and error_code(reply) == "SerializationException", reply
    groups = cloud.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]


def test_an_operation_of_another_service_cant_hide_behind_a_signature(cloud):
    """Signed for CloudWatch Logs (which the caller may use at will), naming CodePipeline's
    DeletePipeline in X-Amz-Target."""
    logs_admin = user_with(cloud, inline=allow("logs:*"))
    status, _, reply = logs_admin.send(
        "logs",
        body=json.dumps({"name": "any"}).encode(),
        headers={"X-Amz-Target": "CodePipeline_20150709.DeletePipeline", "Content-Type": LOGS_JSON},
    )
    assert status == 400 and error_code(reply) == "SerializationException", reply
    assert b"CodePipeline_20150709.DeletePipeline" in reply


def test_a_rest_request_cant_carry_a_second_operation(cloud, make_function):
    name = make_function("def handler(event, context):\n    return 1\n")
    reader = user_with(cloud, inline=allow("lambda:GetFunction"))
    path = f"/2015-03-31/functions/{name}"
    for query, headers in (
        ("Action=DeleteFunction", {}),
        ("", {"X-Amz-Target": "AWSLambda.DeleteFunction"}),
        ("", {"Action": "DeleteFunction"}),
    ):
        status, _, reply = reader.send("lambda", "GET", path, headers=headers, query=query)
        assert status == 400, reply
    body, content_type = multipart({"Action": "DeleteFunction", "FunctionName": name})
    status, _, _ = reader.send(
        "lambda", "PUT", path + "/configuration", body, {"Content-Type": content_type}
    )
    assert status == 400
    assert cloud.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionName"]
    assert reader.send("lambda", "GET", path)[0] == 200, "the plain request still works"


def test_s3_query_keys_that_select_two_operations_are_refused(cloud):
    bucket = unique("selectors")
    cloud.client("s3").create_bucket(Bucket=bucket)
    owner = Caller(cloud.endpoint, cloud.owner.access_key_id, cloud.owner.secret_access_key)
    status, _, reply = owner.send("s3", "GET", f"/{bucket}", query="acl&policy")
    assert status == 400 and error_code(reply) == "InvalidArgument"
    assert b"Conflicting query string parameters: acl, policy" in reply
    status, _, reply = owner.send("s3", "DELETE", f"/{bucket}/k", query="partNumber=1")
    assert status == 400 and error_code(reply) == "InvalidArgument"


def test_a_request_that_names_no_operation_is_refused_when_iam_is_on(cloud):
    owner = Caller(cloud.endpoint, cloud.owner.access_key_id, cloud.owner.secret_access_key)
    status, _, reply = owner.send(
        "logs",
        body=b"{}",
        headers={"X-Amz-Target": "Logs_20140328.MakeMeAdmin", "Content-Type": LOGS_JSON},
    )
    assert status == 400 and error_code(reply) == "AccessDeniedException"
    assert b"names no operation" in reply
    status, _, reply = owner.send(
        "iam", body=f"Version={IAM_VERSION}".encode(), headers={"Content-Type": FORM}
    )
    assert status == 403 and error_code(reply) == "AccessDenied"


def test_a_gzip_body_is_read_once_by_everyone(cloud):
    """botocore compresses some bodies; the gate reads the inflated body moto would read."""
    reader = user_with(cloud, "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    name = unique("evil")
    hidden = gzip.compress(f"Action=CreateUser&UserName={name}&Version={IAM_VERSION}".encode())
    status, _, reply = reader.send(
        "iam",
        body=hidden,
        headers={"Content-Type": FORM, "Content-Encoding": "gzip"},
        query=f"Action=ListUsers&Version={IAM_VERSION}",
    )
    assert status == 400 and name not in users(cloud), reply
    group = unique("/gz")
    status, _, _ = reader.send(
        "logs",
        body=gzip.compress(json.dumps({"logGroupName": group}).encode()),
        headers={
            "X-Amz-Target": "Logs_20140328.CreateLogGroup",
            "Content-Type": LOGS_JSON,
            "Content-Encoding": "gzip",
        },
    )
    assert status == 400  # IAMReadOnlyAccess: AccessDeniedException for the inflated call
    owner = Caller(cloud.endpoint, cloud.owner.access_key_id, cloud.owner.secret_access_key)
    status, _, _ = owner.send(
        "logs",
        body=gzip.compress(json.dumps({"logGroupName": group}).encode()),
        headers={
            "X-Amz-Target": "Logs_20140328.CreateLogGroup",
            "Content-Type": LOGS_JSON,
            "Content-Encoding": "gzip",
        },
    )
    assert status == 200
    assert cloud.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]


def test_moto_is_held_to_the_operation_the_gate_allowed():
    """Where moto's own reading would differ from the gate's (the last line of defence if a
    request ever slipped past the strict reading), moto's dispatch refuses to run it."""
    from moto.core.request import Request
    from werkzeug.test import EnvironBuilder

    from helpers.localcloud.access import dispatch
    from helpers.localcloud.access.gate import Caller as GateCaller
    from helpers.localcloud.access.operations import Operation
    from helpers.localcloud.access.policies import Principal

    dispatch.install()
    from moto.awslambda.responses import LambdaResponse

    environ = EnvironBuilder(
        path="/2015-03-31/functions/victim",
        method="DELETE",
        headers={"Host": "lambda.us-east-1.amazonaws.com"},
    ).get_environ()
    environ[dispatch.SERVED_KEY] = True  # as the server marks every request it receives
    environ[dispatch.CALLER_KEY] = GateCaller(
        Principal(ACCOUNT, "user", "reader"),
        Operation("lambda", "GetFunction", "rest-json", {"FunctionName": "victim"}),
        "us-east-1",
    )
    request = Request(environ)
    with pytest.raises(dispatch.DispatchRefused):
        LambdaResponse().dispatch(
            request,
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/victim",
            request.headers,
        )
    refused = environ[dispatch.REFUSED_KEY]
    assert refused.code == "AccessDeniedException" and "lambda:GetFunction" in refused.message
    # and a request that never passed the gate is refused too
    del environ[dispatch.CALLER_KEY], environ[dispatch.REFUSED_KEY]
    with pytest.raises(dispatch.DispatchRefused):
        LambdaResponse().dispatch(
            Request(environ), "https://lambda.us-east-1.amazonaws.com/x", request.headers
        )


# -- AssumeRole as AWS decides it ------------------------------------------------------------
def role(cloud, principal: dict, condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    return cloud.client("iam").create_role(
        RoleName=unique("trust"), AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]


def assume(caller: Caller, role_arn: str, **extra) -> str:
    """The code of the answer: "" when the role was assumed."""
    try:
        caller.boto("sts").assume_role(RoleArn=role_arn, RoleSessionName="probe", **extra)
        return ""
    except Exception as error:  # noqa: BLE001 - the ClientError's code is the answer
        return error.response["Error"]["Code"]


def test_assume_role_needs_the_roles_trust_policy(cloud):
    anyone = user_with(cloud, inline=allow("sts:AssumeRole"))
    service_only = role(cloud, {"Service": "codepipeline.amazonaws.com"})
    status = assume(anyone, service_only)
    assert status == "AccessDenied"
    try:
        anyone.boto("sts").assume_role(RoleArn=service_only, RoleSessionName="probe")
    except Exception as error:  # noqa: BLE001
        assert error.response["Error"]["Message"] == (
            f"User: {_arn(anyone)} is not authorized to perform: sts:AssumeRole on resource: "
            f"{service_only}"
        )
    assert assume(anyone, role(cloud, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})) == ""
    assert assume(anyone, role(cloud, {"AWS": ACCOUNT})) == ""
    assert assume(anyone, f"arn:aws:iam::{ACCOUNT}:role/no-such-role") == "AccessDenied"


def test_a_trust_policy_naming_the_account_defers_to_identity_policies(cloud):
    nobody = user_with(cloud)  # no policy at all
    by_account = role(cloud, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    assert assume(nobody, by_account) == "AccessDenied"
    by_name = role(cloud, {"AWS": _arn(nobody)})
    assert assume(nobody, by_name) == "", "a trust policy naming the user grants on its own"
    denied = user_with(
        cloud,
        inline={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}],
        },
    )
    assert assume(denied, role(cloud, {"AWS": _arn(denied)})) == "AccessDenied"


def test_a_trust_condition_on_the_external_id_is_honoured(cloud):
    caller = user_with(cloud, inline=allow("sts:AssumeRole"))
    guarded = role(
        cloud,
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        {"StringEquals": {"sts:ExternalId": "workshop-42"}},
    )
    assert assume(caller, guarded) == "AccessDenied"
    assert assume(caller, guarded, ExternalId="wrong") == "AccessDenied"
    assert assume(caller, guarded, ExternalId="workshop-42") == ""


def _arn(caller: Caller) -> str:
    return caller.boto("sts").get_caller_identity()["Arn"]


def test_lambda_needs_the_execution_roles_trust_at_every_cold_start(cloud):
    iam = cloud.client("iam")
    name = unique("untrusted")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    create_function(
        cloud.client,
        FunctionName=name,
        Runtime="python3.12",
        Role=arn,
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": "def handler(e, c):\n    return 'ran'\n"})},
    )
    trust["Statement"][0]["Principal"] = {"Service": "codepipeline.amazonaws.com"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    with pytest.raises(Exception) as raised:
        cloud.client("lambda").invoke(FunctionName=name)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "cannot be assumed by Lambda" in raised.value.response["Error"]["Message"]


# -- moto's own API -----------------------------------------------------------------------------
def test_motos_admin_api_is_served_to_nobody(cloud, function_caller):
    owner = Caller(cloud.endpoint, cloud.owner.access_key_id, cloud.owner.secret_access_key)
    bucket = unique("survivor")
    cloud.client("s3").create_bucket(Bucket=bucket)
    for path in ("/moto-api/reset", "/moto-api/reset-auth", "/moto-api/data.json", "/moto-api/"):
        for who in (owner, function_caller):
            status, _, reply = who.send("s3", "POST", path)
            assert status == 403 and b"moto's own API" in reply
        assert wire("POST", cloud.endpoint + path)[0] == 403
    status, _, _ = wire("GET", cloud.endpoint + "/latest/meta-data/iam/security-credentials/")
    assert status == 403
    assert bucket in [b["Name"] for b in cloud.client("s3").list_buckets()["Buckets"]]
    assert cloud.client("sts").get_caller_identity()["Arn"].endswith("user/localcloud-owner")


# -- the smaller holes --------------------------------------------------------------------------
def test_a_signature_never_vouches_for_another_body(cloud):
    """Outside S3, the payload hash is the body's own: a signed x-amz-content-sha256 of one
    body doesn't carry another."""
    owner = Caller(cloud.endpoint, cloud.owner.access_key_id, cloud.owner.secret_access_key)
    signed_body = json.dumps({"logGroupName": unique("/signed")}).encode()
    swapped = json.dumps({"logGroupName": unique("/swapped")}).encode()
    url = cloud.endpoint + "/"
    headers = {
        "X-Amz-Target": "Logs_20140328.CreateLogGroup",
        "Content-Type": LOGS_JSON,
        "X-Amz-Content-SHA256": hashlib.sha256(signed_body).hexdigest(),
    }
    request = AWSRequest(method="POST", url=url, data=signed_body, headers=headers)
    SigV4Auth(owner.credentials, "logs", "us-east-1").add_auth(request)
    status, _, reply = wire("POST", url, swapped, dict(request.headers))
    assert status == 400 and error_code(reply) == "InvalidSignatureException", reply
    assert not cloud.client("logs").describe_log_groups(
        logGroupNamePrefix=json.loads(swapped)["logGroupName"]
    )["logGroups"]
    assert wire("POST", url, signed_body, dict(request.headers))[0] == 200


def test_a_presigned_url_may_last_a_week_at_most(cloud):
    owner = Caller(cloud.endpoint, cloud.owner.access_key_id, cloud.owner.secret_access_key)
    bucket = unique("week")
    cloud.client("s3").create_bucket(Bucket=bucket)
    cloud.client("s3").put_object(Bucket=bucket, Key="k", Body=b"body")
    status, _, reply = wire("GET", owner.presign("s3", "GET", f"/{bucket}/k", 604801))
    assert status == 400 and error_code(reply) == "AuthorizationQueryParametersError"
    assert b"must be less than 604800 seconds" in reply
    assert wire("GET", owner.presign("s3", "GET", f"/{bucket}/k", 604800))[2] == b"body"


@pytest.fixture(scope="module")
def public_object(cloud):
    s3 = cloud.client("s3")
    bucket = unique("public")
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>site</h1>")
    return f"{cloud.endpoint}/{bucket}/index.html"


def test_anonymous_callers_get_the_public_object_and_nothing_else(public_object):
    status, _, body = wire("GET", public_object)
    assert status == 200 and body == b"<h1>site</h1>"
    status, headers, _ = wire("HEAD", public_object)
    assert status == 200 and headers["Content-Length"] == "13"
    for query in ("acl", "tagging", "attributes", "uploadId=x", "versionId=null", "torrent"):
        status, _, reply = wire("GET", f"{public_object}?{query}")
        assert status == 403 and error_code(reply) == "AccessDenied", (query, reply)
    assert wire("PUT", public_object, b"defaced")[0] == 403
    assert wire("DELETE", public_object)[0] == 403


def test_idle_connections_are_closed_and_cant_exhaust_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCLOUD_MAX_CONNECTIONS", "8")
    monkeypatch.setenv("LOCALCLOUD_IDLE_CONNECTION_S", "1")
    process, endpoint = localcloud.start(state=tmp_path)
    try:
        owner = localcloud.owner_credentials(tmp_path)
        port = int(endpoint.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        sts = Caller(endpoint, owner.access_key_id, owner.secret_access_key).boto("sts")
        assert sts.get_caller_identity()["Arn"].endswith("localcloud-owner")
        time.sleep(2.5)
        for sock in idle:
            sock.settimeout(5)
            try:
                assert sock.recv(1) == b"", "closed by the server"
            except ConnectionResetError:
                pass
            sock.close()
        assert sts.get_caller_identity()["Account"] == ACCOUNT
    finally:
        process.terminate()
        process.wait(10)


def test_codepipeline_needs_the_service_roles_trust_at_every_action(cloud):
    from .pipeline_kit import actions, declaration, release, source_world

    world = source_world(cloud.client, cloud.roles)
    iam = cloud.client("iam")
    name = unique("pipe-role")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    world["role"] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(allow("s3:*")))
    pipeline = declaration(world)
    pipeline["stages"].append(
        {
            "name": "Deploy",
            "actions": [
                {
                    "name": "Deploy",
                    "actionTypeId": {
                        "category": "Deploy",
                        "owner": "AWS",
                        "provider": "S3",
                        "version": "1",
                    },
                    "configuration": {"BucketName": world["records"], "Extract": "true"},
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                }
            ],
        }
    )
    cp = cloud.client("codepipeline")
    cp.create_pipeline(pipeline=pipeline)
    trust["Statement"][0]["Principal"] = {"Service": "lambda.amazonaws.com"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    execution = release(cloud.client, pipeline["name"])
    assert execution["status"] == "Failed"
    source = actions(cloud.client, pipeline["name"], execution["pipelineExecutionId"])["Source"]
    assert source["status"] == "Failed"
    assert source["output"]["executionResult"]["externalExecutionSummary"] == (
        f"CodePipeline is not authorized to perform AssumeRole on role {world['role']}"
    )
