"""One failure, one line: in a real kernel, sent cells as JupyterLab sends them (with their
cell ids), a cell below a failed one prints one line; cells above run; fixing the failed cell
or running the first cell lifts it."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]

CELLS = {
    "first": "from helpers import guard\nguard.install()\nimport os",
    "above": "print('above ran')",
    "fails": "if not os.environ.get('FIXED'):\n    raise TimeoutError('none finished\\nin 10 s')",
    "below": "print('below ran')",
    "exercise": "# your code here\nraise ValueError('learner code')",
    "after_exercise": "print('after the exercise')",
}


@pytest.fixture
def kernel(tmp_path):
    notebook = nbformat.v4.new_notebook()
    for cell_id, source in CELLS.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.id = cell_id
        notebook.cells.append(cell)
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    env = {**os.environ, "JPY_SESSION_NAME": str(path), "PYTHONPATH": str(ROOT)}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, cell_id: str, source: str | None = None) -> tuple[str, list[str]]:
    """Execute a cell as JupyterLab does (its id in the request's metadata): its status and
    what it printed or showed as an error."""
    msg = kc.session.msg(
        "execute_request",
        {
            "code": source if source is not None else CELLS[cell_id],
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        },
        metadata={"cellId": cell_id},
    )
    kc.shell_channel.send(msg)
    shown: list[str] = []
    while True:
        reply = kc.get_iopub_msg(timeout=30)
        if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind, content = reply["msg_type"], reply["content"]
        if kind == "stream":
            shown.append(content["text"].strip())
        elif kind == "error":
            shown.extend(content["traceback"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    status = kc.get_shell_msg(timeout=30)["content"]["status"]
    return status, shown


def test_a_cell_below_a_failed_one_says_so_in_one_line(kernel):
    assert run(kernel, "first")[0] == "ok"
    assert run(kernel, "fails")[0] == "error"
    status, shown = run(kernel, "below")
    assert status == "error"
    assert len(shown) == 1, shown  # one line, no traceback
    assert shown[0].startswith("✗ Not run: the cell [")
    assert "TimeoutError: none finished" in shown[0] and "in 10 s" not in shown[0]
    assert run(kernel, "above") == ("ok", ["above ran"])  # going back up is allowed


def test_fixing_the_failed_cell_or_running_the_first_lifts_the_guard(kernel):
    run(kernel, "first")
    run(kernel, "fails")
    run(kernel, "fails", "os.environ['FIXED'] = '1'")  # the learner fixes the cell
    assert run(kernel, "below") == ("ok", ["below ran"])
    run(kernel, "fails", "raise KeyError('again')")
    assert run(kernel, "below")[0] == "error"
    assert run(kernel, "first")[0] == "ok"
    assert run(kernel, "below") == ("ok", ["below ran"])


def test_an_exercise_that_raises_stops_nothing(kernel):
    run(kernel, "first")
    assert run(kernel, "exercise")[0] == "error"
    assert run(kernel, "after_exercise") == ("ok", ["after the exercise"])


def test_without_a_notebook_file_nothing_is_stopped(tmp_path):
    from helpers import guard

    class Info:
        def __init__(self, cell_id, raw_cell):
            self.cell_id, self.raw_cell = cell_id, raw_cell

    class Result:
        def __init__(self, info, error):
            self.info, self.error_in_exec, self.execution_count = info, error, 3

    g = guard.Guard(notebook_path=lambda: None)
    g.post_run_cell(Result(Info("a", "x"), TimeoutError("late")))
    assert g.failed is not None
    g.pre_run_cell(Info("b", "y"))
    module = ast.parse("y = 1")
    assert g.visit(module) is module
    assert sys.modules["helpers.guard"] is guard
