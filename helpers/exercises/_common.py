"""What every exercise check shares: one line, ✓ or what is still missing."""

from __future__ import annotations

import urllib.request


def say(ok: bool, good: str, hint: str) -> None:
    """Print the verdict (the checks return nothing, so a notebook shows just this line)."""
    print(f"✓ {good}" if ok else f"Not yet: {hint}")


def page_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as page:
        return page.read().decode("utf-8", "replace")
