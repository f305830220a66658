"""`make notebooks`: re-execute every notebook in place against a fresh local cloud.

The notebooks run in order in one kernel environment per notebook and share one new local
cloud, as a learner going 00 -> 08 would; the outputs saved are the ones `make test` compares.
Run it twice and only sanitised values (ids, times, durations, ports) change.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# What `make test` sets for nbval too: a prefix that doesn't depend on who runs it.
ENVIRONMENT = {"WORKBOOK_TARGET": "local", "WORKBOOK_PREFIX": "workbook"}


def execute_notebook(path: Path) -> nbformat.NotebookNode:
    """Run every cell of a notebook in a new kernel, in the notebook's folder; raises
    CellExecutionError at the first failing cell. Widget state isn't saved: its ids change
    on every run."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    )
    client.execute()
    notebook.metadata.pop("widgets", None)
    return notebook


def run(paths: list[Path]) -> None:
    with tempfile.TemporaryDirectory(prefix="localcloud-notebooks-") as state:
        os.environ.update(ENVIRONMENT, LOCALCLOUD_STATE_DIR=state)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        try:
            for path in paths:
                print(f"running {path.relative_to(ROOT)}", flush=True)
                nbformat.write(execute_notebook(path), path)
        finally:
            from helpers import localcloud

            localcloud.stop()


if __name__ == "__main__":
    chosen = [ROOT / p for p in sys.argv[1:]] or NOTEBOOKS
    run(chosen)
