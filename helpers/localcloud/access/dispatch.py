"""moto's dispatch held to the operation the gate allowed: what IAM was asked about is what runs.

The gate reads each request once, strictly (``operations.identify``), and asks IAM about that
operation. moto then reads the request again to choose what to run — the query's or the form's
first ``Action``, else ``X-Amz-Target``, else its route table — and a second reading that can
disagree is a hole. So at the point where moto has chosen the action and would ask its own
access control (``ActionAuthenticatorMixin``, called from ``BaseResponse.call_action`` and from
every S3 handler), the local cloud takes over the question: the service and operation moto is
about to run must be the ones the gate identified for this request, or the request is refused.
A request the server received that reaches moto without having passed the gate is refused too
(fail closed). moto used in-process through its ``mock_aws`` decorator (the functions' unit
tests), which no request to the local cloud's port can reach, keeps moto's own check.

moto's S3 names its actions coarsely (a ``PUT ?encryption`` is its ``CreateBucket``), so for
S3 only the service is compared; the gate's S3 reading is strict on its own (a request whose
query keys select more than one operation is refused before it gets here).
"""

from __future__ import annotations

from moto.core.authorization import ActionAuthenticatorMixin

from ..errors import AwsError
from .operations import SERVICE_MODELS

CALLER_KEY = "localcloud.caller"  # the WSGI environ key the server stores the Caller under
SERVED_KEY = "localcloud.served"  # set on every request the local cloud's server receives
REFUSED_KEY = "localcloud.refused"  # where a refusal made inside moto's dispatch is kept


class DispatchRefused(Exception):
    """moto was about to run something else than what the gate allowed; the refusal to send
    is in the environ under REFUSED_KEY (moto's Flask app turns exceptions into 500s)."""


def _environ(response) -> dict:
    request = getattr(response, "normalized_request", None)
    return getattr(request, "environ", None) or {}


def _refuse(environ: dict, protocol: str, message: str) -> None:
    code = "AccessDeniedException" if protocol in ("json", "rest-json") else "AccessDenied"
    status = 400 if protocol == "json" else 403
    refused = AwsError(code, message, status)
    refused.protocol = protocol  # type: ignore[attr-defined]
    environ[REFUSED_KEY] = refused
    raise DispatchRefused(message)


def _held(response, action: str | None) -> None:
    """Refuse unless moto is about to run the gate's operation (``action`` None: compare only
    the service)."""
    environ = _environ(response)
    caller = environ.get(CALLER_KEY)
    if caller is None:
        _refuse(environ, "rest-xml", "The request did not pass the local cloud's gate.")
    operation = caller.operation
    if operation is None:  # the gate lets only a signed caller through so, and only --no-iam
        if caller.principal is None:
            _refuse(environ, "rest-xml", "The request names no operation the gate allowed.")
        return
    service = SERVICE_MODELS.get(operation.service, operation.service)
    chosen = response.boto3_service_name
    if chosen != service or (action is not None and action != operation.name):
        _refuse(
            environ,
            operation.protocol,
            f"The request was allowed as {operation.service}:{operation.name}, but reads as "
            f"{chosen}:{action or '(S3)'} too; the local cloud refuses requests that can be "
            "read as two operations.",
        )


_moto_normal_action = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
_moto_s3_action = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action


def _normal_action(self, resource: str = "*") -> None:
    if not _environ(self).get(SERVED_KEY):
        # moto used in-process (its mock_aws decorator), not through the local cloud's port
        return _moto_normal_action(self, resource)
    _held(self, self._get_action())


def _s3_action(self, bucket_name: str | None = None, key_name: str | None = None) -> None:
    if not _environ(self).get(SERVED_KEY):
        return _moto_s3_action(self, bucket_name, key_name)
    _held(self, None)


_installed = False


def install() -> None:
    """Replace moto's access-control hooks (``ActionAuthenticatorMixin``'s two methods) with
    the check above. moto's own check runs only with INITIAL_NO_AUTH_ACTION_COUNT set and reads
    the request a third way; the gate has already authenticated and authorized."""
    global _installed
    if _installed:
        return
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = _normal_action
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = _s3_action
    _installed = True
