"""Memory as a limit: a watchdog that stops an execution environment past its MemorySize.

Lambda runs a function in a sandbox with MemorySize of memory, the runtime included; a function
that needs more is killed (SIGKILL), its invocation fails with ``Runtime exited with error:
signal: killed`` and the REPORT line says ``Status: error`` and ``Error Type:
Runtime.OutOfMemory``. A local process has no such limit: RLIMIT_AS bounds address space, not
memory (a Python runtime reserves far more than it uses), and macOS doesn't enforce it. So the
watchdog samples the process's memory every few milliseconds while the function runs (its
init, its invocations), checks it once more when the runtime posts a result or asks for its
next event, and kills the process group once it is over MemorySize.

On Linux it reads the kernel's high-water mark of the process's resident memory (VmHWM in
/proc/PID/status), so a spike between two samples is still seen, one sample late. Elsewhere
(macOS) it reads the resident memory itself, through psutil (Jupyter installs it) or else
``ps``: a spike shorter than a sample can go unseen there. The README says what else the local
limit can't reproduce ("Where the local cloud differs").
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

try:  # installed with Jupyter (ipykernel needs it); used where there is no /proc
    import psutil
except ImportError:  # pragma: no cover - then `ps` is
    psutil = None

SAMPLE_S = 0.005  # a process writing new memory flat out adds some tens of MB in this time
PS_SAMPLE_S = 0.05  # each `ps` sample starts a process


def _high_water_kb(pid: int) -> int | None:
    """Linux: the most resident memory the process has had (VmHWM), in KiB."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for row in status:
                if row.startswith(b"VmHWM:"):
                    return int(row.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return None  # gone, or a zombie (which has no memory lines)


def _psutil_kb(pid: int) -> int | None:
    try:
        return psutil.Process(pid).memory_info().rss // 1024
    except (psutil.Error, OSError):
        return None


def _ps_kb(pid: int) -> int | None:
    try:
        out = subprocess.run(
            ["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        return int(out) if out else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


# memory_kb(pid): a process's memory in KiB as the limit sees it, or None once it has ended
memory_kb: Callable[[int], int | None]
if sys.platform.startswith("linux") and os.path.exists("/proc/self/status"):
    memory_kb, INTERVAL_S = _high_water_kb, SAMPLE_S
elif psutil is not None:
    memory_kb, INTERVAL_S = _psutil_kb, SAMPLE_S
else:
    memory_kb, INTERVAL_S = _ps_kb, PS_SAMPLE_S


class MemoryWatch:
    """Samples one process's memory while ``watch()``ed; past ``limit_mb`` it calls
    ``on_exceeded`` once (which kills the process) and stops. ``peak_kb`` is the highest
    sample, kept after the process has gone (its /proc entry goes with it)."""

    def __init__(self, limit_mb: int, on_exceeded: Callable[[], None]):
        self.pid: int | None = None
        self.limit_kb = limit_mb * 1024
        self.peak_kb = 0
        self.exceeded = False
        self._on_exceeded = on_exceeded
        self._once = threading.Lock()
        self._running = threading.Event()  # the function is running: init or an invocation
        self._stopped = False

    def follow(self, pid: int) -> None:
        """Start sampling ``pid``, whose init phase is running."""
        self.pid = pid
        self._running.set()
        threading.Thread(target=self._sample, daemon=True, name=f"memory-{pid}").start()

    def watch(self) -> None:
        """The function runs (its init, an invocation): sample."""
        self._running.set()

    def pause(self) -> None:
        """The runtime waits for its next event (Lambda freezes the sandbox then)."""
        self._running.clear()

    def stop(self) -> None:
        self._stopped = True
        self._running.set()

    def check(self) -> bool:
        """Sample now (the runtime posts a result, or asks for its next event): True if the
        process is over its limit, and so being stopped."""
        if not self.exceeded and self.pid is not None:
            self._measure()
        return self.exceeded

    def _measure(self) -> bool:
        """One sample; False once the process has ended or is over its limit."""
        kb = memory_kb(self.pid)
        if kb is None:
            return False
        self.peak_kb = max(self.peak_kb, kb)
        if kb <= self.limit_kb:
            return True
        with self._once:
            if not self.exceeded:
                self.exceeded = True
                self._on_exceeded()
        return False

    def _sample(self) -> None:
        while True:
            self._running.wait()
            if self._stopped or self.exceeded or not self._measure():
                return
            time.sleep(INTERVAL_S)
