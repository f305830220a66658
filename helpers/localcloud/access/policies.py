"""IAM policy evaluation: moto's evaluator, with its matching made AWS's.

moto's ``IAMPolicy`` walks the statements and applies "an explicit Deny wins, else an Allow
permits, else denied"; what it gets wrong is patched here: action names are case-insensitive,
``?`` matches one character, regex characters in ARNs are literal, and ``NotResource`` is
honoured (moto treats a statement without ``Resource`` as matching everything). Identity
policy statements with a ``Condition`` are skipped: there is no request context to test them
against (moto would turn each into a Deny).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from moto.iam import access_control
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends

from ..arns import assumed_role_arn


class _Statement(access_control.IAMPolicyStatement):
    """moto's statement evaluation with AWS's wildcard rules."""

    @staticmethod
    def _match(pattern: str, string: str):
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        is_arn = pattern.startswith("arn:") or string.startswith("arn:")
        flags = 0 if is_arn else re.IGNORECASE  # action names are case-insensitive, ARNs not
        return re.match(f"^{regex}$", string, flags)

    def is_action_permitted(self, action, resource="*", principal=None, conditions=None):
        if "Condition" in self._statement:
            # A statement whose condition doesn't hold (or can't be tested: the local cloud
            # knows only iam:PassedToService) neither allows nor denies; moto would deny.
            if conditions is None or not self._check_conditions(conditions):
                return PermissionResult.NEUTRAL
            statement = {k: v for k, v in self._statement.items() if k != "Condition"}
            return _Statement(statement).is_action_permitted(action, resource, principal, None)
        if "NotResource" in self._statement and "Resource" not in self._statement:
            if self._check_element_matches("NotResource", resource):
                return PermissionResult.NEUTRAL
            statement = {**self._statement, "Resource": "*"}
            del statement["NotResource"]
            return _Statement(statement).is_action_permitted(
                action, resource, principal, conditions
            )
        return super().is_action_permitted(action, resource, principal, conditions)


access_control.IAMPolicyStatement = _Statement  # IAMPolicy builds its statements by this name


@dataclass(frozen=True)
class Principal:
    """Who made a request: an IAM user or a session of an assumed role."""

    account: str
    kind: str  # "user" or "assumed-role"
    name: str  # user name or role name
    session: str | None = None

    @property
    def arn(self) -> str:
        if self.kind == "user":
            return f"arn:aws:iam::{self.account}:user/{self.name}"
        return assumed_role_arn(self.account, self.name, self.session or "")


def _backend(account: str):
    return iam_backends[account]["aws"]


def identity_policies(principal: Principal) -> list:
    """Every identity policy of the principal, in a form moto's IAMPolicy reads."""
    backend = _backend(principal.account)
    policies: list = []
    if principal.kind == "user":
        try:
            user = backend.get_user(principal.name)
        except Exception:
            return []
        policies += [json.dumps(_as_dict(d)) for d in user.policies.values()]
        policies += list(user.managed_policies.values())
        for group in backend.get_groups_for_user(principal.name):
            policies += [json.dumps(_as_dict(d)) for d in group.policies.values()]
            policies += list(group.managed_policies.values())
        return policies
    try:
        role = backend.get_role(principal.name)
    except Exception:
        return []  # a deleted role's sessions may do nothing
    policies += [json.dumps(_as_dict(d)) for d in role.policies.values()]
    policies += list(role.managed_policies.values())
    return policies


def _as_dict(document) -> dict:
    return json.loads(document) if isinstance(document, str) else document


def evaluate(
    principal: Principal, action: str, resource: str, conditions: dict | None = None
) -> str:
    """``allowed``, ``explicit`` (an explicit Deny) or ``implicit`` (nothing allows it): what the
    principal's identity policies say about ``action`` on ``resource``."""
    allowed = False
    for policy in identity_policies(principal):
        try:
            result = IAMPolicy(policy).is_action_permitted(action, resource, None, conditions)
        except (KeyError, TypeError, ValueError):
            continue  # a malformed document allows nothing
        if result == PermissionResult.DENIED:
            return "explicit"
        allowed = allowed or result == PermissionResult.PERMITTED
    return "allowed" if allowed else "implicit"


def _statements(document) -> list[dict]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    statements = [statements] if isinstance(statements, dict) else statements
    return [s for s in statements if isinstance(s, dict)]


def _as_strings(value) -> list[str]:
    value = [value] if isinstance(value, str) else value
    return [v for v in value or [] if isinstance(v, str)] if isinstance(value, list) else []


# What a trust statement's principal matched: the caller by its own ARN (or "*"), which is a
# grant on its own; the caller's account, which leaves the grant to its identity policies.
NAMED, ACCOUNT = "named", "account"


def _principal_match(principal, caller: Principal | None, service: str | None) -> str | None:
    """How a trust statement's Principal names the caller (a principal, or a service)."""
    if principal == "*":
        return NAMED
    if not isinstance(principal, dict):
        return None
    if service is not None:
        return NAMED if service in _as_strings(principal.get("Service")) else None
    if caller is None:
        return None
    names = _as_strings(principal.get("AWS"))
    if "*" in names:
        return NAMED
    own = {caller.arn}
    if caller.kind == "assumed-role":  # a session is named by its role's ARN too
        own.add(f"arn:aws:iam::{caller.account}:role/{caller.name}")
    if own & set(names):
        return NAMED
    if {caller.account, f"arn:aws:iam::{caller.account}:root"} & set(names):
        return ACCOUNT
    return None


CONDITION_OPERATORS = ("StringEquals", "StringLike", "ArnEquals", "ArnLike")


def _trust_conditions_hold(statement: dict, context: dict[str, str]) -> bool:
    """The conditions of a trust statement the local cloud can test: StringEquals, StringLike,
    ArnEquals and ArnLike on the keys of ``context`` (sts:ExternalId, aws:SourceAccount,
    aws:SourceArn, aws:PrincipalArn…). Any other condition is taken not to hold, so a
    statement that depends on one grants nothing here (fail closed)."""
    for operator, tests in (statement.get("Condition") or {}).items():
        if operator not in CONDITION_OPERATORS or not isinstance(tests, dict):
            return False
        for key, wanted in tests.items():
            value = context.get(key.lower())
            patterns = _as_strings(wanted)
            if value is None or not patterns:
                return False
            if operator.endswith("Equals") and value not in patterns:
                return False
            if operator.endswith("Like") and not any(_Statement._match(p, value) for p in patterns):
                return False
    return True


def trust_verdict(
    trust_policy,
    caller: Principal | None = None,
    service: str | None = None,
    context: dict[str, str] | None = None,
) -> str | None:
    """What a role's trust policy says about ``caller`` (or ``service``) assuming it: NAMED
    (a statement allows the caller itself, or everyone), ACCOUNT (it allows the caller's
    account: the caller's identity policies must allow sts:AssumeRole too), ``"deny"`` (a Deny
    statement names it), or None (nothing allows it)."""
    try:
        document = _as_dict(trust_policy)
    except (TypeError, ValueError):
        return None
    context = {k.lower(): v for k, v in (context or {}).items()}
    verdict = None
    for statement in _statements(document):
        actions = _as_strings(statement.get("Action"))
        if not any(_Statement._match(a, "sts:AssumeRole") for a in actions):
            continue
        match = _principal_match(statement.get("Principal"), caller, service)
        if match is None or not _trust_conditions_hold(statement, context):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        if statement.get("Effect") == "Allow" and verdict != NAMED:
            verdict = match
    return verdict


def trusts_service(trust_policy, service: str, context: dict[str, str] | None = None) -> bool:
    """Whether a role's trust policy lets ``service`` (e.g. lambda.amazonaws.com) assume it;
    ``context``: what the service says about itself (aws:SourceAccount, aws:SourceArn)."""
    return trust_verdict(trust_policy, service=service, context=context) == NAMED


def role_trust_policy(account: str, role_arn: str):
    """The trust policy of a role by ARN, or None if there is no such role."""
    try:
        return _backend(account).get_role_by_arn(role_arn).assume_role_policy_document
    except Exception:
        return None
