"""02: the execution role's exercises."""

from __future__ import annotations

from ._common import say

REPORT_ACTIONS = {"codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"}


def check_report_statement(statement: dict | None) -> None:
    """02: a policy statement that lets a function report job results."""
    if not isinstance(statement, dict):
        return say(False, "", "set `statement` to a dict with Effect, Action and Resource.")
    actions = statement.get("Action", [])
    actions = {actions} if isinstance(actions, str) else set(actions)
    covered = all(
        a in actions or "codepipeline:PutJob*" in actions or "codepipeline:*" in actions
        for a in REPORT_ACTIONS
    )
    if statement.get("Effect") != "Allow":
        return say(False, "", 'the statement must have "Effect": "Allow".')
    if not covered:
        return say(False, "", "Action must include PutJobSuccessResult and PutJobFailureResult.")
    if statement.get("Resource") not in ("*", ["*"]):
        return say(
            False,
            "",
            'PutJob*Result support no resource-level permissions: "Resource" must be "*" '
            "(a pipeline ARN would make every report fail with AccessDenied).",
        )
    return say(True, "the function may report both kinds of job result.", "")
