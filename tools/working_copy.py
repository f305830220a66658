"""The learner's working copy of the notebooks: what `make lab` opens and `make reset` renews.

JupyterLab saves a notebook as you work, outputs and all. So `make lab` never opens the committed
notebooks in notebooks/: it opens a copy in an ignored folder (my-notebooks/ unless
WORKING_COPY says otherwise), made from notebooks/ on first run. Your copy is never overwritten;
a notebook or page added to notebooks/ later (after a git pull) is copied in beside it.
`make reset` moves your copy aside (my-notebooks.before-reset-<time>/) and makes a fresh one.
`make test` checks the committed notebooks only.

The copy also gets the repository's README.md, with its links rewritten to work from inside the
folder JupyterLab serves (contents.md links ../README.md, which JupyterLab can't serve there),
and docs/.

    python tools/working_copy.py ensure [FOLDER]
    python tools/working_copy.py reset [FOLDER]
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DEFAULT = ROOT / "my-notebooks"
PAGES = ("*.ipynb", "*.md")  # what is copied from notebooks/
LINK = re.compile(r"(\]\()([^)\s#]+)")


def _copied(folder: Path) -> list[str]:
    """Copy what notebooks/ has and the copy hasn't; returns the names copied. Notebooks are
    copied as they are; pages (contents.md) with their links rewritten."""
    copied = []
    for pattern in PAGES:
        for source in sorted(NOTEBOOKS.glob(pattern)):
            target = folder / source.name
            if target.exists():
                continue
            if source.suffix == ".md":
                target.write_text(_relinked(source.read_text(), source.parent))
            else:
                shutil.copyfile(source, target)
            copied.append(source.name)
    return copied


def _relinked(text: str, base: Path) -> str:
    """Markdown links of a page copied from ``base`` rewritten for the working copy: to the
    committed notebooks -> the copy's own; ../README.md -> the README copied beside them."""

    def target(match: re.Match) -> str:
        link = match.group(2)
        if re.match(r"[a-z]+:", link):  # http:, https:, mailto:
            return match.group(0)
        path = (base / link).resolve()
        if path.parent == NOTEBOOKS:
            return match.group(1) + path.name
        if path == ROOT / "README.md":
            return match.group(1) + "README.md"
        return match.group(0)

    return LINK.sub(target, text)


def _readme(folder: Path) -> None:
    """The repository's README, readable from inside JupyterLab, and docs/ beside it (the
    facilitator's guide, the screenshot): refreshed on every `make lab`, they aren't yours."""
    text = (ROOT / "README.md").read_text()
    (folder / "README.md").write_text(_relinked(text, ROOT))
    shutil.copytree(ROOT / "docs", folder / "docs", dirs_exist_ok=True)


def ensure(folder: Path = DEFAULT) -> str:
    """Make the working copy if it is missing, add what is new in notebooks/; one line to say
    what happened."""
    new = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    copied = _copied(folder)
    _readme(folder)
    if new:
        return (
            f"Your working copy: {_shown(folder)}/, made from notebooks/ (JupyterLab saves your "
            "work there; `make reset` starts again from fresh notebooks)."
        )
    added = f"; added from notebooks/: {', '.join(copied)}" if copied else ""
    return f"Your working copy: {_shown(folder)}/{added} (`make reset` starts again)."


def reset(folder: Path = DEFAULT) -> str:
    """Move the working copy aside and make a fresh one; one line to say where the old one is."""
    if not folder.exists():
        return ensure(folder)
    aside = folder.with_name(f"{folder.name}.before-reset-{time.strftime('%Y%m%d-%H%M%S')}")
    folder.rename(aside)
    ensure(folder)
    return (
        f"Fresh notebooks in {_shown(folder)}/; your previous copy is in {_shown(aside)}/. "
        "The local cloud still holds what you created (notebook 08 deletes it)."
    )


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("ensure", "reset") or len(argv) > 2:
        print(__doc__.rsplit("\n\n", 1)[-1], file=sys.stderr)
        return 2
    folder = Path(argv[1]) if len(argv) == 2 and argv[1] else DEFAULT
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    print((ensure if argv[0] == "ensure" else reset)(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
