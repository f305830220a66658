"""Saved state is data: `state.sqlite3` loads only what the local cloud saves.

A Lambda function runs as the same user as the local cloud, so it can rewrite the store. A
pickle planted in it that names a command, an evaluator or a way around the allowlist is
refused when it is loaded: nothing runs, the store is set aside and the local cloud starts
empty, saying what was refused. A store saved by another moto or workbook is set aside too,
when it is opened. Everything the workbook creates still loads (the rich round trip).
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import sqlite3
import time

import pytest

from helpers.localcloud import persistence
from helpers.localcloud.persistence import allowlist, store
from helpers.localcloud.persistence.allowlist import RefusedState
from helpers.localcloud.persistence.pickling import Batch, Caches, Snapshotter

from .conftest import create_function, wait_for_execution, zip_bytes
from .test_persistence import Restartable, build_world, check_world

ACCOUNT = "123456789012"


# -- planted pickles, written opcode by opcode as an attacker would ------------------------
def text(value: str) -> bytes:
    data = value.encode()
    return pickle.BINUNICODE + len(data).to_bytes(4, "little") + data


def named(module: str, name: str) -> bytes:
    return text(module) + text(name) + pickle.STACK_GLOBAL


def call(function: bytes, *arguments: bytes) -> bytes:
    return function + pickle.MARK + b"".join(arguments) + pickle.TUPLE + pickle.REDUCE


def planted(body: bytes) -> bytes:
    return pickle.PROTO + bytes([4]) + body + pickle.STOP


def touching(marker) -> dict[str, bytes]:
    """Pickles that create ``marker`` when loaded by plain pickle, each another way."""
    command = f"touch {marker}"
    os_module = call(named("builtins", "__import__"), text("os"))
    return {
        "os.system": planted(call(named("os", "system"), text(command))),
        "posix.system": planted(call(named("posix", "system"), text(command))),
        "subprocess": planted(call(named("subprocess", "getoutput"), text(command))),
        "eval": planted(
            call(named("builtins", "eval"), text(f"__import__('os').system({command!r})"))
        ),
        "exec": planted(
            call(named("builtins", "exec"), text(f"import os; os.system({command!r})"))
        ),
        "getattr": planted(
            call(call(named("builtins", "getattr"), os_module, text("system")), text(command))
        ),
        # through an allowed module: moto.settings imports os, one of ours imports subprocess
        "dotted moto": planted(call(named("moto.settings", "os.system"), text(command))),
        "dotted own": planted(
            call(
                named("helpers.localcloud.awslambda.memory", "subprocess.getoutput"), text(command)
            )
        ),
    }


@pytest.mark.parametrize("way", list(touching("marker")))
def test_a_planted_command_is_refused_and_runs_nothing(tmp_path, way):
    marker = tmp_path / "marker"
    payload = touching(marker)[way]
    pickle.loads(payload)  # the payload is real: plain pickle runs it
    assert marker.exists()
    marker.unlink()

    with pytest.raises(RefusedState, match="names "):
        allowlist.loads(payload)

    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name", "why"),
    [
        ("moto.s3.models", "reload", "importlib.reload under another name"),  # moto's import
        ("helpers.localcloud.persistence", "Loader", "under another name"),
        ("moto.moto_proxy.certificate_creator", "Popen", "never saves from"),
        ("helpers.localcloud.awslambda.worker", "Worker", "no record"),  # spawns a process
        ("helpers.localcloud.__main__", "main", "never saves from"),
        ("moto.core.utils", "convert_to_flask_response", "can be called"),  # calls its state
        ("moto.s3.models", "__builtins__", "special attribute"),
        ("moto.s3.models", "FakeKey.__init__", "special attribute"),
        ("moto.settings", "os.getenv", "reached through"),
        ("moto.s3.models", "FakeBucket.get_permission", "isn't a class"),
        ("moto.s3.models", "get_canned_acl", "isn't a class"),  # a function of moto's
        ("builtins", "getattr", "isn't a class"),
        ("builtins", "type", "never saves"),
        ("builtins", "object", "never saves"),
        ("copyreg", "_reconstructor", "never saves from"),
        ("copyreg", "__newobj__", "never saves from"),
        ("functools", "partial", "never saves from"),
        ("codecs", "encode", "never saves from"),
        ("collections", "namedtuple", "isn't a class"),
        ("re", "compile", "isn't a class"),
    ],
)
def test_only_what_the_local_cloud_saves_can_be_named(module, name, why):
    with pytest.raises(RefusedState) as refused:
        allowlist.loads(planted(named(module, name)))
    assert why in str(refused.value)
    assert f"{module}.{name}" in str(refused.value)


def test_a_backend_reference_reaches_the_backends_kept_and_nothing_else():
    reference = named("helpers.localcloud.persistence.pickling", "_live_backend")
    arguments = (text("os"), text("environ"), text(ACCOUNT), text("us-east-1"))
    with pytest.raises(RefusedState, match="no backend the local cloud keeps"):
        persistence.Loader(lambda _: None, {}).loads(planted(call(reference, *arguments)))
    new = named("helpers.localcloud.persistence.pickling", "_new")
    with pytest.raises(pickle.UnpicklingError, match="is not a class"):
        allowlist.loads(planted(call(new, text("os"))))


def test_saving_writes_nothing_loading_would_refuse():
    with pytest.raises(pickle.PicklingError, match="names posix.system"):
        Snapshotter.dumps({"callback": os.system}, Batch(), Caches())
    with pytest.raises(pickle.PicklingError, match="names functools.partial"):
        Snapshotter.dumps([functools.partial(print)], Batch(), Caches())


def _logs_backend(*, events: bytes | None = None) -> dict[tuple[str, str], bytes]:
    """The rows of a logs backend with one stream (its events ``events`` if given); not moto's
    own backend, so nothing global changes."""
    from moto.logs.models import LogsBackend

    backend = LogsBackend("us-east-1", ACCOUNT)
    backend.create_log_group("group", {})
    backend.create_log_stream("group", "stream")
    now = int(time.time() * 1000)
    backend.put_log_events("group", "stream", [{"timestamp": now, "message": "kept"}])
    batch = Batch()
    rows = {("logs", f"{ACCOUNT}/us-east-1"): Snapshotter.dumps(backend, batch, Caches())}
    rows.update({key: events or row for key, row in batch.puts.items()})
    return rows


def test_what_the_local_cloud_writes_it_loads():
    rows = _logs_backend()
    events: dict = {}
    for (unit, name), row in rows.items():
        if unit == "logs-events":
            sid, first = name.split("/", 1)
            events.setdefault(sid, []).append((int(first), row))

    loaded = persistence.Loader(lambda _: None, events).loads(rows["logs", f"{ACCOUNT}/us-east-1"])

    stream = loaded.groups["group"].streams["stream"]
    assert [event.message for event in stream.events] == ["kept"]


# -- the store: set aside on a refusal, for every kind of unit ------------------------------
def _store_with(directory, rows: dict[tuple[str, str], bytes]) -> None:
    state = store.StateStore(directory)
    batch = Batch()
    batch.puts.update(rows)
    state.commit(batch)
    state.close()


@pytest.mark.parametrize("unit", ["s3", "logs-events", "codepipeline"])
def test_a_refused_unit_sets_the_store_aside_and_the_local_cloud_starts_empty(
    tmp_path, capsys, unit
):
    marker = tmp_path / "marker"
    rows = {
        "s3": {("s3", f"{ACCOUNT}/us-east-1"): touching(marker)["os.system"]},
        # loaded with the log stream whose events they are
        "logs-events": _logs_backend(events=touching(marker)["eval"]),
        "codepipeline": {("codepipeline", "us-east-1/pipelines"): touching(marker)["getattr"]},
    }[unit]
    _store_with(tmp_path, rows)

    kept = persistence.Persistence(tmp_path)
    try:
        assert kept.restore() == {}
        assert kept.store.units() == set()  # a new, empty store
    finally:
        kept.store.close()
        kept._lock_handle.close()

    assert not marker.exists()
    aside = list(tmp_path.glob("state.sqlite3.refused-*"))
    assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))], "kept to inspect"
    said = capsys.readouterr().err
    assert "was refused" in said and "starts empty" in said
    refused = {"s3": "os.system", "logs-events": "builtins.eval", "codepipeline": "getattr"}
    assert f"names {refused[unit]}" in said or f"names builtins.{refused[unit]}" in said


def test_refused_cloudformation_sets_a_copy_aside_and_starts_empty_alone(tmp_path, capsys):
    marker = tmp_path / "marker"
    _store_with(
        tmp_path,
        {
            ("cloudformation", f"{ACCOUNT}/us-east-1"): touching(marker)["dotted moto"],
            ("codepipeline", "us-east-1/pipelines"): pickle.dumps({"pipelines": {}}),
        },
    )
    kept = persistence.Persistence(tmp_path)
    try:
        kept.restore()  # CloudFormation waits for its first use
        kept.restore_lazy("cloudformation")
        assert kept.store.units() == {"codepipeline"}, "the rest stays"
    finally:
        kept.store.close()
        kept._lock_handle.close()

    assert not marker.exists()
    assert len(list(tmp_path.glob("state.sqlite3.refused-*"))) == 1
    said = capsys.readouterr().err
    assert "the saved cloudformation state" in said and "moto.settings.os.system" in said
    assert "cloudformation starts empty" in said


def test_a_store_that_isnt_a_database_is_set_aside(tmp_path, capsys):
    (tmp_path / store.FILE_NAME).write_bytes(b"not a database, whatever it is" * 100)

    kept = persistence.Persistence(tmp_path)
    try:
        assert kept.restore() == {}
    finally:
        kept.store.close()
        kept._lock_handle.close()

    assert list(tmp_path.glob("state.sqlite3.unreadable-*"))
    assert "could not be read" in capsys.readouterr().err


# -- versions ------------------------------------------------------------------------------
def test_the_store_records_what_saved_it(tmp_path):
    _store_with(tmp_path, {})
    with sqlite3.connect(tmp_path / store.FILE_NAME) as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
    assert meta == store.current_versions()
    assert meta["moto"] == __import__("moto").__version__
    assert meta["workbook"] not in ("", "unknown")


@pytest.mark.parametrize(
    ("key", "saved", "said"),
    [
        ("moto", "5.0.1", "was saved by moto 5.0.1, this is moto {moto}"),
        ("workbook", "0.0.9", "was saved by the workbook 0.0.9, this is the workbook {workbook}"),
        ("schema", "0", "was saved by store format 0, this is store format {schema}"),
    ],
)
def test_a_store_saved_by_other_versions_is_set_aside_when_opened(
    tmp_path, capsys, key, saved, said
):
    _store_with(tmp_path, {("s3", f"{ACCOUNT}/us-east-1"): b"never loaded"})
    with sqlite3.connect(tmp_path / store.FILE_NAME) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (saved, key))

    kept = persistence.Persistence(tmp_path)
    try:
        assert kept.store.units() == set()
        assert kept.restore() == {}
    finally:
        kept.store.close()
        kept._lock_handle.close()

    assert list(tmp_path.glob("state.sqlite3.outdated-*"))
    message = capsys.readouterr().err
    assert said.format(**store.current_versions()) in message
    assert "set aside at" in message and "starts empty" in message


def test_a_store_from_before_versions_were_recorded_is_adopted(tmp_path, capsys):
    _store_with(tmp_path, _logs_backend())
    with sqlite3.connect(tmp_path / store.FILE_NAME) as db:
        db.execute("DROP TABLE meta")

    kept = persistence.Persistence(tmp_path)
    try:
        assert kept.store.units() == {"logs", "logs-events"}
        assert kept.store.saved_versions is None
    finally:
        kept.store.close()
        kept._lock_handle.close()
    with sqlite3.connect(tmp_path / store.FILE_NAME) as db:
        assert dict(db.execute("SELECT key, value FROM meta")) == store.current_versions()
    assert not list(tmp_path.glob("state.sqlite3.*-*"))
    assert "saved before versions were recorded: adopted" in capsys.readouterr().err


# -- a real local cloud --------------------------------------------------------------------
@pytest.fixture
def restartable(tmp_path):
    cloud = Restartable(tmp_path)
    yield cloud
    if cloud.process is not None and cloud.process.poll() is None:
        cloud.process.kill()
        cloud.process.wait(20)


def test_a_planted_store_runs_nothing_and_the_local_cloud_starts_empty_and_answers(restartable):
    cloud = restartable.start()
    cloud.client("s3").create_bucket(Bucket="before-the-plant")
    restartable.stop()
    directory = restartable.state_dir
    marker = directory / "planted"
    with sqlite3.connect(directory / store.FILE_NAME) as db:
        db.execute("UPDATE items SET data = ? WHERE unit = 's3'", (touching(marker)["dotted own"],))

    cloud = restartable.start()

    assert not marker.exists()
    s3 = cloud.client("s3")
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket="after-the-plant")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["after-the-plant"]
    assert list(directory.glob("state.sqlite3.refused-*")), "set aside, to inspect"
    log = (directory / "localcloud.log").read_text()
    assert (
        "was refused: its s3 state names "
        "helpers.localcloud.awslambda.memory.subprocess.getoutput, reached through something "
        "not a class" in log
    )
    assert "the local cloud starts empty" in log


MORE_FUNCTION = """
def handler(event, context):
    return {"more": True}
"""
FAILS = """
def handler(event, context):
    raise RuntimeError("this job fails")
"""


def build_more(cloud) -> dict:
    """What build_world leaves out that the workbook does: policy versions, a public access
    block, a function's configuration, permission and alias, a failed execution and a
    pipeline's second version, a Logs Insights query; and a few more kinds of state."""
    aws = cloud.client
    s3, iam, lam, logs, cp = (aws(s) for s in ("s3", "iam", "lambda", "logs", "codepipeline"))
    more: dict = {}
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    policy = iam.create_policy(PolicyName="more-policy", PolicyDocument=json.dumps(document))
    more["policy"] = policy["Policy"]["Arn"]
    document["Statement"][0]["Action"] = "s3:*"
    iam.create_policy_version(
        PolicyArn=more["policy"], PolicyDocument=json.dumps(document), SetAsDefault=True
    )
    iam.create_group(GroupName="more-group")
    iam.add_user_to_group(GroupName="more-group", UserName="kept-user")
    iam.put_user_policy(
        UserName="kept-user", PolicyName="inline", PolicyDocument=json.dumps(document)
    )
    iam.create_instance_profile(InstanceProfileName="more-profile")
    iam.add_role_to_instance_profile(
        InstanceProfileName="more-profile", RoleName="test-lambda-role"
    )
    iam.tag_role(RoleName="test-lambda-role", Tags=[{"Key": "course", "Value": "workbook"}])

    s3.create_bucket(Bucket="more-bucket")
    block = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    s3.put_public_access_block(Bucket="more-bucket", PublicAccessBlockConfiguration=block)
    more["block"] = block
    s3.put_bucket_cors(
        Bucket="more-bucket",
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="more-bucket",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "old",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 3},
                }
            ]
        },
    )
    s3.put_object(Bucket="more-bucket", Key="tagged.txt", Body=b"t", Tagging="colour=blue")
    s3.copy_object(Bucket="more-bucket", Key="copy.txt", CopySource="more-bucket/tagged.txt")
    s3.delete_object(Bucket="kept-bucket", Key="small.txt")  # versioned: a delete marker
    s3.put_object(Bucket="kept-bucket", Key="small.txt", Body=b"small")
    upload = s3.create_multipart_upload(Bucket="more-bucket", Key="parts.bin")["UploadId"]
    more["part"] = os.urandom(5 * 1024 * 1024)
    etag = s3.upload_part(
        Bucket="more-bucket", Key="parts.bin", UploadId=upload, PartNumber=1, Body=more["part"]
    )["ETag"]
    more["upload"] = (upload, etag)

    create_function(
        aws,
        FunctionName="more-fn",
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": MORE_FUNCTION})},
    )
    lam.update_function_configuration(FunctionName="more-fn", MemorySize=256, Timeout=7)
    lam.get_waiter("function_updated_v2").wait(
        FunctionName="more-fn", WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )
    version = lam.publish_version(FunctionName="more-fn")["Version"]
    lam.create_alias(FunctionName="more-fn", Name="live", FunctionVersion=version)
    lam.add_permission(
        FunctionName="more-fn",
        StatementId="pipeline",
        Action="lambda:InvokeFunction",
        Principal="codepipeline.amazonaws.com",
    )
    more["permission"] = lam.get_policy(FunctionName="more-fn")["Policy"]

    logs.put_retention_policy(logGroupName="kept-group", retentionInDays=7)
    logs.put_metric_filter(
        logGroupName="kept-group",
        filterName="lines",
        filterPattern="line",
        metricTransformations=[
            {"metricName": "Lines", "metricNamespace": "Workbook", "metricValue": "1"}
        ],
    )
    more["query"] = logs.start_query(
        logGroupName="kept-group",
        startTime=int(time.time()) - 3600,
        endTime=int(time.time()) + 60,
        queryString="fields @message",
    )["queryId"]

    create_function(
        aws,
        FunctionName="more-job",
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": FAILS})},
    )
    declaration = cp.get_pipeline(name="kept-pipeline")["pipeline"]
    declaration = {**declaration, "name": "more-pipeline"}
    declaration.pop("version", None)
    declaration["stages"][1]["actions"][0]["configuration"]["FunctionName"] = "more-job"
    cp.create_pipeline(pipeline=declaration)
    first = cp.list_pipeline_executions(pipelineName="more-pipeline")["pipelineExecutionSummaries"][
        0
    ]["pipelineExecutionId"]
    assert wait_for_execution(cp, "more-pipeline", first)["status"] == "Failed"
    more["failed"] = first
    declaration = cp.get_pipeline(name="more-pipeline")["pipeline"]
    declaration["stages"][1]["actions"][0]["runOrder"] = 2
    more["pipeline"] = cp.update_pipeline(pipeline=declaration)["pipeline"]
    time.sleep(0.5)  # the flusher writes what changed without a request
    return more


def check_more(cloud, more: dict) -> None:
    aws = cloud.client
    s3, iam, lam, logs, cp = (aws(s) for s in ("s3", "iam", "lambda", "logs", "codepipeline"))
    assert iam.get_policy(PolicyArn=more["policy"])["Policy"]["DefaultVersionId"] == "v2"
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="kept-user")["Groups"]] == [
        "more-group"
    ]
    assert iam.list_user_policies(UserName="kept-user")["PolicyNames"] == ["inline"]
    profile = iam.get_instance_profile(InstanceProfileName="more-profile")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["test-lambda-role"]
    assert iam.list_role_tags(RoleName="test-lambda-role")["Tags"] == [
        {"Key": "course", "Value": "workbook"}
    ]

    block = s3.get_public_access_block(Bucket="more-bucket")["PublicAccessBlockConfiguration"]
    assert block == more["block"]
    assert s3.get_bucket_cors(Bucket="more-bucket")["CORSRules"][0]["AllowedMethods"] == ["GET"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket="more-bucket")["Rules"]
    assert [r["ID"] for r in rules] == ["old"]
    assert s3.get_object_tagging(Bucket="more-bucket", Key="tagged.txt")["TagSet"] == [
        {"Key": "colour", "Value": "blue"}
    ]
    assert s3.get_object(Bucket="more-bucket", Key="copy.txt")["Body"].read() == b"t"
    markers = s3.list_object_versions(Bucket="kept-bucket", Prefix="small.txt")["DeleteMarkers"]
    assert len(markers) == 1
    upload, etag = more["upload"]  # an upload begun before the restart completes after it
    s3.complete_multipart_upload(
        Bucket="more-bucket",
        Key="parts.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.get_object(Bucket="more-bucket", Key="parts.bin")["Body"].read() == more["part"]

    config = lam.get_function_configuration(FunctionName="more-fn", Qualifier="live")
    assert (config["MemorySize"], config["Timeout"]) == (256, 7)
    assert json.load(lam.invoke(FunctionName="more-fn", Qualifier="live")["Payload"]) == {
        "more": True
    }
    assert lam.get_policy(FunctionName="more-fn")["Policy"] == more["permission"]

    group = logs.describe_log_groups(logGroupNamePrefix="kept-group")["logGroups"][0]
    assert group["retentionInDays"] == 7
    filters = logs.describe_metric_filters(logGroupName="kept-group")["metricFilters"]
    assert [f["filterName"] for f in filters] == ["lines"]
    assert logs.get_query_results(queryId=more["query"])["status"] == "Complete"  # still known

    assert cp.get_pipeline(name="more-pipeline")["pipeline"] == more["pipeline"]
    failed = cp.get_pipeline_execution(
        pipelineName="more-pipeline", pipelineExecutionId=more["failed"]
    )["pipelineExecution"]
    assert failed["status"] == "Failed"


def test_everything_the_workbook_creates_loads_back_through_the_allowlist(restartable):
    cloud = restartable.start()
    world = build_world(cloud)
    more = build_more(cloud)
    restartable.stop()

    cloud = restartable.start()

    check_world(cloud, world, stacks=True)
    check_more(cloud, more)
    cp = cloud.client("codepipeline")  # still usable: a release runs from the kept state
    again = cp.start_pipeline_execution(name="kept-pipeline")["pipelineExecutionId"]
    assert wait_for_execution(cp, "kept-pipeline", again)["status"] == "Succeeded"
    log = (restartable.state_dir / "localcloud.log").read_text()
    assert "refused" not in log and "could not" not in log, log
    assert not list(restartable.state_dir.glob("state.sqlite3.*-*"))
