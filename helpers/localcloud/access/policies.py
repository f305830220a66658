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


def trusts_service(trust_policy, service: str) -> bool:
    """Whether a role's trust policy lets ``service`` (e.g. lambda.amazonaws.com) assume it."""
    try:
        document = _as_dict(trust_policy)
    except ValueError:
        return False
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    trusted = False
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(_Statement._match(a, "sts:AssumeRole") for a in actions if isinstance(a, str)):
            continue
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        named = principal == "*" or service in services
        if named and statement.get("Effect") == "Deny":
            return False
        trusted = trusted or (named and statement.get("Effect") == "Allow")
    return trusted


def role_trust_policy(account: str, role_arn: str):
    """The trust policy of a role by ARN, or None if there is no such role."""
    try:
        return _backend(account).get_role_by_arn(role_arn).assume_role_policy_document
    except Exception:
        return None
