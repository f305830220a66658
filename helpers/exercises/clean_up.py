"""08: cleaning up."""

from __future__ import annotations

from ..workbook import Workbook
from ._common import say


def check_nothing_left(book: Workbook) -> None:
    """08: clean-up left nothing behind."""
    from .cleanup import remaining

    left = remaining(book)
    return say(not left, "nothing with the workbook's prefix remains.", f"still there: {left}")
