"""The same module imported inside the handler: INIT is short, and the first invocation of
each environment pays the import in its Duration instead (later ones find it imported)."""

import time


def lambda_handler(event, context):
    time.sleep(event.get("hold_s", 0))
    import slow_dependency  # first use: imported once per environment, then cached

    return {"fingerprint": slow_dependency.fingerprint()}
