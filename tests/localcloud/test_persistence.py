"""Nothing is lost across a restart: the local cloud keeps its state in its state directory.

Buckets and objects, IAM users, keys, roles and policies, functions and their code, pipelines
and their execution history, log groups and events, stacks: a restart — `make stop` (SIGTERM),
a crash (SIGKILL) — brings them back. An answered request is on disk before its answer leaves,
so a crash mid-write loses at most the requests in flight; an execution running at a crash
ends Failed, saying why; a kernel connected across a restart reconnects on its next call.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from helpers import localcloud, packaging, pipelines, resources, workbook
from helpers.localcloud.codepipeline.scheduler import INTERRUPTED_MESSAGE

from ..conftest import JOB_TIMEOUT_S, Started
from .conftest import Cloud, create_function, log_messages, wait_for_execution, zip_bytes
from .pipeline_kit import wait_for

MARKER = "kept-across-restarts"
FUNCTION = f"""
import os

def handler(event, context):
    print("invoked", event)
    return {{"marker": "{MARKER}", "colour": os.environ["COLOUR"]}}
"""
REPORTS_SUCCESS = """
import boto3

def handler(event, context):
    job = event["CodePipeline.job"]
    boto3.client("codepipeline").put_job_success_result(
        jobId=job["id"], outputVariables={"kept": "yes"}
    )
"""
NEVER_REPORTS = """
import os, time

def handler(event, context):
    print("pid", os.getpid(), flush=True)
    time.sleep(120)
"""
TEMPLATE = Path(__file__).parents[2] / "data/cloudformation/template-package/template.json"


class Restartable:
    """A local cloud on a state directory of its own, started again and again on it."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.process: subprocess.Popen | None = None
        self.roles: dict | None = None

    def start(self) -> Cloud:
        self.process, endpoint = localcloud.start(
            job_timeout_s=JOB_TIMEOUT_S,
            state=self.state_dir,
            log_path=str(self.state_dir / "localcloud.log"),
        )
        cloud = Cloud(
            Started(endpoint, str(self.state_dir), localcloud.owner_credentials(self.state_dir))
        )
        if self.roles is None:
            self.roles = cloud.roles  # created once: the restarts keep them
        cloud._roles = self.roles
        return cloud

    def stop(self) -> None:
        """As `make stop` does: SIGTERM, and wait."""
        self.process.terminate()
        assert self.process.wait(20) == 0

    def crash(self) -> None:
        self.process.kill()
        self.process.wait(20)


@pytest.fixture
def restartable(tmp_path):
    cloud = Restartable(tmp_path)
    yield cloud
    if cloud.process is not None and cloud.process.poll() is None:
        cloud.process.kill()
        cloud.process.wait(20)


def build_world(cloud: Cloud) -> dict:
    """One of everything the workbook creates, and what each should read back as."""
    aws = cloud.client
    s3, iam, lam, logs, cp = (aws(s) for s in ("s3", "iam", "lambda", "logs", "codepipeline"))
    world: dict = {"bucket": "kept-bucket", "site": "kept-site"}
    s3.create_bucket(Bucket=world["bucket"])
    s3.put_bucket_versioning(Bucket=world["bucket"], VersioningConfiguration={"Status": "Enabled"})
    world["old"], world["new"] = os.urandom(20_000), os.urandom(30_000)  # stored as blobs
    world["old_version"] = s3.put_object(Bucket="kept-bucket", Key="big.bin", Body=world["old"])[
        "VersionId"
    ]
    s3.put_object(Bucket=world["bucket"], Key="big.bin", Body=world["new"])
    s3.put_object(Bucket=world["bucket"], Key="small.txt", Body=b"small")
    s3.put_bucket_tagging(
        Bucket=world["bucket"], Tagging={"TagSet": [{"Key": "course", "Value": "workbook"}]}
    )
    s3.create_bucket(Bucket=world["site"])
    s3.put_object(Bucket=world["site"], Key="index.html", Body=b"<h1>Congratulations</h1>")
    resources.open_to_public_reads(s3, world["site"])

    iam.create_user(UserName="kept-user")
    key = iam.create_access_key(UserName="kept-user")["AccessKey"]
    world["user_key"] = (key["AccessKeyId"], key["SecretAccessKey"])
    policy = iam.create_policy(
        PolicyName="kept-policy",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="kept-user", PolicyArn=policy)
    world["policy"] = policy
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    iam.attach_role_policy(RoleName="test-lambda-role", PolicyArn=basic)
    world["aws_policy"] = basic

    create_function(
        aws,
        FunctionName="kept-fn",
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": FUNCTION, "padding.txt": os.urandom(8000)})},
        Environment={"Variables": {"COLOUR": "green"}},
    )
    lam.publish_version(FunctionName="kept-fn")
    assert json.load(lam.invoke(FunctionName="kept-fn", Payload=b'{"n": 1}')["Payload"]) == {
        "marker": MARKER,
        "colour": "green",
    }
    logs.create_log_group(logGroupName="kept-group")
    logs.create_log_stream(logGroupName="kept-group", logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="kept-group",
        logStreamName="s",
        logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(3)],
    )

    create_function(
        aws,
        FunctionName="kept-job",
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": REPORTS_SUCCESS})},
    )
    s3.create_bucket(Bucket="kept-source")
    s3.put_bucket_versioning(Bucket="kept-source", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="kept-source", Key="site.zip", Body=packaging.zip_files({"a": "b"}))
    s3.create_bucket(Bucket="kept-store")
    declaration = {
        "name": "kept-pipeline",
        "roleArn": cloud.roles["pipeline"],
        "artifactStore": {"type": "S3", "location": "kept-store"},
        "pipelineType": "V2",
        "stages": [
            {
                "name": "Source",
                "actions": [pipelines.s3_source_action("Source", "kept-source", "site.zip", "A")],
            },
            {"name": "Check", "actions": [pipelines.lambda_action("Job", "kept-job")]},
        ],
    }
    cp.create_pipeline(pipeline=declaration, tags=[{"key": "course", "value": "workbook"}])
    first = cp.list_pipeline_executions(pipelineName="kept-pipeline")["pipelineExecutionSummaries"][
        0
    ]["pipelineExecutionId"]
    assert wait_for_execution(cp, "kept-pipeline", first)["status"] == "Succeeded"
    world["pipeline"] = cp.get_pipeline(name="kept-pipeline")["pipeline"]
    world["execution"] = first

    aws("cloudformation").create_stack(StackName="kept-stack", TemplateBody=TEMPLATE.read_text())
    world["stack_status"] = aws("cloudformation").describe_stacks(StackName="kept-stack")["Stacks"][
        0
    ]["StackStatus"]
    time.sleep(0.5)  # the flusher writes log events within a fraction of a second
    world["function_logs"] = log_messages(aws, "kept-fn")
    return world


def check_world(cloud: Cloud, world: dict, stacks: bool = False) -> None:
    aws = cloud.client
    s3, iam, lam, logs, cp = (aws(s) for s in ("s3", "iam", "lambda", "logs", "codepipeline"))
    assert s3.get_object(Bucket="kept-bucket", Key="big.bin")["Body"].read() == world["new"]
    old = s3.get_object(Bucket="kept-bucket", Key="big.bin", VersionId=world["old_version"])
    assert old["Body"].read() == world["old"]
    assert s3.get_object(Bucket="kept-bucket", Key="small.txt")["Body"].read() == b"small"
    assert s3.get_bucket_versioning(Bucket="kept-bucket")["Status"] == "Enabled"
    assert s3.get_bucket_tagging(Bucket="kept-bucket")["TagSet"] == [
        {"Key": "course", "Value": "workbook"}
    ]
    with urllib.request.urlopen(f"{cloud.endpoint}/kept-site/index.html") as page:  # unsigned
        assert b"Congratulations" in page.read()

    key_id, secret = world["user_key"]
    as_user = boto3.client(
        "sts",
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
    assert as_user.get_caller_identity()["Arn"].endswith(":user/kept-user")
    attached = iam.list_attached_user_policies(UserName="kept-user")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [world["policy"]]
    assert iam.get_policy(PolicyArn=world["aws_policy"])["Policy"]["AttachmentCount"] >= 1
    assert "page-policy" in iam.list_role_policies(RoleName="test-lambda-role")["PolicyNames"]

    config = lam.get_function_configuration(FunctionName="kept-fn")
    assert config["State"] == "Active" and config["LastUpdateStatus"] == "Successful"
    assert config["Environment"]["Variables"] == {"COLOUR": "green"}
    versions = lam.list_versions_by_function(FunctionName="kept-fn")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    answer = lam.invoke(FunctionName="kept-fn", Payload=b'{"n": 2}', Qualifier="1")
    assert json.load(answer["Payload"]) == {"marker": MARKER, "colour": "green"}

    events = logs.get_log_events(logGroupName="kept-group", logStreamName="s")["events"]
    assert [e["message"] for e in events] == ["line 0", "line 1", "line 2"]
    kept_logs = log_messages(aws, "kept-fn")
    assert kept_logs[: len(world["function_logs"])] == world["function_logs"]
    assert any(line.startswith("REPORT RequestId") for line in kept_logs[0])

    assert cp.get_pipeline(name="kept-pipeline")["pipeline"] == world["pipeline"]
    arn = cp.get_pipeline(name="kept-pipeline")["metadata"]["pipelineArn"]
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "course", "value": "workbook"}
    ]
    execution = cp.get_pipeline_execution(
        pipelineName="kept-pipeline", pipelineExecutionId=world["execution"]
    )["pipelineExecution"]
    assert execution["status"] == "Succeeded"
    rows = cp.list_action_executions(
        pipelineName="kept-pipeline", filter={"pipelineExecutionId": world["execution"]}
    )["actionExecutionDetails"]
    job = next(r for r in rows if r["actionName"] == "Job")
    assert job["status"] == "Succeeded"
    assert job["output"]["outputVariables"] == {"kept": "yes"}

    if stacks:  # once: each start loads moto's CloudFormation anew, seconds on a busy machine
        stack = aws("cloudformation").describe_stacks(StackName="kept-stack")["Stacks"][0]
        assert stack["StackStatus"] == world["stack_status"]


def test_make_stop_and_a_crash_lose_nothing_created_before_them(restartable):
    cloud = restartable.start()
    world = build_world(cloud)

    restartable.stop()  # make stop
    cloud = restartable.start()
    check_world(cloud, world)

    cp = cloud.client("codepipeline")  # a release after the restart runs, as a new execution
    again = cp.start_pipeline_execution(name="kept-pipeline")["pipelineExecutionId"]
    assert again != world["execution"]
    assert wait_for_execution(cp, "kept-pipeline", again)["status"] == "Succeeded"
    time.sleep(0.1)  # an ended execution is written when it ends, within milliseconds
    cloud.client("s3").put_object(Bucket="kept-bucket", Key="after.txt", Body=b"after")

    restartable.crash()  # SIGKILL, at once after the last answer
    cloud = restartable.start()
    check_world(cloud, world, stacks=True)
    assert cloud.client("s3").get_object(Bucket="kept-bucket", Key="after.txt")["Body"].read() == (
        b"after"
    )
    history = cloud.client("codepipeline").list_pipeline_executions(pipelineName="kept-pipeline")
    assert [e["status"] for e in history["pipelineExecutionSummaries"]] == ["Succeeded"] * 2


def test_a_crash_mid_write_loses_at_most_the_requests_in_flight(restartable):
    cloud = restartable.start()
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="busy-bucket")
    answered: list[str] = []
    stop = threading.Event()

    def write() -> None:
        index = 0
        while not stop.is_set():
            key = f"k{index:05d}"
            try:
                s3.put_object(Bucket="busy-bucket", Key=key, Body=os.urandom(5000 + index))
            except Exception:  # the crash: this request was in flight
                return
            answered.append(key)
            index += 1

    writers = [threading.Thread(target=write)]
    writers[0].start()
    wait_for(lambda: len(answered) >= 30, timeout=30)
    restartable.crash()
    stop.set()
    writers[0].join(30)

    cloud = restartable.start()
    kept = {
        o["Key"]
        for page in cloud.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket="busy-bucket")
        for o in page.get("Contents", [])
    }
    assert set(answered) <= kept, f"lost answered writes: {sorted(set(answered) - kept)[:5]}"
    assert len(kept) - len(answered) <= 1, "at most the request in flight is extra"


def test_an_execution_running_at_a_crash_ends_failed_saying_why(restartable):
    cloud = restartable.start()
    aws = cloud.client
    create_function(
        aws,
        FunctionName="slow-job",
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": NEVER_REPORTS})},
        Timeout=300,
    )
    aws("s3").create_bucket(Bucket="slow-source")
    aws("s3").put_bucket_versioning(
        Bucket="slow-source", VersioningConfiguration={"Status": "Enabled"}
    )
    aws("s3").put_object(Bucket="slow-source", Key="site.zip", Body=packaging.zip_files({"a": "b"}))
    aws("s3").create_bucket(Bucket="slow-store")
    cp = aws("codepipeline")
    cp.create_pipeline(
        pipeline={
            "name": "slow-pipeline",
            "roleArn": cloud.roles["pipeline"],
            "artifactStore": {"type": "S3", "location": "slow-store"},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        pipelines.s3_source_action("Source", "slow-source", "site.zip", "A")
                    ],
                },
                {"name": "Check", "actions": [pipelines.lambda_action("Job", "slow-job")]},
            ],
        }
    )
    execution_id = cp.list_pipeline_executions(pipelineName="slow-pipeline")[
        "pipelineExecutionSummaries"
    ][0]["pipelineExecutionId"]
    pid_line = wait_for(
        lambda: next(
            (
                line
                for stream in _messages(aws, "slow-job")
                for line in stream
                if line.startswith("pid")
            ),
            None,
        ),
        timeout=30,
    )

    # Running executions are flushed every 0.2 s (README: a crash may lose the last fraction
    # of a second of progress): crash once the running action has had time to be written.
    time.sleep(1.0)
    restartable.crash()  # the environment, mid-invocation, outlives it...
    cloud = restartable.start()
    worker = int(pid_line.split()[1])
    assert wait_for(lambda: _gone(worker), timeout=10), "...until the next start ends it"
    cp = cloud.client("codepipeline")

    execution = cp.get_pipeline_execution(
        pipelineName="slow-pipeline", pipelineExecutionId=execution_id
    )["pipelineExecution"]
    assert execution["status"] == "Failed"
    assert execution["statusSummary"] == INTERRUPTED_MESSAGE
    job = next(
        r
        for r in cp.list_action_executions(
            pipelineName="slow-pipeline", filter={"pipelineExecutionId": execution_id}
        )["actionExecutionDetails"]
        if r["actionName"] == "Job"
    )
    assert job["status"] == "Failed"
    assert job["output"]["executionResult"]["externalExecutionSummary"] == INTERRUPTED_MESSAGE

    # as the message says: fix the function, retry the failed stage
    cloud.client("lambda").update_function_code(
        FunctionName="slow-job", ZipFile=zip_bytes({"app.py": REPORTS_SUCCESS})
    )
    cloud.client("lambda").get_waiter("function_updated_v2").wait(
        FunctionName="slow-job", WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )
    cp.retry_stage_execution(
        pipelineName="slow-pipeline",
        stageName="Check",
        pipelineExecutionId=execution_id,
        retryMode="FAILED_ACTIONS",
    )
    assert wait_for_execution(cp, "slow-pipeline", execution_id)["status"] == "Succeeded"


def _messages(aws, function: str) -> list[list[str]]:
    try:
        return log_messages(aws, function)
    except aws("logs").exceptions.ResourceNotFoundException:
        return []


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_kernel_connected_across_a_restart_reconnects_on_its_next_call(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("LOCALCLOUD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LOCALCLOUD_PORT", str(localcloud.free_port()))
    monkeypatch.setenv("WORKBOOK_TARGET", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")  # connect() sets them: restored afterwards
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(workbook, "_current", None)
    try:
        book = workbook.connect(quiet=True)
        s3 = book.client("s3")  # held, as a notebook holds its clients
        s3.create_bucket(Bucket="kept-across-the-restart")
        assert localcloud.stop()

        monkeypatch.setenv("LOCALCLOUD_PORT", str(localcloud.free_port()))  # 4566 was taken
        restarted = localcloud.ensure_running()  # make lab, again
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]

        assert "kept-across-the-restart" in names
        assert capsys.readouterr().out == (
            f"The local cloud restarted; reconnected to {restarted}\n"
        )
        s3.list_buckets()
        assert capsys.readouterr().out == "", "said once"
        assert os.environ["AWS_ENDPOINT_URL"] == restarted
    finally:
        localcloud.stop()


def test_make_stop_says_the_state_is_kept(tmp_path):
    env = {**os.environ, "LOCALCLOUD_STATE_DIR": str(tmp_path)}
    said = subprocess.run(
        [sys.executable, "-m", "helpers.localcloud", "--stop"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert said == (
        f"No local cloud was running; its state is kept in {tmp_path} (make clean wipes it).\n"
    )


def test_the_state_is_private_and_served_by_one_local_cloud_at_a_time(restartable):
    restartable.start()
    directory = restartable.state_dir
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.glob("state.sqlite3*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    with pytest.raises(RuntimeError, match="exited at start-up"):
        localcloud.start(state=directory, log_path=str(directory / "second.log"))
    assert (
        "Another local cloud is using the state directory" in (directory / "second.log").read_text()
    )


def test_a_store_that_cant_be_read_is_set_aside_and_the_local_cloud_starts_empty(restartable):
    cloud = restartable.start()
    cloud.client("s3").create_bucket(Bucket="before-the-damage")
    restartable.stop()
    store = restartable.state_dir / "state.sqlite3"
    with sqlite3.connect(store) as db:  # what a moto upgrade that changed its models could do
        db.execute("UPDATE items SET data = x'8005950100' WHERE unit = 's3'")

    cloud = restartable.start()

    assert cloud.client("s3").list_buckets()["Buckets"] == []
    aside = list(restartable.state_dir.glob("state.sqlite3.unreadable-*"))
    assert aside, "the unreadable store is kept, not deleted"
    log = (restartable.state_dir / "localcloud.log").read_text()
    assert "could not be read" in log and "starts empty" in log
