"""Fixed CPU work in every invocation: the subject of the memory sweep. On AWS, CPU is
allocated in proportion to memory (a full vCPU at 1769 MB), so this finishes faster with more
memory; on a laptop it doesn't."""

import hashlib
import time

WORK = 200_000  # about 0.1 s on a laptop core


def lambda_handler(event, context):
    time.sleep(event.get("hold_s", 0))
    digest = b""
    for i in range(event.get("work", WORK)):
        digest = hashlib.sha256(digest + str(i).encode()).digest()
    return {"digest": digest.hex()[:12]}
