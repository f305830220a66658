"""The workbook's notebooks: their skeleton, and each one run on its own and on the AWS path.

`make test` also re-runs them all in order with nbval, comparing outputs strictly; these tests
cover what nbval doesn't: a participant who jumps straight to notebook N, and the
WORKBOOK_TARGET=aws path (against a local cloud, offline, through AWS_ENDPOINT_URL only).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from tests import notebook_runs
from tools.run_notebooks import execute_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]


PAGE_URL = (
    "https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-invoke-lambda-function.html"
)


def read(path: Path):
    return nbformat.read(path, as_version=4)


def markdown(notebook) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_the_notebooks_are_the_ordered_workbook():
    assert NAMES == [
        "00_welcome_and_setup",
        "01_create_the_pipeline",
        "02_execution_role",
        "03_health_check_function",
        "04_add_the_lambda_action",
        "05_release_and_watch",
        "06_cloudformation_function",
        "07_execution_timings",
        "08_clean_up",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_skeleton(path):
    notebook = read(path)
    text = markdown(notebook)
    headings = re.findall(r"^(#{1,3}) (.+)$", text, re.MULTILINE)
    titles = [h for level, h in headings if level == "#"]
    assert len(titles) == 1, "one title"
    sections = [h for level, h in headings if level == "##"]
    assert sections[0] == "Overview" and sections[1] == "Prerequisites"
    assert sections[-2:] == ["Summary", "Resources and references"]
    assert ("###", "Key points") in headings and ("###", "What's next?") in headings
    overview = text.split("## Overview", 1)[1].split("##", 1)[0]
    assert "By the end of this notebook you can" in overview, "outcome-style objectives"
    assert re.search(r"^1\. ", overview, re.MULTILINE), "numbered learning objectives"
    references = text.split("## Resources and references", 1)[1]
    assert PAGE_URL in references, "every notebook links the page it teaches"
    assert re.search(r"\]\(https://docs\.aws\.amazon\.com/[^)]+\)", references)
    prerequisites = text.split("## Prerequisites", 1)[1].split("\n## ", 1)[0]
    assert "| Concept | Importance | Notes |" in prerequisites
    assert re.search(r"Time to learn\*\*: \d+ minutes", prerequisites)
    first_code = code_cells(notebook)[0].source
    assert "wb.connect()" in first_code
    if path.stem == "00_welcome_and_setup":
        assert "## Glossary" in text
    else:
        number = path.stem[:2]
        assert f'resources.catch_up(book, "{number}")' in first_code
        assert "> **In the console:**" in text, "each step maps to the console's clicks"
    if path.stem >= "02":
        assert (
            "## Exercise" in text
            and "<details>" in text
            and "from helpers import exercises"
            in ("\n".join(c.source for c in code_cells(notebook)))
        )
    # navigation, first and last: the contents page beside the notebooks (tests/test_markdown.py)
    assert "[Contents](contents.md)" in notebook.cells[0].source
    assert notebook.cells[-1].source == notebook.cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_committed_outputs_are_from_a_clean_run(path):
    notebook = read(path)
    for cell in code_cells(notebook):
        assert cell.execution_count is not None, "every code cell was run"
        assert "clear_output" not in cell.source and "input(" not in cell.source
        for output in cell.outputs:
            assert output.output_type != "error", cell.source
    assert "widgets" not in notebook.metadata, "no saved widget state (ids change every run)"


def execute(path: Path, env: dict[str, str], monkeypatch) -> None:
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    execute_notebook(path)  # raises CellExecutionError on the first failing cell


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_each_notebook_runs_alone_on_a_fresh_local_cloud(path):
    """A participant who jumps straight to notebook N: its catch-up, then every cell. Each
    notebook runs alone once per session (tests/notebook_runs.py); test_catch_up.py compares
    what that run left with what catching up creates."""
    ran = notebook_runs.run_alone(path)
    if ran.error is not None:
        raise ran.error


def test_the_aws_path_runs_offline_against_an_endpoint(owner_env, monkeypatch, tmp_path):
    """WORKBOOK_TARGET=aws uses nothing but the standard AWS configuration: pointed at a local
    cloud through AWS_ENDPOINT_URL, all notebooks run in order."""
    env = {
        "WORKBOOK_TARGET": "aws",
        "WORKBOOK_CONFIRM": "yes",
        "WORKBOOK_PREFIX": "awspath",
        **owner_env,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_PROFILE": None,
        # where a local cloud of its own would leave its endpoint file: it must not start one
        "LOCALCLOUD_STATE_DIR": str(tmp_path / "localcloud"),
    }
    for path in NOTEBOOKS:
        execute(path, env, monkeypatch)
    assert not (tmp_path / "localcloud").exists(), "the AWS path started a local cloud"


def test_aws_target_asks_for_confirmation_before_creating_anything(owner_env, monkeypatch, capsys):
    from helpers import workbook

    monkeypatch.setenv("WORKBOOK_TARGET", "aws")
    monkeypatch.delenv("WORKBOOK_CONFIRM", raising=False)
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, owner_env[name])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with pytest.raises(workbook.NotConfirmed, match="WORKBOOK_CONFIRM=yes"):
        workbook.connect()
    shown = capsys.readouterr().out
    assert "account 123456789012, region eu-west-1" in shown
    assert "Estimated cost" in shown and "$0.002 per action-execution minute" in shown
    assert os.environ["AWS_ENDPOINT_URL"] == owner_env["AWS_ENDPOINT_URL"]


QUOTAS_URL = "https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html"


def test_06_runs_the_pages_python_sample_and_states_the_24_hour_limit():
    """06 deploys the page's Python sample as printed and shows it failing (the committed
    outputs hold the action's message and the traceback), sets each function the page names
    beside its fix, and says where continuation tokens stop: 24 hours, the quota page cited."""
    import inspect

    from helpers.localcloud import server
    from helpers.localcloud.codepipeline.providers import AWS_JOB_TIMEOUT, MAX_ACTION_DURATION

    notebook = read(ROOT / "notebooks" / "06_cloudformation_function.ipynb")
    text = markdown(notebook)
    source = "\n".join(c.source for c in code_cells(notebook))
    outputs = "\n".join(
        o.get("text", "") for c in code_cells(notebook) for o in c.outputs if "text" in o
    )
    assert "packaging.page_python_sample()" in source and '"lambda_function.py"' in source
    assert "Invalid type for parameter TemplateBody" in outputs
    assert "botocore.exceptions.ParamValidationError" in outputs
    for name in ("get_user_params", "get_template", "continue_job_later"):
        assert f'function_def(page_sample, "{name}")' in source
        assert f'function_def(fixed_source, "{name}")' in source
    loop = text.split("## The continuation-token loop", 1)[1].split("\n## ", 1)[0]
    job_timeout_s = inspect.signature(server.serve).parameters["job_timeout_s"].default
    local_minutes = job_timeout_s * (MAX_ACTION_DURATION / AWS_JOB_TIMEOUT) / 60  # the scaled 24 h
    assert "24 hours" in loop and f"{local_minutes:.0f} minutes" in loop
    assert "LOCALCLOUD_MAX_ACTION_S" in loop and QUOTAS_URL in loop
    assert QUOTAS_URL in text.split("## Resources and references", 1)[1]
