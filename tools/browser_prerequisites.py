"""`make test-browser`: make sure Playwright and a Chromium are there before the browser test.

Playwright for Python is installed into .venv (the ``browser`` extra of pyproject.toml). It
drives the system's Chromium: `playwright install` downloads its own browsers, which needs a
network that CI machines and classrooms may not have. On Debian the package is ``chromium``;
run as root, this installs it with apt-get, otherwise it says what to install. A Chromium
elsewhere can be named with CHROMIUM=/path/to/chromium.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MISSING = """The browser test needs Chromium, which isn't installed.
  Debian:  sudo apt-get install chromium
  Ubuntu:  its chromium package is a snap, which Playwright can't drive from a terminal session:
           install Google Chrome (google-chrome-stable) instead
  macOS:   install Google Chrome, then
           CHROMIUM="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" make test-browser
Then run `make test-browser` again."""


def chromium() -> str | None:
    """The Chromium the test will drive: $CHROMIUM, else the first of NAMES on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return next((shutil.which(name) for name in NAMES if shutil.which(name)), None)


def _install_chromium() -> bool:
    """apt-get install chromium, where this runs as root on a Debian-like system."""
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    print("Installing Debian's chromium package with apt-get (a few minutes)...", flush=True)
    quiet = {
        "stdout": subprocess.DEVNULL,
        "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    }
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
    return subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], **quiet).returncode == 0


def main() -> int:
    if importlib.util.find_spec("playwright") is None:
        print("Installing Playwright for Python into .venv...", flush=True)
        code = subprocess.run([sys.executable, str(ROOT / "tools" / "install.py"), "browser"])
        if code.returncode != 0:
            return code.returncode
    found = chromium()
    if found is None and not os.environ.get("CHROMIUM") and _install_chromium():
        found = chromium()
    if found is None:
        if os.environ.get("CHROMIUM"):
            print(f"CHROMIUM={os.environ['CHROMIUM']} is not a file.", file=sys.stderr)
        else:
            print(MISSING, file=sys.stderr)
        return 1
    print(f"Browser test: Playwright drives {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
