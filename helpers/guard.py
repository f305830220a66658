"""One failure, one line: after a cell fails, a cell below it says so instead of running.

A notebook's cells build on each other: a release started in one is read in the next. When one
fails and a learner goes on clicking, every later cell fails too, on what the failed one left
undone — a ``NameError``, a ``None`` subscripted, an empty list indexed — and the real cause
scrolls out of sight. With the guard, a cell below the failed one doesn't run; it prints one
line naming the failed cell, what it said, and what to do.

- Running the failed cell again (fixed) lifts the guard; so does the notebook's first cell
  (``wb.connect()``, which catches up).
- Cells above the failed one run as usual: going back to fix something is the point.
- An exercise cell (``# your code here``) that raises sets no guard: it is the learner's own
  code, and the cells after an exercise put things back.
- The order of cells is read from the notebook file Jupyter names for the kernel
  (``JPY_SESSION_NAME``). Without one (a script, ``nbclient``), or for a cell not saved yet, the
  guard lets the cell run: it never stops a cell it can't place.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass

EXERCISE_MARK = "# your code here"
CONNECT_MARK = "wb.connect("


class NotRun(Exception):
    """This cell didn't run: one above it failed. Shown as its one line, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


@dataclass(frozen=True)
class Failed:
    cell_id: str
    count: int | None
    said: str


def one_line(error: BaseException, width: int = 240) -> str:
    """``Type: the first line of the message``, shortened."""
    text = str(error).strip().splitlines()
    said = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    if text and text[0].startswith("✗"):  # a checkpoint says it plainly already
        said = text[0]
    return said if len(said) <= width else said[: width - 1] + "…"


def code_cell_ids(path: str | None) -> list[str]:
    """The ids of the notebook's code cells, in order; [] if it can't be read."""
    if not path:
        return []
    if not os.path.isfile(path):  # a path relative to the server's root: the kernel runs
        path = os.path.basename(path)  # in the notebook's own folder
    try:
        with open(path, encoding="utf-8") as file:
            cells = json.load(file).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [c.get("id", "") for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]


class Guard(ast.NodeTransformer):
    """The IPython hooks: ``pre_run_cell`` decides; as an AST transformer (IPython applies those
    after ``pre_run_cell``, where ipykernel applies input transformers before it) it replaces the
    cell's code with the raise of its one line; ``post_run_cell`` notes a failure or lifts it."""

    def __init__(self, notebook_path=lambda: os.environ.get("JPY_SESSION_NAME")):
        self.failed: Failed | None = None
        self._pending: str | None = None
        self._notebook_path = notebook_path

    def clear(self) -> None:
        self.failed = None

    def _is_below_the_failure(self, cell_id: str | None) -> bool:
        failed = self.failed
        if failed is None or not cell_id or cell_id == failed.cell_id:
            return False
        order = code_cell_ids(self._notebook_path())
        if cell_id not in order or failed.cell_id not in order:
            return False
        return order.index(cell_id) > order.index(failed.cell_id)

    def pre_run_cell(self, info) -> None:
        self._pending = None
        source = info.raw_cell or ""
        if CONNECT_MARK in source or not self._is_below_the_failure(info.cell_id):
            return
        failed = self.failed
        where = f"the cell [{failed.count}] above" if failed.count else "a cell above"
        self._pending = (
            f"✗ Not run: {where} failed ({failed.said}). Fix what it says and run it again: "
            "the cells below it need what it does. Or run this notebook's first cell to catch up."
        )

    def visit_Module(self, node: ast.Module) -> ast.Module:
        pending, self._pending = self._pending, None
        if pending is None:
            return node
        code = f"raise __import__('helpers.guard', fromlist=['NotRun']).NotRun({pending!r})"
        return ast.Module(body=ast.parse(code).body, type_ignores=[])

    def post_run_cell(self, result) -> None:
        error = result.error_in_exec
        info = result.info
        if error is None:
            if self.failed is not None and info.cell_id == self.failed.cell_id:
                self.failed = None
            return
        if isinstance(error, NotRun) or EXERCISE_MARK in (info.raw_cell or ""):
            return
        if info.cell_id:
            self.failed = Failed(info.cell_id, result.execution_count, one_line(error))


def install() -> Guard | None:
    """Hook the guard into the running IPython (once per kernel) and lift any failure: called
    by ``wb.connect()``, the first cell of every notebook. None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    guard = getattr(shell, "_workbook_guard", None)
    if guard is None:
        guard = Guard()
        shell._workbook_guard = guard
        shell.events.register("pre_run_cell", guard.pre_run_cell)
        shell.events.register("post_run_cell", guard.post_run_cell)
        shell.ast_transformers.append(guard)
    guard.clear()
    return guard
