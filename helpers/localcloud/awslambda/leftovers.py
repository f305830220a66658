"""Execution environments a killed local cloud left behind, ended by the next start.

Each environment is a process in a session of its own. When the local cloud is killed
(SIGKILL, a crash), an environment waiting for its next event notices and exits, but one in
the middle of an invocation — sleeping, looping — keeps running: nothing enforces its timeout
any more. So the runtime records the environments it starts in the state directory
(``environments.json``), and the next local cloud on that directory ends those still running
before it serves anything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

CLIENT_MARKERS = (b"awslambdaric", b"python_client.py", b"node_client.js")


def is_environment(pid: int) -> bool:
    """Whether ``pid`` is a Lambda execution environment (not a process that reused its id)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return b"AWS_LAMBDA_RUNTIME_API=" in environ.read()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return False  # Linux: no such process
    except OSError:
        return False
    try:  # macOS: no /proc
        command = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="], capture_output=True, check=False
        ).stdout
    except OSError:
        return False
    return any(marker in command for marker in CLIENT_MARKERS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EnvironmentRecord:
    """The process groups of the environments started from one state directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._pids: set[int] = set()

    def end_leftovers(self) -> int:
        """End the environments a previous local cloud left running; how many."""
        try:
            pids = json.loads(self.path.read_text())
        except (OSError, ValueError):
            pids = []
        ended = 0
        for pid in pids if isinstance(pids, list) else []:
            if isinstance(pid, int) and pid > 1 and is_environment(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                    ended += 1
                except (ProcessLookupError, PermissionError):
                    pass
        self._write()
        return ended

    def started(self, pid: int) -> None:
        """Record a new environment (and forget those that have ended)."""
        with self._lock:
            self._pids = {p for p in self._pids if _alive(p)} | {pid}
            self._write()

    def _write(self) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(sorted(self._pids)))
        os.replace(partial, self.path)
