"""Checks for the notebooks' exercises: each says ✓ or what is still missing."""

from __future__ import annotations

import json
import urllib.request

from . import pipelines
from .workbook import Workbook

REPORT_ACTIONS = {"codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"}


def _say(ok: bool, good: str, hint: str) -> None:
    """Print the verdict (the checks return nothing, so a notebook shows just this line)."""
    print(f"✓ {good}" if ok else f"Not yet: {hint}")


def check_report_statement(statement: dict | None) -> None:
    """02: a policy statement that lets a function report job results."""
    if not isinstance(statement, dict):
        return _say(False, "", "set `statement` to a dict with Effect, Action and Resource.")
    actions = statement.get("Action", [])
    actions = {actions} if isinstance(actions, str) else set(actions)
    covered = all(
        a in actions or "codepipeline:PutJob*" in actions or "codepipeline:*" in actions
        for a in REPORT_ACTIONS
    )
    if statement.get("Effect") != "Allow":
        return _say(False, "", 'the statement must have "Effect": "Allow".')
    if not covered:
        return _say(False, "", "Action must include PutJobSuccessResult and PutJobFailureResult.")
    if statement.get("Resource") not in ("*", ["*"]):
        return _say(
            False,
            "",
            'PutJob*Result support no resource-level permissions: "Resource" must be "*" '
            "(a pipeline ARN would make every report fail with AccessDenied).",
        )
    return _say(True, "the function may report both kinds of job result.", "")


def _page_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as page:
        return page.read().decode("utf-8", "replace")


def check_user_parameters(book: Workbook, value: str | None) -> None:
    """03: UserParameters that make the health check look for a text other than the default."""
    if not value:
        return _say(False, "", "set `user_parameters` to a JSON string with url and expect.")
    try:
        params = json.loads(value)
    except ValueError:
        return _say(False, "", 'use the JSON form: {"url": "...", "expect": "..."}.')
    if not isinstance(params, dict) or params.get("url") != book.site_url():
        return _say(False, "", f"url must be the site's URL, {book.site_url()}.")
    expect = params.get("expect")
    if not expect or expect == "Congratulations":
        return _say(False, "", "choose an expect text other than the default.")
    if expect not in _page_text(params["url"]):
        return _say(False, "", f"{expect!r} is not on the page, so the check would fail.")
    return _say(True, f"the function would look for {expect!r}, and the page has it.", "")


def check_second_page_action(book: Workbook) -> None:
    """04: a second Lambda action in LambdaStage that checks another page of the site."""
    declaration = pipelines.get_declaration(book.client("codepipeline"), book.names.pipeline)
    stage = next((s for s in declaration["stages"] if s["name"] == "LambdaStage"), None)
    if stage is None:
        return _say(False, "", "the pipeline has no LambdaStage yet: run the cells above.")
    others = [
        a
        for a in stage["actions"]
        if a["actionTypeId"]["provider"] == "Lambda" and a["name"] != "MyLambdaAction"
    ]
    if not others:
        return _say(False, "", "add a second Lambda action to LambdaStage and update the pipeline.")
    params = others[0]["configuration"].get("UserParameters", "")
    if "about.html" not in params:
        return _say(False, "", "point the second action's UserParameters at about.html.")
    return _say(True, f"LambdaStage has a second check: {others[0]['name']}.", "")


def check_different_text_release(book: Workbook) -> None:
    """05: the latest release checked a text other than Congratulations, and passed."""
    codepipeline = book.client("codepipeline")
    summaries = codepipeline.list_pipeline_executions(pipelineName=book.names.pipeline)[
        "pipelineExecutionSummaries"
    ]
    if not summaries:
        return _say(False, "", "release a change first.")
    latest = summaries[0]
    details = pipelines.action_executions(
        codepipeline, book.names.pipeline, latest["pipelineExecutionId"]
    )
    checks = [d for d in details if d["actionName"] == "MyLambdaAction"]
    if not checks:
        return _say(False, "", "the latest release has no MyLambdaAction run yet.")
    params = checks[-1]["input"]["configuration"].get("UserParameters", "")
    if "expect" not in params:
        return _say(False, "", "the action's UserParameters still use the default text.")
    if latest["status"] != "Succeeded":
        return _say(False, "", f"the latest release is {latest['status']}; make it pass.")
    return _say(True, "the latest release checked your text and passed.", "")


def check_stack_updated(book: Workbook) -> None:
    """06: the stack went through an update (a changed template was released)."""
    cloudformation = book.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=book.names.stack)["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        return _say(False, "", "the stack doesn't exist yet: release the pipeline.")
    if stack["StackStatus"] != "UPDATE_COMPLETE":
        return _say(
            False, "", f"the stack is {stack['StackStatus']}; upload a changed template, release."
        )
    return _say(True, "the stack was updated from your changed template.", "")


def check_nothing_left(book: Workbook) -> None:
    """08: clean-up left nothing behind."""
    from .cleanup import remaining

    left = remaining(book)
    return _say(not left, "nothing with the workbook's prefix remains.", f"still there: {left}")
