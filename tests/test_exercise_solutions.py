"""The hidden solutions of 05, 06 and 08 pass their exercise checks, and the checks say
"Not yet" before: each exercise needs code, and the solution shown is code that works.

The solution is read from the notebook (the ```python block in its <details>) and run as the
notebook would run it, against the session's local cloud (job time-out: a few seconds).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import boto3
import nbformat
import pytest

from helpers import (
    cleanup,
    exercises,
    localcloud,
    packaging,
    pipelines,
    resources,
    timings,
    workbook,
)
from tests import conftest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def solution(notebook: str, check: str) -> str:
    """The code of the solution that follows the cell calling ``exercises.<check>``."""
    cells = nbformat.read(NOTEBOOKS / notebook, as_version=4).cells
    at = next(i for i, c in enumerate(cells) if f"exercises.{check}(" in c.source)
    details = next(c.source for c in cells[at + 1 :] if "<details>" in c.source)
    return re.search(r"```python\n(.*?)```", details, re.DOTALL).group(1)


@pytest.fixture(scope="module")
def patient_cloud(tmp_path_factory):
    """A local cloud whose jobs time out after 60 s, as the notebooks' does: a stack's
    creation may take longer than the session cloud's few seconds on a busy machine."""
    state = tmp_path_factory.mktemp("patient")
    process, endpoint = localcloud.start(job_timeout_s=60, state=state)
    yield conftest.Started(endpoint, str(state), localcloud.owner_credentials(state))
    process.terminate()
    process.wait(10)


def make_book(cloud, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.endpoint)
    monkeypatch.setenv("WORKBOOK_PREFIX", f"ex{uuid.uuid4().hex[:6]}")
    session = boto3.Session(
        aws_access_key_id=cloud.owner.access_key_id,
        aws_secret_access_key=cloud.owner.secret_access_key,
        region_name="us-east-1",
    )
    return workbook.Workbook(session, "123456789012", "local")


@pytest.fixture
def book(patient_cloud, monkeypatch):
    return make_book(patient_cloud, monkeypatch)


@pytest.fixture
def quick_book(local_cloud, monkeypatch):
    """On the session's local cloud, whose jobs time out after a few seconds: for a release
    that waits for a time-out."""
    return make_book(local_cloud, monkeypatch)


def run(code: str, book) -> dict:
    """Run notebook code with the names the notebook's set-up cell defines."""
    namespace = {
        "book": book,
        "codepipeline": book.client("codepipeline"),
        "logs": book.client("logs"),
        "s3": book.client("s3"),
        "poll": resources.poll_interval(book),
        "json": json,
        "time": time,
        "packaging": packaging,
        "pipelines": pipelines,
        "resources": resources,
        "timings": timings,
    }
    exec(compile(code, "<solution>", "exec"), namespace)  # noqa: S102 - the notebook's own code
    return namespace


def verdict(check, book, capsys) -> str:
    capsys.readouterr()
    check(book)
    return capsys.readouterr().out


def release(book) -> dict:
    codepipeline = book.client("codepipeline")
    return pipelines.release_and_wait(codepipeline, book.names.pipeline, poll=0.05)


def test_05_taking_the_report_permission_away_is_felt_then_restored(quick_book, capsys):
    resources.catch_up(quick_book, "05")
    release(quick_book)
    assert verdict(exercises.check_report_denied, quick_book, capsys).startswith("Not yet")
    run(solution("05_release_and_watch.ipynb", "check_report_denied"), quick_book)
    said = verdict(exercises.check_report_denied, quick_book, capsys)
    assert said.startswith("✓ the report was denied"), said
    assert "failed to return a result" in said
    resources.restore_job_reporting(quick_book)  # the cell that always runs
    assert release(quick_book)["status"] == "Succeeded"


def test_05_own_text_keeps_the_about_page_action(book, capsys):
    resources.catch_up(book, "05")
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    about = pipelines.lambda_action(
        "CheckAboutPage",
        book.names.health_function,
        pipelines.user_parameters(book.site_url("about.html"), "About this sample"),
    )
    codepipeline.update_pipeline(pipeline=pipelines.add_action(declaration, "LambdaStage", about))
    release(book)
    assert verdict(exercises.check_different_text_release, book, capsys).startswith("Not yet")
    run(solution("05_release_and_watch.ipynb", "check_different_text_release"), book)
    said = verdict(exercises.check_different_text_release, book, capsys)
    assert said.startswith("✓"), said
    stage = pipelines.get_declaration(codepipeline, book.names.pipeline)["stages"][-1]
    assert sorted(a["name"] for a in stage["actions"]) == ["CheckAboutPage", "MyLambdaAction"]


def test_06_an_update_changes_a_resource_property(book, capsys):
    resources.catch_up(book, "07")
    assert release(book)["status"] == "Succeeded"  # creates the stack
    assert verdict(exercises.check_stack_updated, book, capsys).startswith("Not yet")
    namespace = run(solution("06_cloudformation_function.ipynb", "check_stack_updated"), book)
    assert namespace["update"]["status"] == "Succeeded"
    said = verdict(exercises.check_stack_updated, book, capsys)
    assert said.startswith("✓ the stack was updated: MySampleBucket now has Versioning"), said


def test_06_an_outputs_only_change_is_not_an_update(book, capsys):
    resources.catch_up(book, "07")
    release(book)
    template = json.loads(
        (packaging.DATA / "cloudformation" / "template-package" / "template.json").read_text()
    )
    template["Outputs"]["BucketArn"] = {"Value": {"Fn::GetAtt": ["MySampleBucket", "Arn"]}}
    resources.upload_template(book, json.dumps(template))
    assert release(book)["status"] == "Succeeded"
    assert verdict(exercises.check_stack_updated, book, capsys).startswith("Not yet")


def test_08_the_artifact_store_is_what_is_left(book, capsys):
    resources.catch_up(book, "08")
    for step in (
        cleanup.delete_pipeline,
        cleanup.delete_stack,
        lambda b: cleanup.delete_function(b, b.names.health_function),
        lambda b: cleanup.delete_function(b, b.names.deployer_function),
        cleanup.delete_lambda_role,
        cleanup.delete_pipeline_role,
        lambda b: cleanup.empty_and_delete_bucket(b, b.names.site_bucket),
        lambda b: cleanup.empty_and_delete_bucket(b, b.names.source_bucket),
    ):
        step(book)
    said = verdict(exercises.check_nothing_left, book, capsys)
    assert said.startswith("Not yet: the artifact store"), said
    run(solution("08_clean_up.ipynb", "check_nothing_left"), book)
    assert verdict(exercises.check_nothing_left, book, capsys).startswith("✓")
