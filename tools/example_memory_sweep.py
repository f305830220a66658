"""Write data/timings/aws_memory_sweep.csv: the example AWS memory sweep 07's exercise reads.

ILLUSTRATIVE DATA, NOT MEASURED: REPORT lines in Lambda's documented format for an imagined
function doing fixed CPU work, from Lambda's documented CPU allocation (in proportion to memory,
one vCPU at 1769 MB) and billing rule. Seeded, so running it again writes the same file.

    python tools/example_memory_sweep.py
"""

from __future__ import annotations

import csv
import io
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "timings" / "aws_memory_sweep.csv"
SIZES = (128, 256, 512, 1024, 1536, 1769, 3008)
PER_SIZE = 21  # the first a cold start: 20 warm invocations per size, enough for a p90
FUNCTION = "wb-example-timing-busy-work"

HEADER = f"""\
# ILLUSTRATIVE DATA, NOT MEASURED. Lambda REPORT lines of an imagined memory sweep on AWS:
# one function doing fixed CPU work (like helpers/functions/timing/busy_work.py), invoked {PER_SIZE}
# times at each memory size (the first invocation a cold start, then {PER_SIZE - 1} warm ones).
# Built by tools/example_memory_sweep.py from the documented REPORT format (Lambda developer
# guide, "Monitoring and troubleshooting Lambda functions": REPORT RequestId, Duration, Billed
# Duration, Memory Size, Max Memory Used, Init Duration on a cold start) and from documented
# behaviour: CPU in proportion to memory up to one vCPU at 1769 MB, more vCPUs above that
# (which single-threaded code doesn't use); billed duration rounded up to 1 ms, the init phase
# billed on a cold start since 2025-08-01. The durations are Duration = 20 ms + 120 ms x
# max(1, 1769 / memory), times noise of -7 % to +8 %.
# Use it for the exercise in notebook 07; measure your own function for real decisions.
"""


def duration_ms(memory: int, rng: random.Random) -> float:
    return (20 + 120 * max(1.0, 1769 / memory)) * rng.uniform(0.93, 1.08)


def report(rng: random.Random, memory: int, cold: bool) -> tuple[str, float]:
    request_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    duration = round(duration_ms(memory, rng), 2)
    init = round(rng.uniform(290, 360), 2) if cold else None
    billed = max(1, math.ceil(duration + (init or 0)))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: "
        f"{billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {rng.randint(52, 58)} MB"
    )
    if init is not None:
        line += f"\tInit Duration: {init:.2f} ms"
    return line, duration + (init or 0)


def rows(seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    now = datetime(2026, 11, 20, 10, 0, 2, 93000, tzinfo=UTC)
    out = []
    for memory in SIZES:
        stream = f"2026/11/20/[$LATEST]{rng.getrandbits(128):032x}"
        for n in range(PER_SIZE):
            line, took_ms = report(rng, memory, cold=n == 0)
            stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            out.append([stamp, FUNCTION, stream, line])
            now += timedelta(milliseconds=took_ms + rng.uniform(300, 900))
        now += timedelta(seconds=rng.uniform(15, 25))  # UpdateFunctionConfiguration, settling
    return out


def text() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "function", "log_stream", "message"])
    writer.writerows(rows())
    return HEADER + buffer.getvalue()


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT.relative_to(ROOT)}")
