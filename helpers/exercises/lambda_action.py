"""04: adding the Lambda action."""

from __future__ import annotations

from .. import pipelines
from ..workbook import Workbook
from ._common import say


def check_second_page_action(book: Workbook) -> None:
    """04: a second Lambda action in LambdaStage that checks another page of the site."""
    declaration = pipelines.get_declaration(book.client("codepipeline"), book.names.pipeline)
    stage = next((s for s in declaration["stages"] if s["name"] == "LambdaStage"), None)
    if stage is None:
        return say(False, "", "the pipeline has no LambdaStage yet: run the cells above.")
    others = [
        a
        for a in stage["actions"]
        if a["actionTypeId"]["provider"] == "Lambda" and a["name"] != "MyLambdaAction"
    ]
    if not others:
        return say(False, "", "add a second Lambda action to LambdaStage and update the pipeline.")
    params = others[0]["configuration"].get("UserParameters", "")
    if "about.html" not in params:
        return say(False, "", "point the second action's UserParameters at about.html.")
    return say(True, f"LambdaStage has a second check: {others[0]['name']}.", "")
