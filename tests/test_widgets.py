"""The widgets of 04 and 05, driven as the browser drives them (their click handlers), against
the session's local cloud: what a learner sees in the panel and the form.

The browser test (tests/browser/) clicks the same widgets in JupyterLab; these check the
behaviour in seconds.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import boto3
import ipywidgets
import pytest

from helpers import packaging, pipelines, resources, widgets, workbook


def _book(local_cloud, monkeypatch, notebook: str) -> workbook.Workbook:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
    monkeypatch.setenv("WORKBOOK_PREFIX", f"wg{uuid.uuid4().hex[:6]}")
    session = boto3.Session(
        aws_access_key_id=local_cloud.owner.access_key_id,
        aws_secret_access_key=local_cloud.owner.secret_access_key,
        region_name="us-east-1",
    )
    book = workbook.Workbook(session, "123456789012", "local")
    resources.catch_up(book, notebook)
    return book


@pytest.fixture
def book(local_cloud, monkeypatch):
    """A pipeline with its LambdaStage, as notebook 05 starts."""
    return _book(local_cloud, monkeypatch, "05")


@pytest.fixture
def book_before_04(local_cloud, monkeypatch):
    """The pipeline without LambdaStage, as notebook 04 starts."""
    return _book(local_cloud, monkeypatch, "04")


def live_widgets() -> int:
    return len(ipywidgets.widgets.widget._instances)


def stage_statuses(view: widgets.PipelineView) -> dict[str, str]:
    headers = [row.header.value for row in view.stages.children]
    return {
        re.search(r"data-stage='([^']+)'", h).group(1): re.search(
            r"data-status='([^']+)'", h
        ).group(1)
        for h in headers
    }


def executions(book) -> int:
    codepipeline = book.client("codepipeline")
    return len(
        codepipeline.list_pipeline_executions(pipelineName=book.names.pipeline)[
            "pipelineExecutionSummaries"
        ]
    )


def wait_for(thread) -> None:
    thread.join(60)
    assert not thread.is_alive()


def test_the_panel_shows_the_pipelines_state_before_any_release(book):
    panel = widgets.ReleasePanel(book)
    # creating the pipeline ran it once (01): Source and Deploy have a status already
    assert stage_statuses(panel.view) == {
        "Source": "Succeeded",
        "Deploy": "Succeeded",
        "LambdaStage": "—",
    }


def test_a_release_updates_the_panel_in_place_and_leaves_a_timeline(book):
    panel = widgets.ReleasePanel(book)
    rows = panel.view.stages.children
    toggle = panel.view._rows["LambdaStage"].actions["MyLambdaAction"].toggle
    before = live_widgets()
    for _ in range(3):
        finished = panel.release()
        assert finished["status"] == "Succeeded"
    assert panel.view.stages.children == rows, "the same rows, updated"
    assert panel.view._rows["LambdaStage"].actions["MyLambdaAction"].toggle is toggle
    assert live_widgets() == before, "no widget made per refresh"
    assert set(stage_statuses(panel.view).values()) == {"Succeeded"}
    timeline = panel.view.timeline.value
    assert "Timeline of release" in timeline
    for action in ("Source", "DeploySite", "MyLambdaAction"):
        assert f"/ {action}</td>" in timeline


def test_details_shows_the_invocations_log(book):
    panel = widgets.ReleasePanel(book)
    panel.release()
    action = panel.view._rows["LambdaStage"].actions["MyLambdaAction"]
    action.toggle.value = True
    log = action.details.value
    assert log.index("START RequestId") < log.index("REPORT RequestId")
    action.toggle.value = False
    assert action.details.value == ""


def test_a_double_click_starts_one_release(book):
    panel = widgets.ReleasePanel(book)
    before = executions(book)
    panel._clicked()
    panel._clicked()  # the second click of a double-click, while the first one runs
    assert panel.button.disabled
    wait_for(panel.thread)
    assert executions(book) == before + 1
    assert panel.last_execution["status"] == "Succeeded"
    assert not panel.button.disabled


def test_a_failed_release_shows_the_functions_message(book):
    book.client("s3").put_object(
        Bucket=book.names.source_bucket,
        Key=book.names.site_key,
        Body=packaging.site_package(page="<h1>Under construction</h1>"),
    )
    panel = widgets.ReleasePanel(book)
    panel._clicked()
    wait_for(panel.thread)
    assert stage_statuses(panel.view)["LambdaStage"] == "Failed"
    line = panel.view._rows["LambdaStage"].actions["MyLambdaAction"].line.value
    assert "does not contain 'Congratulations'" in line


def test_a_click_on_a_deleted_pipeline_says_so_in_the_panel(book):
    panel = widgets.ReleasePanel(book)
    book.client("codepipeline").delete_pipeline(name=book.names.pipeline)
    panel._clicked()
    wait_for(panel.thread)
    assert "doesn't exist" in panel.status.value
    assert "doesn't exist" in panel.view.message.value
    assert set(stage_statuses(panel.view).values()) == {"unknown"}, "no stale green badges"
    assert not panel.button.disabled


def test_a_panel_for_a_missing_pipeline_shows_the_error_at_once(book):
    panel = widgets.ReleasePanel(book, "no-such-pipeline")
    assert "doesn't exist" in panel.view.message.value


def test_a_stopped_local_cloud_is_one_line_in_the_panel(book, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBOOK_TARGET", "local")
    monkeypatch.setenv("LOCALCLOUD_STATE_DIR", str(tmp_path))  # no local cloud runs for it
    stopped = workbook.Workbook(book.session, book.account, "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    panel = widgets.ReleasePanel(stopped)
    panel._clicked()
    wait_for(panel.thread)
    assert "isn't answering" in panel.status.value and "first cell" in panel.status.value


def test_reprs_are_one_plain_line_without_a_port(book):
    shown = [
        repr(widgets.ReleasePanel(book)),
        repr(widgets.PipelineView(book)),
        repr(widgets.HealthCheckForm(book)),
    ]
    for text in shown:
        assert "\n" not in text and "127.0.0.1" not in text and "children=" not in text
        assert "run this cell" in text and len(text) < 110  # ipywidgets cuts text/plain at 110
    assert shown[0].startswith(f"Release panel of {book.names.pipeline}")


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("", "UserParameters is empty"),
        ("not a url", "'not a url' contains spaces"),
        ("ftp://x", "uses the ftp: scheme"),
        ("www.example.com", "has no scheme: write it as http://www.example.com"),
    ],
)
def test_the_form_refuses_what_the_function_refuses(book_before_04, url, refusal):
    form = widgets.HealthCheckForm(book_before_04)
    form.url.value = url
    assert refusal in form.check.value and form.check.value.count("✗") == 1
    assert form.add_button.disabled
    with pytest.raises(ValueError, match=re.escape(refusal)):
        form.checked_user_parameters()


def test_one_click_adds_the_stage_and_a_later_edit_says_it_isnt_applied(book_before_04):
    book = book_before_04
    form = widgets.HealthCheckForm(book)
    assert "✓ The health check will GET" in form.check.value and not form.add_button.disabled
    form._clicked()
    assert "added LambdaStage" in form.result.value and "LambdaStage" in form.result.value
    declaration = pipelines.get_declaration(book.client("codepipeline"), book.names.pipeline)
    action = declaration["stages"][-1]["actions"][0]
    assert declaration["stages"][-1]["name"] == "LambdaStage"
    assert action["configuration"]["UserParameters"] == book.site_url()

    form.expect.value = "deployed using AWS CodePipeline"
    assert "Changed since you added it" in form.result.value
    form._clicked()
    assert "now runs MyLambdaAction with these UserParameters" in form.result.value
    form._clicked()
    assert "nothing to update" in form.result.value
    codepipeline = book.client("codepipeline")
    assert pipelines.release_and_wait(codepipeline, book.names.pipeline)["status"] == "Succeeded"


def test_the_form_keeps_the_stages_other_actions(book):
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    about = pipelines.lambda_action(
        "CheckAboutPage", book.names.health_function, book.site_url("about.html")
    )
    codepipeline.update_pipeline(pipeline=pipelines.add_action(declaration, "LambdaStage", about))
    form = widgets.HealthCheckForm(book, expect="deployed using AWS CodePipeline")
    form.add_to_pipeline()
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    stage = next(s for s in declaration["stages"] if s["name"] == "LambdaStage")
    assert sorted(a["name"] for a in stage["actions"]) == ["CheckAboutPage", "MyLambdaAction"]


def test_timeline_html_places_each_run_on_one_scale():
    t0 = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    runs = [
        {
            "stageName": "Source",
            "actionName": "Source",
            "status": "Succeeded",
            "startTime": t0,
            "lastUpdateTime": t0 + dt.timedelta(seconds=1),
        },
        {
            "stageName": "LambdaStage",
            "actionName": "MyLambdaAction",
            "status": "Failed",
            "startTime": t0 + dt.timedelta(seconds=1),
            "lastUpdateTime": t0 + dt.timedelta(seconds=2),
        },
    ]
    html = widgets.timeline_html("0123456789abcdef", runs)
    assert "Timeline of release 01234567…" in html and "(2.00 s, 2 action runs)" in html
    assert "left:0.0%;width:50.0%" in html and "left:50.0%;width:50.0%" in html
