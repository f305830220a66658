"""tools/sweep_workshop.py: after a workshop, every participant's resources go, and only theirs.

Tested offline against a local cloud (the sweep reaches it through AWS_ENDPOINT_URL, as it
reaches AWS through the standard credential chain).
"""

from __future__ import annotations

import io

import boto3
import pytest

from helpers import cleanup, pipelines, resources, workbook
from tools import sweep_workshop

ACCOUNT, REGION = "123456789012", "us-east-1"


def test_participants_are_found_by_the_shapes_of_the_workbooks_names():
    names = [
        "ws-ada-MyLambdaTestPipeline",
        "ws-bob-source-123456789012-us-east-1",
        "/aws/lambda/ws-cy-StackDeployer",
        "ws-dee-CodePipelineLambdaExecPolicy",
        "ws-notes",  # not a workbook name
        "ws-eve-source-999999999999-us-east-1",  # another account's bucket name
        "other-MyLambdaTestPipeline",  # not the workshop's
    ]
    found = sweep_workshop.participants_from_names(names, "ws-", ACCOUNT, REGION)
    assert found == {"ws-ada", "ws-bob", "ws-cy", "ws-dee"}


def test_a_prefix_too_short_to_be_a_workshops_is_refused():
    with pytest.raises(ValueError, match="--prefix"):
        sweep_workshop.sweep("w", delete=False)


def book_for(local_cloud, prefix: str) -> workbook.Workbook:
    session = boto3.Session(
        aws_access_key_id=local_cloud.owner.access_key_id,
        aws_secret_access_key=local_cloud.owner.secret_access_key,
        region_name=REGION,
    )
    book = workbook.Workbook(session, ACCOUNT, "local")
    book.names = workbook.Names(prefix, ACCOUNT, REGION)
    return book


def test_the_sweep_lists_then_deletes_every_participants_resources_and_nothing_else(
    local_cloud, owner_env, monkeypatch
):
    for key, value in owner_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    ada, bob = book_for(local_cloud, "swp-ada"), book_for(local_cloud, "swp-bob")
    bystander = book_for(local_cloud, "other")
    resources.catch_up(ada, "07")  # everything up to the stack stage; a release makes the stack
    # A new local cloud's first CloudFormation request loads that backend, which takes seconds:
    # longer than these tests' 4 s job time-out, were the stack deployer to make it.
    ada.client("cloudformation").list_stacks()
    codepipeline = ada.client("codepipeline")
    released = pipelines.release_and_wait(codepipeline, ada.names.pipeline)
    runs = pipelines.action_executions(
        codepipeline, ada.names.pipeline, released["pipelineExecutionId"]
    )
    assert released["status"] == "Succeeded", "\n".join(pipelines.action_summary(r) for r in runs)
    resources.catch_up(bob, "03")  # left half-way
    resources.catch_up(bystander, "03")
    before = {name: cleanup.remaining(book) for name, book in (("ada", ada), ("bob", bob))}
    assert any(label.startswith("stack ") for label in before["ada"])

    listed = io.StringIO()
    found = sweep_workshop.sweep("swp-", delete=False, out=listed)
    assert set(found) == {"swp-ada", "swp-bob"}
    assert "Nothing deleted" in listed.getvalue()
    assert cleanup.remaining(ada) == before["ada"], "listing deletes nothing"

    deleted = io.StringIO()
    left = sweep_workshop.sweep("swp-", delete=True, out=deleted)
    assert left == {"swp-ada": [], "swp-bob": []}, deleted.getvalue()
    assert "deleted stack swp-ada-MyTestStack" in deleted.getvalue()
    stack_buckets = [
        b["Name"]
        for b in ada.client("s3").list_buckets()["Buckets"]
        if b["Name"].startswith("swp-ada-mytest")
    ]
    assert stack_buckets == [], "the stack's own bucket went with the stack"
    assert cleanup.remaining(bystander), "another prefix's resources are left alone"
    assert sweep_workshop.main(["--prefix", "swp-", "--delete"]) == 0, "a second sweep is a no-op"
