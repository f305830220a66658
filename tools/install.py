"""`make setup`: install the workbook's packages into .venv with a progress line, not pip's log.

The first install takes a minute or two. pip --quiet says nothing for all that time, and pip
without it prints hundreds of lines and a setuptools banner about editable installs that a
learner can do nothing about. This runs pip, keeps its whole output in .venv/install.log,
and shows one line of progress; if pip fails, it shows the end of the log and where the rest is.
Then, where Node.js is installed, npm installs the AWS SDK v3 clients that Lambda's Node.js
runtimes bundle, for the local cloud's Node.js functions (without it, setup says so).

    .venv/bin/python tools/install.py [EXTRA]     # EXTRA: an optional group, e.g. browser
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = Path(sys.prefix) / "install.log"
STEP = re.compile(r"^(Collecting|Downloading|Using cached|Building wheel|Installing collected)\b")


def _pip(arguments: list[str], log, show) -> int:
    """Run pip, its output to ``log``; ``show(line)`` for each line that marks progress."""
    command = [sys.executable, "-m", "pip", *arguments, "--progress-bar", "off"]
    log.write(f"$ {' '.join(command)}\n")
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as pip:
        for line in pip.stdout:
            log.write(line)
            if STEP.match(line):
                show(line.strip())
    return pip.returncode


class Progress:
    """One line, rewritten in place on a terminal; a line every few seconds elsewhere (CI)."""

    def __init__(self) -> None:
        self.packages = 0
        self.started = time.monotonic()
        self.last_printed = 0.0
        self.tty = sys.stdout.isatty()

    def __call__(self, line: str) -> None:
        if line.startswith("Collecting"):
            self.packages += 1
        if line.startswith("Installing collected"):
            what = f"{self.packages} packages" if self.packages else "the workbook"
            text = f"installing {what} (the last step; it says nothing for a bit)"
        else:
            name = line.split()[1] if len(line.split()) > 1 else ""
            text = f"collecting packages: {self.packages} so far ({name})"
        elapsed = time.monotonic() - self.started
        if self.tty:
            print(f"\r  [{elapsed:4.0f} s] {text[:90]:<90}", end="", flush=True)
        elif elapsed - self.last_printed >= 10 or line.startswith("Installing collected"):
            print(f"  [{elapsed:4.0f} s] {text}", flush=True)
            self.last_printed = elapsed

    def done(self) -> None:
        if self.tty:
            print()


def main(argv: list[str]) -> int:
    target = f".[{argv[0]}]" if argv else "."
    progress = Progress()
    with LOG.open("w") as log:
        code = _pip(["install", "--upgrade", "pip"], log, lambda _: None)
        if code == 0:
            code = _pip(["install", "--prefer-binary", "--editable", target], log, progress)
    progress.done()
    if code != 0:
        tail = LOG.read_text().splitlines()[-25:]
        print("\n".join(["pip failed; the end of its output:", *tail]), file=sys.stderr)
        print(f"The whole of it: {LOG}", file=sys.stderr)
        return code
    print(f"  {_node_sdk()}")
    return 0


def _node_sdk() -> str:
    """The AWS SDK v3 clients Lambda's Node.js runtimes bundle, for the local cloud's Node.js
    functions; where npm is absent or fails, setup still succeeds and says so.

    A new interpreter does it: this one started before pip installed the workbook's packages,
    so neither they nor ``helpers`` (an editable install, read at start-up) are importable here."""
    code = (
        "import sys\n"
        "from helpers.localcloud.awslambda.interpreters import install_node_sdk\n"
        "with open(sys.argv[1], 'a') as log:\n"
        "    print(install_node_sdk(log=log))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(LOG)], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip().splitlines()[-1]
    reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"Node.js functions: no AWS SDK v3 for them ({reason})."


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
