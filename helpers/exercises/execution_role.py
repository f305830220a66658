"""02: the execution role's exercises."""

from __future__ import annotations

import re

from ._common import say

REPORT_ACTIONS = ("codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult")


def _matches(pattern: str, value: str, ignore_case: bool) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def check_report_statement(statement: dict | None) -> None:
    """02: a policy statement that lets a function report job results.

    Judged as IAM would judge it: action names match case-insensitively and with wildcards
    (``codepipeline:PutJob*`` covers both); a job has no ARN, so IAM checks these two actions
    against the resource ``*`` and only a ``Resource`` entry matching ``*`` allows them.
    """
    if not isinstance(statement, dict):
        return say(False, "", "set `statement` to a dict with Effect, Action and Resource.")
    if statement.get("Effect") != "Allow":
        return say(False, "", 'the statement must have "Effect": "Allow" (with that capital A).')
    actions = _as_list(statement.get("Action"))
    missing = [
        name
        for name in REPORT_ACTIONS
        if not any(_matches(a, name, ignore_case=True) for a in actions if isinstance(a, str))
    ]
    if missing:
        return say(
            False,
            "",
            "Action must include PutJobSuccessResult and PutJobFailureResult; missing: "
            + ", ".join(missing)
            + ".",
        )
    resources = _as_list(statement.get("Resource"))
    if not any(_matches(r, "*", ignore_case=False) for r in resources if isinstance(r, str)):
        return say(
            False,
            "",
            'PutJob*Result support no resource-level permissions: "Resource" must be "*". '
            'A job has no ARN, so IAM checks these calls against "*"; a statement naming a '
            "pipeline's ARN matches nothing and allows nothing. The function's report is then "
            "refused with AccessDeniedException, and the action fails after its time-out with "
            '"The AWS Lambda function … failed to return a result".',
        )
    return say(True, "the function may report both kinds of job result.", "")
