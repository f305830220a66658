"""Fixtures for talking to the local cloud through plain boto3, as a learner would."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.validate import ParamValidator

from helpers.localcloud.awslambda.worker import PYTHON_CLIENTS, has_awslambdaric
from helpers.resources import load_policy

LAMBDA_TRUST = load_policy("lambda-trust-policy.json")
PIPELINE_TRUST = load_policy("codepipeline-trust-policy.json")
FUNCTION_POLICY = load_policy("CodePipelineLambdaExecPolicy-CloudFormation.json")
PIPELINE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction", "lambda:ListFunctions"],
            "Resource": "*",
        },
    ],
}


class Cloud:
    """One local cloud, reached through plain boto3 as a learner would (``Cloud.of`` gives
    the same object for the same local cloud, so its roles are made once)."""

    _known: dict = {}

    @classmethod
    def of(cls, started) -> Cloud:
        if started.endpoint not in cls._known:
            cls._known[started.endpoint] = cls(started)
        return cls._known[started.endpoint]

    def __init__(self, started):
        self.endpoint = started.endpoint
        self.state_dir = started.state_dir
        self.owner = started.owner
        self._session = boto3.Session(
            aws_access_key_id=started.owner.access_key_id,
            aws_secret_access_key=started.owner.secret_access_key,
            region_name="us-east-1",
        )
        self._clients: dict = {}
        self._roles: dict | None = None

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service,
                endpoint_url=self.endpoint,
                config=Config(retries={"max_attempts": 1}, read_timeout=120),
            )
        return self._clients[service]

    @property
    def roles(self) -> dict[str, str]:
        """A function execution role with the page's CloudFormation-sample policy, and a
        pipeline service role that may use any bucket and invoke any function; created on
        first use."""
        if self._roles is None:
            iam = self.client("iam")
            self._roles = {
                "lambda": iam.create_role(
                    RoleName="test-lambda-role", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
                )["Role"]["Arn"],
                "pipeline": iam.create_role(
                    RoleName="test-pipeline-role",
                    AssumeRolePolicyDocument=json.dumps(PIPELINE_TRUST),
                )["Role"]["Arn"],
            }
            iam.put_role_policy(
                RoleName="test-lambda-role",
                PolicyName="page-policy",
                PolicyDocument=json.dumps(FUNCTION_POLICY),
            )
            iam.put_role_policy(
                RoleName="test-pipeline-role",
                PolicyName="any-bucket-any-function",
                PolicyDocument=json.dumps(PIPELINE_POLICY),
            )
        return self._roles


@pytest.fixture(scope="session")
def cloud(local_cloud):
    return Cloud.of(local_cloud)


@pytest.fixture(scope="session")
def aws(cloud):
    """A factory of boto3 clients pointed at the test's local cloud."""
    return cloud.client


@pytest.fixture(scope="session")
def roles(cloud):
    return cloud.roles


@pytest.fixture(scope="session", params=PYTHON_CLIENTS)
def each_python_client(request, start_cloud):
    """A local cloud per Python runtime interface client: AWS's awslambdaric (Linux only) and
    the workbook's own, which macOS uses. Modules whose tests must hold for both override
    ``cloud`` with this."""
    if request.param == "awslambdaric" and not has_awslambdaric():
        pytest.skip("awslambdaric is not installed here (it installs on Linux only)")
    return Cloud.of(start_cloud(request.param))


# Lambda's waiters poll every second; the local cloud settles in a fraction of that.
FAST_WAITER = {"Delay": 0.05, "MaxAttempts": 200}


def wait_until_active(aws, name: str) -> None:
    """After CreateFunction: wait, as on AWS, until the function is no longer Pending."""
    aws("lambda").get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)


def wait_until_updated(aws, name: str) -> None:
    """After an update: wait, as on AWS, until LastUpdateStatus is Successful."""
    aws("lambda").get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig=FAST_WAITER
    )


def create_function(aws, **params) -> dict:
    """CreateFunction, then wait until the function is Active (as code must on AWS)."""
    config = aws("lambda").create_function(**params)
    wait_until_active(aws, params["FunctionName"])
    return config


def zip_bytes(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, content in files.items():
            package.writestr(name, content)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_function(aws, roles):
    """Create a python3.12 function from source text and wait until it is Active; returns its
    name."""

    def make(source: str, name: str | None = None, timeout: int = 5, env=None, **extra) -> str:
        name = name or unique("fn")
        create_function(
            aws,
            FunctionName=name,
            Runtime="python3.12",
            Role=roles["lambda"],
            Handler=extra.pop("handler", "app.handler"),
            Code={"ZipFile": zip_bytes({"app.py": source})},
            Timeout=timeout,
            Environment={"Variables": env or {}},
            **extra,
        )
        return name

    return make


def assert_valid_output(client, operation: str, response: dict) -> None:
    """The response has the shape botocore's service model gives the operation's output."""
    model = client.meta.service_model.operation_model(operation)
    data = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(data, model.output_shape)
    assert not report.has_errors(), report.generate_report()


def wait_for_execution(client, pipeline: str, execution_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = client.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=execution_id
        )["pipelineExecution"]
        if execution["status"] not in ("InProgress", "Stopping"):
            return execution
        time.sleep(0.02)
    raise AssertionError(f"execution {execution_id} still running after {timeout} s")


def log_messages(aws, function_name: str) -> list[list[str]]:
    """Every log stream of a function, oldest first, as lists of messages."""
    logs = aws("logs")
    group = f"/aws/lambda/{function_name}"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    result = []
    for stream in sorted(streams, key=lambda s: s["creationTime"]):
        events = logs.get_log_events(
            logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
        result.append([e["message"] for e in events])
    return result
