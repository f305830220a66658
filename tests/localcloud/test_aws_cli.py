"""The AWS CLI against the local cloud, as an engineer types it: `aws --endpoint-url …` (or
the environment `python -m helpers.localcloud --env` prints) with the owner's keys.

The CLI (v1, from PyPI, installed into .venv with the workbook) signs, encodes and parses
differently from a boto3 script in a few places — `fileb://` blobs, `--cli-input-json`, its
own error line and exit code 254/255 — so what a learner copies from the AWS docs works here.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import pipeline_kit as kit
from .conftest import unique, zip_bytes

AWS = Path(sys.executable).parent / "aws"


@pytest.fixture(scope="module")
def cli(owner_env, tmp_path_factory):
    """Run `aws ARGS…` with the owner's environment; (exit code, stdout parsed if JSON, stderr)."""
    assert AWS.exists(), f"no AWS CLI at {AWS}: `make setup` installs it (awscli in pyproject)"
    home = tmp_path_factory.mktemp("cli-home")  # no ~/.aws of whoever runs the tests
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_PAGER": "",
        **owner_env,
    }

    def run(*args: str, check: bool = True):
        done = subprocess.run(
            [str(AWS), *args, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)}: {done.returncode}\n{done.stderr}")
        out = done.stdout.strip()
        return (
            done.returncode,
            (json.loads(out) if out.startswith(("{", "[")) else out),
            done.stderr,
        )

    return run


def test_the_cli_uses_the_local_cloud_from_the_environment_alone(cli, owner_env):
    """`--env` gives AWS_ENDPOINT_URL: no --endpoint-url is needed; the account is the local one."""
    assert "AWS_ENDPOINT_URL" in owner_env
    _, identity, _ = cli("sts", "get-caller-identity")
    assert identity["Account"] == "123456789012"


def test_s3_cp_and_versions(cli, tmp_path):
    bucket = unique("cli-bucket")
    cli("s3", "mb", f"s3://{bucket}")
    cli(
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        bucket,
        "--versioning-configuration",
        "Status=Enabled",
    )
    page = tmp_path / "index.html"
    for text in ("one", "two"):
        page.write_text(f"<h1>{text}</h1>")
        cli("s3", "cp", str(page), f"s3://{bucket}/index.html")
    _, versions, _ = cli("s3api", "list-object-versions", "--bucket", bucket)
    assert len(versions["Versions"]) == 2
    cli("s3", "cp", f"s3://{bucket}/index.html", str(tmp_path / "back.html"))
    assert (tmp_path / "back.html").read_text() == "<h1>two</h1>"


def test_lambda_create_invoke_and_its_log_tail(cli, roles, tmp_path):
    package = tmp_path / "function.zip"
    package.write_bytes(
        zip_bytes({"app.py": "def handler(event, context):\n    print('hi')\n    return event\n"})
    )
    name = unique("cli-fn")
    cli(
        "lambda",
        "create-function",
        "--function-name",
        name,
        "--runtime",
        "python3.12",
        "--role",
        roles["lambda"],
        "--handler",
        "app.handler",
        "--zip-file",
        f"fileb://{package}",
    )
    cli("lambda", "wait", "function-active-v2", "--function-name", name)
    out = tmp_path / "out.json"
    _, response, _ = cli(
        "lambda",
        "invoke",
        "--function-name",
        name,
        "--payload",
        '{"a": 1}',
        "--log-type",
        "Tail",
        str(out),
    )
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert json.loads(out.read_text()) == {"a": 1}
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "hi" in tail and "REPORT RequestId:" in tail


def test_errors_are_the_clis_own_line_and_exit_code(cli, tmp_path):
    code, _, stderr = cli("lambda", "get-function", "--function-name", "no-such-fn", check=False)
    assert code in (254, 255), (code, stderr)
    assert (
        "An error occurred (ResourceNotFoundException) when calling the GetFunction operation"
        in (stderr)
    )
    group = unique("/cli/group")
    cli("logs", "create-log-group", "--log-group-name", group)
    code, _, stderr = cli(
        "logs",
        "put-retention-policy",
        "--log-group-name",
        group,
        "--retention-in-days",
        "8",
        check=False,
    )
    assert code in (254, 255) and "InvalidParameterException" in stderr, stderr


def test_reserved_concurrency_zero_throttles_a_cli_invoke(cli, make_function, tmp_path):
    name = make_function("def handler(event, context):\n    return 1\n")
    cli(
        "lambda",
        "put-function-concurrency",
        "--function-name",
        name,
        "--reserved-concurrent-executions",
        "0",
    )
    code, _, stderr = cli(
        "lambda", "invoke", "--function-name", name, str(tmp_path / "out.json"), check=False
    )
    assert code in (254, 255) and "TooManyRequestsException" in stderr, stderr


def test_a_pipeline_from_cli_input_json_releases_on_upload(cli, aws, roles, tmp_path):
    """The tutorial's way: create-pipeline --cli-input-json with the S3 source's
    PollForSourceChanges left out (it then polls), `aws s3 cp` a new version, and a release
    starts by itself."""
    world = kit.source_world(aws, roles)
    pipeline = kit.declaration(world, name=unique("cli-pipe"))
    pipeline["stages"][0]["actions"][0]["configuration"].pop("PollForSourceChanges")
    pipeline["stages"].append(
        {
            "name": "Deploy",
            "actions": [
                kit.pipelines.s3_deploy_action("Deploy", world["records"], "SourceArtifact")
            ],
        }
    )
    spec = tmp_path / "pipeline.json"
    spec.write_text(json.dumps({"pipeline": pipeline}))
    cli("codepipeline", "create-pipeline", "--cli-input-json", f"file://{spec}")
    kit.finish_all(aws, pipeline["name"])  # the release its creation starts
    site = tmp_path / "site.zip"
    site.write_bytes(zip_bytes({"index.html": "<h1>New</h1>"}))
    cli("s3", "cp", str(site), f"s3://{world['source']}/site.zip")
    deadline = time.monotonic() + 30
    while True:
        _, listed, _ = cli(
            "codepipeline", "list-pipeline-executions", "--pipeline-name", pipeline["name"]
        )
        summaries = listed["pipelineExecutionSummaries"]
        polled = [s for s in summaries if s["trigger"]["triggerType"] == "PollForSourceChanges"]
        if polled:
            break
        assert time.monotonic() < deadline, summaries
        time.sleep(0.25)
    (execution,) = [
        e
        for e in kit.finish_all(aws, pipeline["name"])
        if e["pipelineExecutionId"] == polled[0]["pipelineExecutionId"]
    ]
    assert execution["status"] == "Succeeded"
    _, got, _ = cli(
        "codepipeline",
        "get-pipeline-execution",
        "--pipeline-name",
        pipeline["name"],
        "--pipeline-execution-id",
        execution["pipelineExecutionId"],
    )
    (revision,) = got["pipelineExecution"]["artifactRevisions"]
    head = aws("s3").head_object(Bucket=world["source"], Key="site.zip")
    assert revision["revisionId"] == head["VersionId"]


def test_step_functions_from_the_cli_runs_to_the_end(cli, aws, tmp_path):
    machine = kit.state_machine(aws)
    _, started, _ = cli(
        "stepfunctions", "start-execution", "--state-machine-arn", machine, "--input", "{}"
    )
    deadline = time.monotonic() + 30
    while True:
        _, described, _ = cli(
            "stepfunctions", "describe-execution", "--execution-arn", started["executionArn"]
        )
        if described["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline
        time.sleep(0.25)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"released": True}
