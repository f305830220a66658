"""03: the health-check function's exercises."""

from __future__ import annotations

import json

from ..workbook import Workbook
from ._common import page_text, say


def check_user_parameters(book: Workbook, value: str | None) -> None:
    """03: UserParameters that make the health check look for a text other than the default."""
    if not value:
        return say(False, "", "set `user_parameters` to a JSON string with url and expect.")
    try:
        params = json.loads(value)
    except ValueError:
        return say(False, "", 'use the JSON form: {"url": "...", "expect": "..."}.')
    if not isinstance(params, dict) or params.get("url") != book.site_url():
        return say(False, "", f"url must be the site's URL, {book.site_url()}.")
    expect = params.get("expect")
    if not expect or expect == "Congratulations":
        return say(False, "", "choose an expect text other than the default.")
    if expect not in page_text(params["url"]):
        return say(False, "", f"{expect!r} is not on the page, so the check would fail.")
    return say(True, f"the function would look for {expect!r}, and the page has it.", "")
