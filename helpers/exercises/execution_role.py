"""02: the execution role's exercises."""

from __future__ import annotations

import json
import re
from functools import cache

from ._common import say

REPORT_ACTIONS = ("codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult")
STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "NotPrincipal",
}


def _matches(pattern: str, value: str, ignore_case: bool) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


@cache
def codepipeline_actions() -> tuple[str, ...]:
    """Every CodePipeline action IAM knows, as ``codepipeline:Name``: the API's operations
    (botocore's service model), which is what a wildcard in Action is matched against."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("codepipeline")
    return tuple(f"codepipeline:{name}" for name in model.operation_names)


def _more_than_reporting(actions: list[str]) -> str:
    """What the statement's actions allow beyond the two reports, in words; "" if nothing."""
    extra = []
    for action in actions:
        service = action.split(":", 1)[0] if ":" in action else "*"
        if "*" in service or "?" in service:  # "*", "*:*", "*:Put*"
            extra.append(f"{action!r} allows actions of every service")
            continue
        if service.lower() != "codepipeline":
            extra.append(f"{action!r} is not a CodePipeline action")
            continue
        also = [
            name
            for name in codepipeline_actions()
            if name not in REPORT_ACTIONS and _matches(action, name, ignore_case=True)
        ]
        if also:
            shown = ", ".join(name.split(":", 1)[1] for name in also[:4])
            more = f" and {len(also) - 4} more" if len(also) > 4 else ""
            extra.append(f"{action!r} also allows {shown}{more}")
    return "; ".join(extra)


def check_report_statement(statement) -> None:
    """02: a policy statement that lets a function report job results — and nothing else.

    Judged as IAM would judge it: action names match case-insensitively and with wildcards
    (``codepipeline:PutJob*`` covers both, and no other action); a job has no ARN, so IAM checks
    these two actions against the resource ``*`` and only a ``Resource`` entry matching ``*``
    allows them. In the least-privilege notebook, a wildcard that allows more (``*``,
    ``codepipeline:*``, ``codepipeline:Put*``) or another action is refused too, with what else
    it would allow.
    """
    if isinstance(statement, str):
        try:
            statement = json.loads(statement)
        except ValueError:
            return say(False, "", "`statement` is a string that isn't JSON: make it a dict.")
    if not isinstance(statement, dict):
        return say(False, "", "set `statement` to a dict with Effect, Action and Resource.")
    if "Statement" in statement:
        return say(
            False,
            "",
            "that is a whole policy document: set `statement` to one statement — a dict with "
            "Effect, Action and Resource, like each entry of its Statement list.",
        )
    unknown = sorted(set(statement) - STATEMENT_KEYS)
    if unknown:
        return say(
            False,
            "",
            f"IAM knows no statement key {', '.join(map(repr, unknown))} (keys are singular and "
            'case-sensitive: "Action", "Resource").',
        )
    if "Principal" in statement or "NotPrincipal" in statement:
        return say(
            False,
            "",
            "a Principal belongs in a trust policy (who may assume the role), not in the role's "
            "permissions policy: IAM refuses it there (MalformedPolicyDocument). Leave it out.",
        )
    if statement.get("Effect") != "Allow":
        return say(False, "", 'the statement must have "Effect": "Allow" (with that capital A).')
    if "NotAction" in statement:
        return say(
            False,
            "",
            '"NotAction" with "Allow" allows every action it doesn\'t name, in every service: '
            'name the two reports in "Action" instead.',
        )
    actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
    missing = [
        name
        for name in REPORT_ACTIONS
        if not any(_matches(a, name, ignore_case=True) for a in actions)
    ]
    if missing:
        return say(
            False,
            "",
            "Action must include PutJobSuccessResult and PutJobFailureResult; missing: "
            + ", ".join(missing)
            + ".",
        )
    extra = _more_than_reporting(actions)
    if extra:
        return say(
            False,
            "",
            f"the statement allows more than reporting: {extra}. Least privilege: the report "
            "needs exactly codepipeline:PutJobSuccessResult and codepipeline:PutJobFailureResult "
            '(or "codepipeline:PutJob*", which covers those two and nothing else); the logs '
            "permissions go in a statement of their own, on the function's log groups.",
        )
    if "NotResource" in statement:
        return say(
            False,
            "",
            '"NotResource" allows every resource it doesn\'t name; these two actions are checked '
            'against "*": write "Resource": "*".',
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
    if statement.get("Condition"):
        return say(
            False,
            "",
            "with a Condition the statement allows the reports only when it holds, and a report "
            "refused leaves the action waiting until its time-out: the reporting statement needs "
            "no Condition.",
        )
    return say(True, "the function may report both kinds of job result.", "")
