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

from helpers.resources import load_policy

LAMBDA_TRUST = load_policy("lambda-trust-policy.json")
PIPELINE_TRUST = load_policy("codepipeline-trust-policy.json")


@pytest.fixture(scope="session")
def aws(cloud_endpoint):
    """A factory of boto3 clients pointed at the test's local cloud."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    cache = {}

    def client(service: str):
        if service not in cache:
            cache[service] = session.client(
                service,
                endpoint_url=cloud_endpoint,
                config=Config(retries={"max_attempts": 1}, read_timeout=120),
            )
        return cache[service]

    return client


@pytest.fixture(scope="session")
def roles(aws):
    iam = aws("iam")
    lambda_role = iam.create_role(
        RoleName="test-lambda-role", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )["Role"]["Arn"]
    pipeline_role = iam.create_role(
        RoleName="test-pipeline-role", AssumeRolePolicyDocument=json.dumps(PIPELINE_TRUST)
    )["Role"]["Arn"]
    return {"lambda": lambda_role, "pipeline": pipeline_role}


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
    """Create a python3.12 function from source text; returns its name."""

    def make(source: str, name: str | None = None, timeout: int = 5, env=None, **extra) -> str:
        name = name or unique("fn")
        aws("lambda").create_function(
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
