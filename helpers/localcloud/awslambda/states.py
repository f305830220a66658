"""Function states as AWS reports them: Pending after CreateFunction, LastUpdateStatus
InProgress after each update, both for a moment.

On AWS a new function is ``Pending`` until Lambda has set it up, and an update leaves
``LastUpdateStatus: InProgress`` until it is applied; meanwhile Lambda refuses some calls
(``ResourceConflictException``), so code must wait (the ``function_active_v2`` and
``function_updated_v2`` waiters). moto reports every function ``Active`` and ``Successful`` at
once; ``install()`` patches its ``LambdaFunction`` so that the local cloud goes through the
same states, for ``SETTLE_S`` only, and code written against it waits where AWS needs it to.
"""

from __future__ import annotations

import time

from moto.awslambda.models import LambdaFunction

from .runtimes import client_for, runtime_version

SETTLE_S = 0.2  # how long a creation or an update takes here
CREATING = {"Reason": "The function is being created.", "ReasonCode": "Creating"}


def pending(fn: LambdaFunction) -> bool:
    """The function is still being created (State Pending)."""
    return time.monotonic() < getattr(fn, "_localcloud_pending_until", 0.0)


def updating(fn: LambdaFunction) -> bool:
    """An update is being applied (LastUpdateStatus InProgress)."""
    return time.monotonic() < getattr(fn, "_localcloud_updating_until", 0.0)


def _settle_later(fn: LambdaFunction, attribute: str) -> None:
    setattr(fn, attribute, time.monotonic() + SETTLE_S)


def state_fields(fn: LambdaFunction, on_create: bool) -> dict:
    """State, LastUpdateStatus and their reasons, as GetFunction and the write calls show them."""
    if pending(fn):
        return {
            "State": "Pending",
            "StateReason": CREATING["Reason"],
            "StateReasonCode": CREATING["ReasonCode"],
        }
    if on_create:
        return {"State": "Active"}
    if updating(fn):
        return {
            "State": "Active",
            "LastUpdateStatus": "InProgress",
            "LastUpdateStatusReason": CREATING["Reason"],
            "LastUpdateStatusReasonCode": CREATING["ReasonCode"],
        }
    return {"State": "Active", "LastUpdateStatus": "Successful"}


def install() -> None:
    """Patch moto's LambdaFunction (once per process)."""
    if getattr(LambdaFunction, "_localcloud_states", False):
        return
    moto = {
        name: getattr(LambdaFunction, name)
        for name in (
            "__init__",
            "get_configuration",
            "update_configuration",
            "update_function_code",
            "set_version",
        )
    }

    def created(self, *args, **kwargs) -> None:
        moto["__init__"](self, *args, **kwargs)
        _settle_later(self, "_localcloud_pending_until")

    def get_configuration(self, on_create: bool = False) -> dict:
        config = moto["get_configuration"](self, on_create)
        for key in ("LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
            config.pop(key, None)
        config.update(state_fields(self, on_create))
        if client_for(self.run_time):
            _, arn = runtime_version(self.run_time, self.region)
            config["RuntimeVersionConfig"] = {"RuntimeVersionArn": arn}
        return config

    def update_configuration(self, config_updates: dict) -> dict:
        environment = config_updates.get("Environment")
        if isinstance(environment, dict):  # moto needs Variables; AWS lets it out (= none)
            config_updates = {
                **config_updates,
                "Environment": {"Variables": environment.get("Variables") or {}},
            }
        _settle_later(self, "_localcloud_updating_until")
        return moto["update_configuration"](self, config_updates)

    def update_function_code(self, updated_spec: dict) -> dict:
        if not updated_spec.get("DryRun"):
            _settle_later(self, "_localcloud_updating_until")
        return moto["update_function_code"](self, updated_spec)

    def set_version(self, version: int) -> None:
        # a published version is a settled copy of $LATEST
        moto["set_version"](self, version)
        self._localcloud_pending_until = self._localcloud_updating_until = 0.0

    LambdaFunction.__init__ = created
    LambdaFunction.get_configuration = get_configuration
    LambdaFunction.update_configuration = update_configuration
    LambdaFunction.update_function_code = update_function_code
    LambdaFunction.set_version = set_version
    LambdaFunction._localcloud_states = True
