"""04: adding the Lambda action."""

from __future__ import annotations

import json

from .. import pipelines
from ..workbook import Workbook
from ._common import page_text, say

DEFAULT_EXPECT = "Congratulations"  # what the health check looks for without "expect"


def _url_and_expect(user_parameters: str) -> tuple[str, str] | None:
    """(url, text) as the health check reads UserParameters: a URL, or JSON {"url", "expect"}."""
    text = user_parameters.strip()
    if not text.startswith("{"):
        return text, DEFAULT_EXPECT
    try:
        params = json.loads(text)
    except ValueError:
        return None
    if not isinstance(params, dict) or not isinstance(params.get("url"), str):
        return None
    expect = params.get("expect", DEFAULT_EXPECT)
    return (params["url"], expect) if isinstance(expect, str) and expect else None


def check_second_page_action(book: Workbook) -> None:
    """04: a second Lambda action in LambdaStage that checks about.html for a text it has.

    Reads the pipeline as stored (GetPipeline), so the edit counts only once UpdatePipeline
    saved it; the text is looked up on the deployed page, as the function would.
    """
    codepipeline = book.client("codepipeline")
    declaration = codepipeline.get_pipeline(name=book.names.pipeline)["pipeline"]
    stage = next((s for s in declaration["stages"] if s["name"] == "LambdaStage"), None)
    if stage is None:
        return say(False, "", "the pipeline has no LambdaStage yet: run the cells above.")
    others = [
        a
        for a in stage["actions"]
        if a["actionTypeId"] == pipelines.LAMBDA_INVOKE and a["name"] != "MyLambdaAction"
    ]
    if not others:
        misplaced = [
            (s["name"], a["name"])
            for s in declaration["stages"]
            if s["name"] != "LambdaStage"
            for a in s["actions"]
            if a["actionTypeId"] == pipelines.LAMBDA_INVOKE
            and a["name"] not in ("MyLambdaAction", "DeployStack")
        ]
        if misplaced:
            stage_name, action_name = misplaced[0]
            return say(
                False,
                "",
                f"{action_name} is in the {stage_name} stage, not LambdaStage: there it runs "
                "beside the stage's other actions, before the site is deployed. Remove it from "
                f'{stage_name} and add it with pipelines.add_action(declaration, "LambdaStage", '
                "action), then update_pipeline.",
            )
        return say(
            False,
            "",
            "LambdaStage has only MyLambdaAction: add a second Lambda action with "
            "pipelines.add_action and save the declaration with update_pipeline.",
        )
    action = next((a for a in others if a["name"] == "CheckAboutPage"), others[0])
    configuration = action.get("configuration", {})
    if configuration.get("FunctionName") != book.names.health_function:
        return say(
            False,
            "",
            f"{action['name']} must invoke the health check, {book.names.health_function}.",
        )
    parsed = _url_and_expect(configuration.get("UserParameters", ""))
    about = book.site_url("about.html")
    if parsed is None or parsed[0] != about:
        return say(
            False,
            "",
            f"{action['name']}'s UserParameters must point at {about} "
            '(the URL, or JSON {"url": ..., "expect": ...}).',
        )
    url, expect = parsed
    if expect not in page_text(url):
        return say(
            False,
            "",
            f"about.html doesn't contain {expect!r}, so the action would fail: set "
            '"expect" to a text the page has (pipelines.user_parameters(url, expect)).',
        )
    return say(True, f"LambdaStage has a second check: {action['name']} looks for {expect!r}.", "")
