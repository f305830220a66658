"""08: cleaning up."""

from __future__ import annotations

from ..cleanup import remaining
from ..workbook import Workbook
from ._common import say


def check_nothing_left(book: Workbook) -> None:
    """08: clean-up left nothing behind — the artifact store included."""
    left = remaining(book)
    if f"bucket {book.names.artifact_bucket}" in left:
        return say(
            False,
            "",
            f"the artifact store {book.names.artifact_bucket} is still there: empty it (every "
            "object version) and delete it.",
        )
    return say(not left, "nothing with the workbook's prefix remains.", f"still there: {left}")
