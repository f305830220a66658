"""The memory watch alone, on plain processes: it kills a process group once its memory is over
the limit, leaves one under it alone, and each way of reading memory (Linux's high-water mark
in /proc, psutil on macOS, ``ps`` where neither is there) reads the same process alike; on
Linux a spike the sampler missed is still caught at the next check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from helpers.localcloud.awslambda import memory


def python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def watched(process: subprocess.Popen, limit_mb: int) -> memory.MemoryWatch:
    def kill() -> None:
        os.killpg(process.pid, signal.SIGKILL)

    watch = memory.MemoryWatch(limit_mb, kill)
    watch.follow(process.pid)
    return watch


def test_a_process_past_its_limit_is_killed():
    process = python("import time\ndata = b'x' * (200 * 1024 * 1024)\ntime.sleep(30)")
    watch = watched(process, 64)
    assert process.wait(20) == -signal.SIGKILL
    assert watch.exceeded and watch.peak_kb > 64 * 1024


def test_a_process_under_its_limit_runs_to_its_end():
    process = python("import time\ndata = b'x' * (20 * 1024 * 1024)\ntime.sleep(0.3)")
    watch = watched(process, 256)
    assert process.wait(20) == 0
    assert not watch.exceeded and 20 * 1024 < watch.peak_kb < 256 * 1024


def test_a_paused_watch_doesnt_sample():
    process = python("import time\ntime.sleep(0.5)\ndata = b'x' * (100 * 1024 * 1024)")
    watch = watched(process, 64)
    watch.pause()  # as while the runtime waits for its next event
    assert process.wait(20) == 0 and not watch.exceeded
    watch.stop()


@pytest.mark.parametrize("reader", ["_high_water_kb", "_psutil_kb", "_ps_kb"])
def test_every_reader_reads_resident_memory(reader):
    read = getattr(memory, reader)
    if reader == "_high_water_kb" and not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc here")
    if reader == "_psutil_kb" and memory.psutil is None:
        pytest.skip("psutil is not installed here")
    process = python("import time\ndata = b'x' * (50 * 1024 * 1024)\ntime.sleep(5)")
    try:
        deadline = time.monotonic() + 10
        while (read(process.pid) or 0) < 50 * 1024:
            assert time.monotonic() < deadline, f"{reader} never saw the 50 MB"
            time.sleep(0.02)
        assert read(process.pid) < 200 * 1024
    finally:
        process.kill()
        process.wait()
    assert read(process.pid) is None, "an ended process has no memory"


@pytest.mark.skipif(
    memory.memory_kb is not memory._high_water_kb, reason="Linux's high-water mark only"
)
def test_on_linux_a_spike_between_samples_is_caught_at_the_next_check():
    process = subprocess.Popen(
        [sys.executable, "-c", SPIKE], stdout=subprocess.PIPE, start_new_session=True
    )
    watch = memory.MemoryWatch(64, lambda: os.killpg(process.pid, signal.SIGKILL))
    watch.follow(process.pid)
    watch.pause()  # the sampler is held off, as a busy machine might hold it
    assert process.stdout.readline() == b"freed\n"
    assert watch.check(), "the kernel kept the peak: the check at the boundary sees it"
    assert process.wait(20) == -signal.SIGKILL


SPIKE = """
data = b'x' * (100 * 1024 * 1024)
del data
print("freed", flush=True)
import time
time.sleep(30)
"""
