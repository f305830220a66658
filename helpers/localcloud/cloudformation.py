"""CloudFormation answers the way AWS does where the workbook depends on it.

moto accepts an UpdateStack that changes nothing and updates a stack in ROLLBACK_COMPLETE; AWS
refuses both with a ValidationError. The stack deployer's "no updates" path exists because of
the first, so the local cloud must answer it.
"""

from __future__ import annotations

import json

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend

_original_update_stack = CloudFormationBackend.update_stack


def _same_template(old: str, new: str) -> bool:
    if old == new:
        return True
    try:
        return json.loads(old) == json.loads(new)
    except (TypeError, ValueError):
        return False


def _update_stack(self, name, template, role_arn, parameters, tags):  # moto's signature
    stack = self.get_stack(name)
    if stack.status == "ROLLBACK_COMPLETE":
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
        )
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    unchanged_tags = tags is None or dict(tags) == dict(stack.tags or {})
    if (
        _same_template(stack.template, template)
        and dict(resolved or {}) == dict(stack.parameters or {})
        and unchanged_tags
    ):
        raise ValidationError(message="No updates are to be performed.")
    return _original_update_stack(self, name, template, role_arn, parameters, tags)


def install() -> None:
    CloudFormationBackend.update_stack = _update_stack
