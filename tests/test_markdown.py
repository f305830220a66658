"""The workbook's Markdown reads as written in JupyterLab and on GitHub, and its navigation
works from inside the folder JupyterLab serves.

JupyterLab typesets text between two dollar signs as LaTeX: "$0.002 a minute ... $1 per month"
became "0.002aminute…". Every $ of a price must be written \\$ (outside code), in the
notebooks' Markdown cells, their Markdown outputs, and the pages a learner opens in JupyterLab
(contents.md, the README and docs/, which `make lab` copies beside the notebooks).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGES = [ROOT / "notebooks" / "contents.md", ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def markdown_of(path: Path) -> list[tuple[str, str]]:
    """(where, text) of each piece of Markdown: a page, or a notebook's cells and outputs."""
    if path.suffix == ".md":
        return [(path.name, path.read_text())]
    notebook = nbformat.read(path, as_version=4)
    pieces = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            pieces.append((f"{path.name} cell {index}", cell.source))
        for output in cell.get("outputs", []):
            if "text/markdown" in output.get("data", {}):
                pieces.append((f"{path.name} cell {index} output", output.data["text/markdown"]))
    return pieces


def unescaped_dollars(text: str) -> list[str]:
    """Each $ outside code that isn't written \\$, with what surrounds it."""
    prose = CODE.sub("", text)
    return [prose[max(0, m.start() - 30) : m.end() + 30] for m in re.finditer(r"(?<!\\)\$", prose)]


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=lambda p: p.name)
def test_dollar_signs_are_escaped_so_nothing_renders_as_latex(path):
    found = {where: unescaped_dollars(text) for where, text in markdown_of(path)}
    assert not {where: found for where, found in found.items() if found}


def test_the_contents_page_lists_every_notebook_in_order():
    contents = (ROOT / "notebooks" / "contents.md").read_text()
    linked = re.findall(r"\]\((\d\d_[^)]+\.ipynb)\)", contents)
    assert linked == [p.name for p in NOTEBOOKS]
    assert "](../README.md)" in contents, "the README, which `make lab` copies beside it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_links_the_contents_page_first_and_last(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in (notebook.cells[0], notebook.cells[-1]):
        assert "[Contents](contents.md)" in cell.source
    assert "../README.md" not in "\n".join(c.source for c in notebook.cells), (
        "outside what JupyterLab serves: a dead click"
    )
