"""Small differences from AWS that sent learners the wrong way, each answered as AWS answers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import localcloud

from . import pipeline_kit as kit
from .conftest import unique


def test_list_functions_pages_with_max_items_and_next_marker(aws, roles):
    names = {
        kit.python_function(aws, roles, "def handler(e, c):\n    return 1\n") for _ in range(3)
    }
    lam = aws("lambda")
    seen, marker, pages = [], None, 0
    while True:
        page = lam.list_functions(MaxItems=2, **({"Marker": marker} if marker else {}))
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        pages += 1
        marker = page.get("NextMarker")
        if not marker:
            break
    assert names <= set(seen) and len(seen) == len(set(seen)) and pages >= 2
    every = [
        f["FunctionName"]
        for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
        for f in page["Functions"]
    ]
    assert every == seen


def test_a_made_up_marker_is_refused(aws):
    lam = aws("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.list_functions(Marker="not-a-marker")


def test_retention_takes_only_the_periods_cloudwatch_offers(aws):
    logs = aws("logs")
    group = unique("/test/retention")
    logs.create_log_group(logGroupName=group)
    with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
        logs.put_retention_policy(logGroupName=group, retentionInDays=8)
    assert "enum value set: [1, 3, 5, 7, 14" in caught.value.response["Error"]["Message"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found["retentionInDays"] == 7


def test_a_missing_stream_is_named_as_the_stream(aws):
    logs = aws("logs")
    group = unique("/test/streams")
    logs.create_log_group(logGroupName=group)
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as caught:
        logs.get_log_events(logGroupName=group, logStreamName="nope")
    assert caught.value.response["Error"]["Message"] == "The specified log stream does not exist."


def test_a_source_bucket_that_does_not_exist_fails_in_s3s_words(aws, roles):
    world = kit.source_world(aws, roles)
    deploy = kit.pipelines.s3_deploy_action("Deploy", world["records"], "SourceArtifact")
    pipeline = kit.declaration(world, {"name": "Deploy", "actions": [deploy]})
    missing = unique("missing")
    pipeline["stages"][0]["actions"][0]["configuration"]["S3Bucket"] = missing
    name = kit.create(aws, pipeline)
    (execution,) = kit.finish_all(aws, name)
    source = kit.actions(aws, name, execution["pipelineExecutionId"])["Source"]
    message = source["output"]["executionResult"]["externalExecutionSummary"]
    assert message == f"The bucket named {missing} does not exist."


def test_env_finds_a_local_cloud_started_in_the_foreground(tmp_path):
    env = {**os.environ, "LOCALCLOUD_STATE_DIR": str(tmp_path)}
    port = localcloud.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "helpers.localcloud", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        kit.wait_for(lambda: localcloud.is_healthy(f"http://127.0.0.1:{port}"), timeout=60)
        for extra in ([], ["--port", str(port)]):
            printed = subprocess.run(
                [sys.executable, "-m", "helpers.localcloud", "--env", *extra],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
            assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in printed
    finally:
        server.terminate()
        server.wait(30)
    assert not (tmp_path / "endpoint.json").exists(), "an exiting local cloud forgets itself"


def test_code_location_downloads_the_package_and_only_as_signed(aws, roles):
    import base64
    import hashlib
    import urllib.error
    import urllib.request

    name = kit.python_function(aws, roles, "def handler(e, c):\n    return 'packaged'\n")
    got = aws("lambda").get_function(FunctionName=name)
    location = got["Code"]["Location"]
    assert location.startswith(aws("lambda").meta.endpoint_url)
    with urllib.request.urlopen(location, timeout=10) as reply:  # as a browser or curl would
        package = reply.read()
    digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert digest == got["Configuration"]["CodeSha256"]
    for altered in (
        location.replace("Signature=", "Signature=0"),
        location.replace("Expires=", "Expires=1"),
        location.split("?")[0],
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(altered, timeout=10)
        assert refused.value.code == 403


def test_create_function_with_tags(aws, roles):
    """The model's tag patterns are Java regular expressions (\\p{L}…): read, not a 500."""
    name = unique("tagged")
    from .conftest import create_function

    create_function(
        aws,
        FunctionName=name,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": kit.zip_bytes({"app.py": "def handler(e, c):\n    return 1\n"})},
        Tags={"team": "workbook é", "stage": "test"},
    )
    assert aws("lambda").get_function(FunctionName=name)["Tags"]["stage"] == "test"
