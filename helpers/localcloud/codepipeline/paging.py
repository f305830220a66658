"""Pages of list operations, with opaque nextTokens that survive items added meanwhile.

A token names the last item of its page (by the key the list is sorted on) and the request it
belongs to; the next page starts after that key, so an execution started between two pages
neither repeats nor hides one. A token that isn't one of these, or belongs to another request,
gets InvalidNextTokenException.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from typing import Any

from . import exceptions as exc


def paginate(
    items: Sequence[Any],
    key: Callable[[Any], tuple],
    scope: str,
    next_token: str | None,
    max_results: int | None,
    default: int = 100,
) -> tuple[list, str | None]:
    """(the page, the token of the next page or None). ``key`` orders the items as shown;
    ``scope`` names the request (operation and its target)."""
    ordered = sorted(items, key=key)
    keys = [list(key(item)) for item in ordered]
    start = 0
    if next_token is not None:
        cursor = _cursor(next_token, scope)
        if keys and [type(v) for v in cursor] != [type(v) for v in keys[0]]:
            raise exc.InvalidNextTokenException()
        start = bisect.bisect_right(keys, cursor)
    size = max_results or default
    page = ordered[start : start + size]
    if start + size >= len(ordered):
        return page, None
    raw = json.dumps({"s": scope, "k": keys[start + size - 1]}).encode()
    return page, base64.urlsafe_b64encode(raw).decode()


def _cursor(token: str, scope: str) -> list:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        raise exc.InvalidNextTokenException() from None
    if (
        not isinstance(decoded, dict)
        or decoded.get("s") != scope
        or not isinstance(decoded.get("k"), list)
    ):
        raise exc.InvalidNextTokenException()
    return decoded["k"]
