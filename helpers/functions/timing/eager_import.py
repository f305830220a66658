"""The heavy module imported at module level: the import runs in the INIT phase, once per
execution environment (Init Duration), and no invocation waits for it."""

import time

import slow_dependency


def lambda_handler(event, context):
    time.sleep(event.get("hold_s", 0))  # keeps the environment busy (the concurrency test)
    return {"fingerprint": slow_dependency.fingerprint()}
