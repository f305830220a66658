"""Measure what the time plan (`PLAN` in helpers/workbook.py) is made of, to update it.

Runs copies of the notebooks, 00 -> 08 in order, on a fresh local cloud (as `make notebooks`
does, but the committed notebooks stay as they are), and prints for each part of the plan its
cells' running time, its reading time and exercises as `measure_reading` finds them, and the
minutes PLAN has for it now. About two minutes; run it alone (it uses a core while it runs).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import workbook as wb  # noqa: E402

ENVIRONMENT = {"WORKBOOK_TARGET": "local", "WORKBOOK_PREFIX": "workbook"}


def cell_seconds(cell) -> float:
    """How long a cell ran: nbclient's timestamps (record_timing)."""
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def seconds_by_section(notebook) -> dict[str | None, float]:
    """Running seconds of a notebook's optional sections (by heading) and of the rest (None)."""
    seconds: dict[str | None, float] = {None: 0.0}
    heading = None
    for cell in notebook.cells:
        first = cell.source.split("\n", 1)[0]
        if cell.cell_type == "markdown" and first.startswith("## "):
            heading = first[3:]
        key = heading if heading and heading.startswith("Optional") else None
        seconds[key] = seconds.get(key, 0.0) + cell_seconds(cell)
    return seconds


def main() -> None:
    copies = Path(tempfile.mkdtemp(prefix="workbook-timing-"))
    for page in (ROOT / "notebooks").iterdir():
        if page.is_file():
            shutil.copy(page, copies / page.name)
    state = tempfile.mkdtemp(prefix="localcloud-timing-")
    os.environ.update(ENVIRONMENT, LOCALCLOUD_STATE_DIR=state)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print(f"{'part':<58} {'run s':>6} {'reading':>8} {'ex.':>4} {'PLAN':>5}")
    try:
        for path in sorted(copies.glob("[0-9][0-9]_*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            client = NotebookClient(
                notebook,
                timeout=900,
                kernel_name="python3",
                resources={"metadata": {"path": str(copies)}},
                store_widget_state=False,
                record_timing=True,
            )
            started = time.monotonic()
            client.execute()
            whole = time.monotonic() - started
            seconds = seconds_by_section(notebook)
            seconds[None] += whole - sum(seconds.values())  # the kernel's start
            number = path.stem[:2]
            for part in (p for p in wb.PLAN if p.notebook == number):
                reading, exercises = wb.measure_reading(number, part.section)
                print(
                    f"{part.name:<58} {seconds.get(part.section, 0.0):6.1f} {reading:8.1f} "
                    f"{exercises:4d} {part.minutes:5d}",
                    flush=True,
                )
    finally:
        from helpers import localcloud

        localcloud.stop()
        shutil.rmtree(copies, ignore_errors=True)


if __name__ == "__main__":
    main()
