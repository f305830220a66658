"""A learner's session in a real browser: `make lab`, every notebook 00 -> 08 run from the Run
menu, the widgets of 04 and 05 clicked, a kernel restart, a stopped local cloud.

Run by `make test-browser` (which installs Chromium and Playwright where they are missing);
skipped by `make test`. The tests run in order and share one lab; each step says which defect
of issue 12 it keeps fixed. Screenshots and the lab's log go to screenshots/ (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

if os.environ.get("WORKBOOK_BROWSER_TEST") != "1":
    pytest.skip("the browser test runs with `make test-browser`", allow_module_level=True)

import boto3  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from helpers import localcloud, packaging, workbook  # noqa: E402
from tests.browser.jupyterlab import (  # noqa: E402
    CHROMIUM_FLAGS,
    ROOT,
    Notebook,
    chromium,
    free_port,
    rendered,
    show_tab,
    start_lab,
)

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FIVE = next(n for n in NOTEBOOKS if n.startswith("05"))
EIGHT = NOTEBOOKS[-1]  # the clean-up, run last, after the other steps
SHOTS = ROOT / "screenshots"
# How long Run All may take, per notebook (05 waits a minute for a job time-out; 07 runs a
# batch of releases and experiments).
RUN_ALL_BOUND_S = {"05": 600, "06": 600, "07": 900}
DEFAULT_BOUND_S = 300
RELEASE_BOUND_S = 120
EVIL = "evil.test"  # a name of another site, mapped to 127.0.0.1 in the browser only
TIMES: dict[str, float] = {}


def timed(step: str, started: float) -> None:
    TIMES[step] = time.monotonic() - started
    print(f"{step}: {TIMES[step]:.1f} s", flush=True)


def committed_notebooks() -> dict[str, str]:
    """What notebooks/ holds (file -> sha256), and git's word on it where git is there."""
    files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((ROOT / "notebooks").iterdir())
        if p.is_file()
    }
    if shutil.which("git") and (ROOT / ".git").exists():
        files["git status"] = subprocess.run(
            ["git", "status", "--porcelain", "--", "notebooks"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
    return files


# -- the session: one lab, one browser, shared by the steps below -----------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    SHOTS.mkdir(exist_ok=True)
    started = time.monotonic()
    lab = start_lab(tmp_path_factory.mktemp("browser-session"))
    Notebook.folder = lab.working_copy
    timed("make lab, until JupyterLab answers", started)
    try:
        yield lab
    finally:
        lab.stop()
        shutil.copyfile(lab.log, SHOTS / "make-lab.log")
        print("times: " + json.dumps({k: round(v, 1) for k, v in TIMES.items()}))


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium(),
            headless=True,
            args=[*CHROMIUM_FLAGS, f"--host-resolver-rules=MAP {EVIL} 127.0.0.1"],
            viewport={"width": 1400, "height": 1000},
        )
        page = context.pages[0] if context.pages else context.new_page()
        console = (SHOTS / "browser-console.log").open("w")
        page.on("console", lambda message: console.write(f"{message.type}: {message.text}\n"))
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            console.close()


@pytest.fixture(scope="module")
def cloud(lab):
    """The lab's local cloud, reached as its owner, and the names the notebooks use (the
    learner's default prefix, wb-<user>)."""

    class Cloud:
        def client(self, service: str):
            owner = localcloud.owner_credentials(lab.state_dir)
            return boto3.client(
                service,
                endpoint_url=lab.endpoint(),
                aws_access_key_id=owner.access_key_id,
                aws_secret_access_key=owner.secret_access_key,
                region_name=workbook.LOCAL_REGION,
            )

    cloud = Cloud()
    account = cloud.client("sts").get_caller_identity()["Account"]
    cloud.names = workbook.Names(workbook.default_prefix(), account, workbook.LOCAL_REGION)
    return cloud


@pytest.fixture(scope="module")
def before():
    return committed_notebooks()


@pytest.fixture(scope="module")
def opened():
    """Notebook name -> its tab, as the steps open them."""
    return {}


def open_from_contents(page, name: str) -> Notebook:
    """Click the notebook's link on the contents page (its tab must be open)."""
    show_tab(page, "contents.md")
    rendered(page, "contents.md").locator(f"a[href*='{name}']").first.click()
    return Notebook.current(page, name)


# -- the steps ----------------------------------------------------------------------------------
def test_make_lab_opens_a_working_copy_with_contents_and_readme(lab, page, before, opened):
    """The working copy, not the committed notebooks; a contents page and the README inside
    what JupyterLab serves; the Contents links of the first and last cells work."""
    copy = sorted(p.name for p in lab.working_copy.glob("*.ipynb"))
    assert copy == NOTEBOOKS and (lab.working_copy / "contents.md").exists()
    started = time.monotonic()
    page.goto(f"{lab.url}/lab/tree/{NOTEBOOKS[0]}?token={lab.token}")
    first = Notebook.current(page, NOTEBOOKS[0], bound=120)
    opened[NOTEBOOKS[0]] = first
    first.panel.locator(".jp-Cell").first.locator("a", has_text="Contents").click()
    contents = rendered(page, "contents.md")
    contents.locator("h1", has_text="contents").wait_for()
    contents.locator(f"a[href*='{NOTEBOOKS[-1]}']").wait_for()  # it renders in parts
    for name in NOTEBOOKS:
        assert contents.locator(f"a[href*='{name}']").count() == 1, name
    contents.locator("a", has_text="README").click()
    rendered(page, "README.md").locator("h1", has_text="hands-on workbook").wait_for()
    assert open_from_contents(page, NOTEBOOKS[0]).id == first.id
    first.panel.locator(".jp-Cell").last.locator("a", has_text="Contents").click()
    rendered(page, "contents.md").locator("h1", has_text="contents").wait_for()
    timed("contents and README", started)


@pytest.mark.parametrize("name", NOTEBOOKS[:-1])
def test_each_notebook_runs_clean_from_the_run_menu(name, lab, page, cloud, opened):
    """Run → Run All Cells: no cell error, no "Error displaying widget", no widget still
    loading after a bound. 04's form and 05's panel are clicked, 05's kernel restarted."""
    number = name[:2]
    started = time.monotonic()
    notebook = opened.get(name) or open_from_contents(page, name)
    opened[name] = notebook
    # a fresh copy is untrusted: its widgets show their plain line, never a raw repr
    assert "children=" not in notebook.panel.inner_text()
    if number == "04":
        check_the_add_action_form(notebook, cloud)
    elif number == "05":
        restart_the_kernel_mid_run(notebook)
    notebook.run_all(RUN_ALL_BOUND_S.get(number, DEFAULT_BOUND_S))
    notebook.check_ran_clean()
    if number in ("02", "03", "04"):  # the notebook before it made everything: nothing to do
        first = notebook.panel.locator(".jp-CodeCell").first.locator(".jp-OutputArea")
        assert "Caught up on: nothing to do" in first.text_content()
    if number == "05":
        check_the_release_panel(page, notebook, cloud)
        check_other_origins_cannot_drive_the_local_cloud(page, lab, cloud)
    timed(f"notebook {name}", started)


def check_the_add_action_form(notebook: Notebook, cloud) -> None:
    """04: run up to the form; it refuses what the function refuses, then one click with a
    good URL adds the stage, and the form shows the pipeline with it."""
    form_cell = notebook.code_cell("HealthCheckForm(")
    notebook.select(form_cell)
    notebook.menu("Run", "Run All Above Selected Cell")
    notebook.wait_until_done(DEFAULT_BOUND_S)
    notebook.select(form_cell)
    notebook.run_selected()
    form = notebook.widget("Add to the pipeline")
    url = form.locator("input").first
    button = form.locator("button", has_text="Add to the pipeline")
    good = url.input_value()
    for bad, refusal in (
        ("not a url", "'not a url' contains spaces"),
        ("ftp://x", "uses the ftp: scheme"),
        ("", "UserParameters is empty"),
    ):
        url.fill(bad)
        form.get_by_text(refusal).wait_for()
        assert button.is_disabled(), bad
    url.fill(good)
    form.get_by_text("✓ The health check will GET").wait_for()
    assert [s["name"] for s in stages(cloud)] == ["Source", "Deploy"]
    button.click()
    form.get_by_text("added LambdaStage").wait_for()
    assert "└─ LambdaStage" in form.inner_text()
    assert "Re-run the cells from The pipeline after down" in form.inner_text()
    assert [s["name"] for s in stages(cloud)][-1] == "LambdaStage"
    notebook.wait_until_done(30)


def stages(cloud) -> list[dict]:
    return cloud.client("codepipeline").get_pipeline(name=cloud.names.pipeline)["pipeline"][
        "stages"
    ]


def restart_the_kernel_mid_run(notebook: Notebook) -> None:
    """05: restart the kernel while Run All is half-way; the panel then shows one plain line
    (no broken-link icon on each nested widget); the Run All after this re-runs from the top."""
    notebook.start_run_all()
    code_cells = len(notebook.prompts())
    deadline = time.monotonic() + RUN_ALL_BOUND_S["05"]
    while notebook.executed() < code_cells // 2:
        assert time.monotonic() < deadline, "05 did not get half-way"
        time.sleep(0.2)
    notebook.menu("Kernel", "Restart Kernel…")
    notebook.page.locator(".jp-Dialog .jp-mod-accept", has_text="Restart").click()
    notebook.wait_until_done(60)
    panel = notebook.panel.locator(".wb-widget.jupyter-widgets-disconnected").first
    panel.wait_for(state="attached")
    line = panel.evaluate("n => getComputedStyle(n, '::before').content")
    assert "kernel has stopped" in line and "run this cell again" in line, line
    icons = notebook.panel.locator(".wb-widget .jupyter-widgets-disconnected").evaluate_all(
        "nodes => nodes.map(n => getComputedStyle(n, '::before').content)"
    )
    assert set(icons) <= {"none"}, f"nested widgets show no broken-link icon: {icons}"


def panel_statuses(panel) -> dict[str, str]:
    return {
        stage.get_attribute("data-stage"): stage.get_attribute("data-status")
        for stage in panel.locator(".wb-stage").all()
    }


def wait_for_stages(panel, wanted: dict[str, str]) -> None:
    deadline = time.monotonic() + RELEASE_BOUND_S
    while True:
        shown = panel_statuses(panel)
        if all(shown.get(stage) == status for stage, status in wanted.items()):
            return
        assert time.monotonic() < deadline, f"the panel shows {shown}, not {wanted}"
        time.sleep(0.2)


def executions(cloud) -> list[dict]:
    return cloud.client("codepipeline").list_pipeline_executions(pipelineName=cloud.names.pipeline)[
        "pipelineExecutionSummaries"
    ]


def released(panel, click) -> str:
    """Click (or double-click), then wait until the panel says the release finished."""
    status = panel.locator(".wb-release-status")
    shown = status.inner_text()
    click()
    deadline = time.monotonic() + RELEASE_BOUND_S
    while (text := status.inner_text()) == shown or "in progress" in text or "Starting" in text:
        assert time.monotonic() < deadline, text
        time.sleep(0.2)
    return text


def check_the_release_panel(page, notebook: Notebook, cloud) -> None:
    """05: Release change until every stage Succeeded, and the finished release's timeline;
    Details shows START…REPORT; a double-click starts one release; a broken site fails the
    Lambda stage with the function's message."""
    panel = notebook.widget("Release change")
    button = panel.locator("button", has_text="Release change")
    stage_names = [s["name"] for s in stages(cloud)]
    assert "Succeeded" in released(panel, button.click)
    wait_for_stages(panel, dict.fromkeys(stage_names, "Succeeded"))
    assert "Timeline of release" in panel.inner_text()
    panel.screenshot(path=str(SHOTS / "pipeline-succeeded.png"))
    if os.environ.get("WORKBOOK_SCREENSHOTS_TO"):
        target = ROOT / os.environ["WORKBOOK_SCREENSHOTS_TO"] / "pipeline-view.png"
        shutil.copyfile(SHOTS / "pipeline-succeeded.png", target)

    action = panel.locator(".wb-action-row", has=page.locator("[data-action='MyLambdaAction']"))
    action.locator("button", has_text="Details").click()
    log = action.locator("pre", has_text="REPORT RequestId")
    log.wait_for()
    text = log.inner_text()
    assert text.index("START RequestId") < text.index("REPORT RequestId")

    before = len(executions(cloud))
    assert "Succeeded" in released(panel, button.dblclick)
    assert len(executions(cloud)) == before + 1, "a double-click starts one release"
    assert action.locator("pre", has_text="REPORT RequestId").count() == 1, "Details stayed open"

    s3 = cloud.client("s3")
    broken = packaging.site_package(page="<h1>Under construction</h1>")
    s3.put_object(Bucket=cloud.names.source_bucket, Key=cloud.names.site_key, Body=broken)
    assert "Failed" in released(panel, button.click)
    wait_for_stages(panel, {"LambdaStage": "Failed"})
    failed = panel.locator("[data-action='MyLambdaAction'][data-status='Failed']")
    assert "does not contain 'Congratulations'" in failed.inner_text()
    panel.screenshot(path=str(SHOTS / "pipeline-failed.png"))
    s3.put_object(
        Bucket=cloud.names.source_bucket, Key=cloud.names.site_key, Body=packaging.site_package()
    )


class _Page(BaseHTTPRequestHandler):
    """Serves one page: the script the test runs from another origin."""

    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"<html><body>another site</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def check_other_origins_cannot_drive_the_local_cloud(page, lab, cloud) -> None:
    """A page of another origin in the same browser: everything it sends the local cloud is
    refused (403), and it can read nothing back. From a name that isn't loopback (DNS
    rebinding's way in) even the public site is refused; from another port of 127.0.0.1,
    unsigned calls are."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = lab.endpoint()
    site = f"{endpoint}/{cloud.names.site_bucket}/index.html"
    other = page.context.new_page()
    try:
        for origin, requests in (
            (
                f"http://{EVIL}:{server.server_port}",
                [("GET", site), ("POST", f"{endpoint}/?Action=ListRoles&Version=2010-05-08")],
            ),
            (
                f"http://127.0.0.1:{server.server_port}",
                [("GET", f"{endpoint}/"), ("POST", f"{endpoint}/?Action=ListRoles")],
            ),
        ):
            other.goto(origin + "/")
            for method, url in requests:
                # no-cors: the request is sent as a page's form or image would send it, and the
                # browser gets the answer (the script doesn't): what did the local cloud say?
                with other.expect_response(lambda r, url=url: r.url == url) as seen:
                    other.evaluate(
                        "([method, url]) => fetch(url, {method, mode: 'no-cors'})", [method, url]
                    )
                assert seen.value.status == 403, (origin, method, url, seen.value.status)
                read = other.evaluate(
                    """async ([method, url]) => {
                        try { const r = await fetch(url, {method}); return await r.text(); }
                        catch (e) { return "refused: " + e.name; }
                    }""",
                    [method, url],
                )
                assert read.startswith("refused"), f"the page could read the answer: {read}"
    finally:
        other.close()
        server.shutdown()
    assert cloud.client("s3").get_object(Bucket=cloud.names.site_bucket, Key="index.html"), (
        "the site itself is still served to its owner"
    )


def test_widgets_of_a_gone_kernel_are_one_plain_line_when_reopened(page, opened):
    """05 saved, its kernel shut down, its tab closed and opened again: one plain line where
    each widget was, not "Error displaying widget: model not found"."""
    started = time.monotonic()
    notebook = opened.pop(FIVE)
    notebook.activate()
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1000)
    notebook.menu("Kernel", "Shut Down Kernel")
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.click()
    notebook.menu("File", "Close Tab")
    again = open_from_contents(page, FIVE)
    opened[FIVE] = again
    gone = again.panel.locator(".jp-OutputArea-output.jupyter-widgets")
    gone.first.wait_for(state="attached", timeout=60_000)
    lines = gone.evaluate_all("nodes => nodes.map(n => getComputedStyle(n, '::after').content)")
    assert lines and all("run this cell to show it again" in line for line in lines), lines
    sizes = gone.evaluate_all("nodes => nodes.map(n => getComputedStyle(n).fontSize)")
    assert set(sizes) == {"0px"}, "JupyterLab's own words are hidden"
    timed("reopening 05", started)


def test_after_08_and_make_stop_a_cell_and_the_panel_say_what_to_run(lab, page, opened):
    """08 runs clean; a click in 05's panel then says the pipeline is gone, in the panel. After
    `make stop` a cell is one plain line saying what to run, and the panel says the same; once
    a local cloud runs again (on another port), the cell and the panel work again."""
    started = time.monotonic()
    five = opened[FIVE]
    panel_cell = five.code_cell("ReleasePanel(")
    five.select(panel_cell)
    five.menu("Run", "Run All Above Selected Cell")
    five.wait_until_done(DEFAULT_BOUND_S)
    five.select(panel_cell)
    five.run_selected()
    panel = five.widget("Release change")
    button = panel.locator("button", has_text="Release change")
    assert panel_statuses(panel), "the panel shows the pipeline's state before any click"

    clean_up = open_from_contents(page, EIGHT)
    opened[EIGHT] = clean_up
    clean_up.run_all(DEFAULT_BOUND_S)
    clean_up.check_ran_clean()
    five.activate()
    assert "doesn't exist" in released(panel, button.click)
    assert "doesn't exist" in panel.locator(".wb-release-status").inner_text()

    stopped = lab.python("-m", "helpers.localcloud", "--stop")
    assert "Stopped the local cloud" in stopped.stdout, stopped.stdout + stopped.stderr
    remaining = clean_up.code_cell("cleanup.remaining(book)")
    clean_up.select(remaining)
    clean_up.run_selected(120)
    errors = clean_up.error_outputs()
    assert len(errors) == 1 and len(errors[0].strip().splitlines()) == 1, errors
    assert "isn't answering" in errors[0] and "first cell" in errors[0]
    five.activate()
    assert "isn't answering" in released(panel, button.click)

    port = free_port()
    restarted = lab.python("-m", "helpers.localcloud", "--ensure", LOCALCLOUD_PORT=str(port))
    assert restarted.stdout.strip().endswith(f":{port}"), restarted.stdout + restarted.stderr
    clean_up.select(remaining)
    clean_up.run_selected(120)
    assert clean_up.error_outputs() == [], "the kernel follows the local cloud's restart"
    five.activate()
    assert "doesn't exist" in released(panel, button.click), "and so does the panel"
    clean_up.run_all(DEFAULT_BOUND_S)
    clean_up.check_ran_clean()
    timed("08, the panel's errors, make stop and a new local cloud", started)


def test_the_committed_notebooks_are_unchanged(before):
    """The session worked on its own copy: notebooks/ is as it was (git status clean in CI)."""
    assert committed_notebooks() == before


def test_make_lab_said_only_what_a_learner_needs(lab):
    """Its own lines (working copy, local cloud), and none of JupyterLab's info and warnings
    (what is left is the kernels' own: ipykernel's word on TCP, a restarted kernel's traceback)."""
    said = lab.log.read_text()
    assert "Your working copy:" in said and "Local cloud: http://127.0.0.1:" in said
    assert not re.search(r"^\[[IW] .*(ServerApp|LabApp)\]", said, re.MULTILINE), said
