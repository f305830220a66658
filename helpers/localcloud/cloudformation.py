"""CloudFormation answers the way AWS does where the workbook depends on it.

moto accepts an UpdateStack that changes nothing and updates a stack in ROLLBACK_COMPLETE; AWS
refuses both with a ValidationError. The stack deployer's "no updates" path exists because of
the first, so the local cloud must answer it. moto also takes templates of any size; AWS takes
a TemplateBody of at most 51,200 bytes and a template at a TemplateURL of at most 1,000,000.
"""

from __future__ import annotations

import functools
import json

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse

from . import validation

MAX_TEMPLATE_BODY = 51_200  # bytes of TemplateBody in a request ("Template body size")
MAX_TEMPLATE_URL = 1_000_000  # bytes of a template read from S3 ("Template size in S3")
# The operations that take a TemplateBody (moto's method names)
TEMPLATE_OPERATIONS = (
    "create_stack",
    "update_stack",
    "create_change_set",
    "validate_template",
    "get_template_summary",
    "create_stack_set",
    "update_stack_set",
)

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


def _template_body_checked(operation):
    """The operation, refusing a TemplateBody over 51,200 bytes as AWS's model check does."""

    @functools.wraps(operation)
    def checked(self):
        body = self._get_param("TemplateBody")
        if isinstance(body, str) and len(body.encode("utf-8")) > MAX_TEMPLATE_BODY:
            problem = (
                f"Value '{body}' at 'templateBody' failed to satisfy constraint: Member must "
                f"have length less than or equal to {MAX_TEMPLATE_BODY}"
            )
            raise ValidationError(message=validation.message([problem]))
        return operation(self)

    checked.localcloud_checked = True
    return checked


_original_stack_from_s3_url = CloudFormationResponse._get_stack_from_s3_url


def _stack_from_s3_url(self, template_url: str) -> str:
    template = _original_stack_from_s3_url(self, template_url)
    if len(template.encode("utf-8")) > MAX_TEMPLATE_URL:
        raise ValidationError(message=f"Template may not exceed {MAX_TEMPLATE_URL} bytes in size.")
    return template


def install() -> None:
    CloudFormationBackend.update_stack = _update_stack
    CloudFormationResponse._get_stack_from_s3_url = _stack_from_s3_url
    for name in TEMPLATE_OPERATIONS:
        operation = getattr(CloudFormationResponse, name, None)
        if operation is not None and not getattr(operation, "localcloud_checked", False):
            setattr(CloudFormationResponse, name, _template_body_checked(operation))
