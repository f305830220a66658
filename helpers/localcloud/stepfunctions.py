"""Step Functions executions that run: moto's state-machine interpreter, behind the lock.

moto keeps Step Functions executions RUNNING for ever unless its interpreter (its Step Functions
"parser", ported from LocalStack) is switched on; with it on, a Task state calls the services it
names through boto3. On AWS those calls are made with the state machine's role (assumed by
``states.amazonaws.com``); here too: each client the interpreter makes is signed with a session
of the execution's role and sent to this local cloud, so IAM decides what a Task may do and an
unidentified caller never gets in.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import boto3
from botocore.config import Config

STATES_SERVICE = "states.amazonaws.com"
SESSION_S = 3600


def install(endpoint: str, issue_session: Callable[..., dict]) -> None:
    """Switch moto's interpreter on, its clients signed with the execution's role.

    ``issue_session(role_arn, session_name, seconds, service=...)`` is the gate's: with IAM
    enforced it refuses a role whose trust policy doesn't name states.amazonaws.com."""
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.asl.utils import boto_client

    def boto_client_for(region: str, service: str, state_credentials=None):
        role = getattr(state_credentials, "role_arn", None)
        session = issue_session(role, "states-execution", SESSION_S, service=STATES_SERVICE)
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id=session["AccessKeyId"],
            aws_secret_access_key=session["SecretAccessKey"],
            aws_session_token=session["SessionToken"],
            config=Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=900),
        )

    # the interpreter's modules import the function by name: replace it in the source module
    # before they load, and in any that already did
    boto_client.boto_client_for = boto_client_for
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    import moto.stepfunctions.parser.models  # noqa: F401

    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and hasattr(module, "boto_client_for"):
            module.boto_client_for = boto_client_for
