"""Secrets stay secret: no access key, secret key or session token in what the workbook shows or
writes — the committed notebooks' outputs, the local cloud's own log, functions' CloudWatch logs.

Looked for: AWS access key ids (AKIA… long-term, ASIA… temporary), any value labelled as a
secret key or session token, and the exact secrets in play — every test local cloud's owner
key, the role session a function ran with, the artifact credentials a pipeline job was given.
The page's documented example keys (AKIAIOSFODNN7EXAMPLE, wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,
in its example job event) are allowed.
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest

from helpers import packaging, pipelines, resources
from helpers.localcloud.access import credentials

from .localcloud.conftest import Cloud, create_function, unique, wait_for_execution, zip_bytes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
LABELLED = re.compile(
    r"(?i)(secret_?access_?key|session_?token|secret_?key)[\"'\s]*[:=]\s*[\"']?"
    r"([A-Za-z0-9/+=]{16,})"
)
TELLS_ITS_CREDENTIALS = """
import os

def handler(event, context):  # returned, never printed
    return {name: os.environ[name] for name in
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
"""
RECORDS_ITS_JOB = """
import boto3

def handler(event, context):
    job = event["CodePipeline.job"]["id"]
    boto3.client("codepipeline").put_job_success_result(jobId=job, outputVariables={"job": job})
"""


def leaks(text: str, secrets: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The secrets ``text`` shows: key ids, labelled secret keys and tokens, known secrets."""
    found = [key for key in KEY_ID.findall(text) if key != EXAMPLE_KEY_ID]
    found += [value for _, value in LABELLED.findall(text) if "EXAMPLE" not in value]
    found += [secret for secret in secrets if secret and secret in text]
    return [f"{value[:4]}… ({len(value)} characters)" for value in found]  # never shown whole


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("key AKIAABCDEFGHIJKLMNOP here", True),
        ("ASIAABCDEFGHIJKLMNOP", True),
        ('"secretAccessKey": "abcdEFGH1234/+abcdEFGH1234abcdEFGH1234ab"', True),
        ("aws_secret_access_key = abcdEFGH1234abcdEFGH1234abcdEFGH1234abcd", True),
        ("AWS_SESSION_TOKEN=FQoGZXIvYXdzEBYaDabcdefghijklmnop", True),
        ("the owner's s3cr3t-value-0123456789 leaked", True),
        (f'"accessKeyId": "{EXAMPLE_KEY_ID}", "secretAccessKey": "{EXAMPLE_SECRET}"', False),
        ('"sessionToken": "MIICiTCCAfICCQD6m7oRw0uXOjANBgkqhkiG9w0BEXAMPLE="', False),
        ("REPORT RequestId: 3c7e1c1e-0b1a-4c4e-9a3e-1d2f3a4b5c6d\tDuration: 1.00 ms", False),
        ("CodeSha256: 6uBLwlhm2Fg2B4rp5hPuTMaFU6bCm1J9FWoG40P6t1I=", False),
    ],
)
def test_the_scan_finds_each_kind_of_secret(text, found):
    assert bool(leaks(text, {"s3cr3t-value-0123456789"})) is found


def notebook_outputs(path: Path) -> str:
    """Every output of a notebook, as text."""
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            texts.append(_text(output.get("text", "")))
            for value in (output.get("data") or {}).values():
                texts.append(_text(value) if not isinstance(value, dict) else json.dumps(value))
            texts.append("\n".join(output.get("traceback", [])))
    return "\n".join(texts)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


@pytest.mark.parametrize(
    "notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name
)
def test_committed_notebook_outputs_hold_no_secrets(notebook):
    assert leaks(notebook_outputs(notebook)) == []


@pytest.fixture(scope="module")
def secrets_in_play(local_cloud, tmp_path_factory) -> dict:
    """Run what handles credentials — a function's role session, a pipeline job's artifact
    credentials, the workbook's health check — and collect the secrets involved."""
    cloud = Cloud.of(local_cloud)
    aws, roles = cloud.client, cloud.roles
    found: set[str] = set()
    kept = tmp_path_factory.getbasetemp().rglob("credentials")  # every test local cloud's
    for state_dir in {Path(local_cloud.state_dir), *(path.parent for path in kept)}:
        try:
            owner = credentials.load(state_dir)
        except (configparser.Error, KeyError, OSError):
            continue  # a file of that name that isn't a local cloud's
        if owner is not None:
            found |= {owner.access_key_id, owner.secret_access_key}

    teller = unique("tells")
    create_function(
        aws,
        FunctionName=teller,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": TELLS_ITS_CREDENTIALS})},
    )
    session = json.load(aws("lambda").invoke(FunctionName=teller)["Payload"])
    found |= set(session.values())

    recorder, checker = unique("records"), unique("health-check")
    create_function(
        aws,
        FunctionName=recorder,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": RECORDS_ITS_JOB})},
    )
    create_function(
        aws,
        FunctionName=checker,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="health_check.lambda_handler",
        Code={"ZipFile": packaging.function_package("health_check")},
        Timeout=20,
    )
    s3 = aws("s3")
    source, store, site = unique("src"), unique("store"), unique("site")
    for bucket in (source, store, site):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(
        Bucket=source, Key="site.zip", Body=zip_bytes({"index.html": "<h1>Congratulations</h1>"})
    )
    resources.open_to_public_reads(s3, site)
    name = unique("secrets")
    cp = aws("codepipeline")
    cp.create_pipeline(
        pipeline={
            "name": name,
            "roleArn": roles["pipeline"],
            "artifactStore": {"type": "S3", "location": store},
            "stages": [
                {
                    "name": "Source",
                    "actions": [pipelines.s3_source_action("Source", source, "site.zip", "Site")],
                },
                {"name": "Deploy", "actions": [pipelines.s3_deploy_action("Deploy", site, "Site")]},
                {
                    "name": "LambdaStage",
                    "actions": [
                        pipelines.lambda_action("Record", recorder),
                        pipelines.lambda_action(
                            "Check", checker, f"{local_cloud.endpoint}/{site}/index.html"
                        ),
                    ],
                },
            ],
        }
    )
    execution = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    ended = wait_for_execution(cp, name, execution["pipelineExecutionId"])
    assert ended["status"] == "Succeeded", ended
    rows = cp.list_action_executions(
        pipelineName=name, filter={"pipelineExecutionId": execution["pipelineExecutionId"]}
    )["actionExecutionDetails"]
    job = next(r for r in rows if r["actionName"] == "Record")["output"]["outputVariables"]["job"]
    artifact = cp.get_job_details(jobId=job)["jobDetails"]["data"]["artifactCredentials"]
    found |= {artifact["accessKeyId"], artifact["secretAccessKey"], artifact["sessionToken"]}
    return {"cloud": cloud, "secrets": found}


def test_function_logs_hold_no_secrets(secrets_in_play):
    """Every CloudWatch event of every function that ran in this test session's local cloud."""
    logs = secrets_in_play["cloud"].client("logs")
    text = []
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            for events in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group["logGroupName"]
            ):
                text += [event["message"] for event in events["events"]]
    assert text, "the runs above wrote logs"
    assert leaks("\n".join(text), secrets_in_play["secrets"]) == []


def test_local_cloud_logs_hold_no_secrets(secrets_in_play, local_cloud, tmp_path_factory):
    """The log of every local cloud this test session started (localcloud.log and others)."""
    logs = {Path(local_cloud.state_dir) / "localcloud.log"}
    logs |= set(tmp_path_factory.getbasetemp().rglob("*.log"))
    text = "\n".join(path.read_text(errors="replace") for path in sorted(logs) if path.is_file())
    assert "Local cloud ready" in text
    assert leaks(text, secrets_in_play["secrets"]) == []
