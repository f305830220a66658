"""The zero-install routes work: Codespaces / Dev Containers (.devcontainer/) and Binder (start).

The fast tests read the files. The slow ones copy the repository as a fresh checkout would have
it (the files git tracks or would track: no .venv, no .localcloud), run the dev container's
postCreateCommand and postStartCommand there and prove the local cloud answers; then run the
Binder ``start`` script the way repo2docker does. They build a .venv from PyPI (pip's cache
makes repeat runs quicker) and use their own state folder and port, so they never touch the
developer's own local cloud.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVCONTAINER = ROOT / ".devcontainer" / "devcontainer.json"
HEALTH_PATH = "/_localcloud/health"
SETUP_TIMEOUT_S = 600


def devcontainer() -> dict:
    """devcontainer.json, which may hold // comments (JSON with comments)."""
    lines = DEVCONTAINER.read_text().splitlines()
    return json.loads("\n".join(line for line in lines if not line.lstrip().startswith("//")))


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+):(?!=)", text, flags=re.MULTILINE))


def lifecycle_commands() -> dict[str, list[str]]:
    """postCreateCommand and postStartCommand as argument lists (string, list or object form)."""
    commands = {}
    for key in ("postCreateCommand", "postStartCommand"):
        value = devcontainer()[key]
        parts = value.values() if isinstance(value, dict) else [value]
        for index, part in enumerate(parts):
            commands[f"{key}[{index}]"] = shlex.split(part) if isinstance(part, str) else part
    return commands


def test_devcontainer_commands_are_make_targets_or_scripts_that_exist():
    targets = make_targets()
    for name, argv in lifecycle_commands().items():
        if argv[0] == "make":
            missing = [t for t in argv[1:] if "=" not in t and t not in targets]
            assert not missing, f"{name}: no Makefile target {missing}"
        else:
            script = ROOT / argv[0]
            assert script.is_file() and os.access(script, os.X_OK), f"{name}: {argv[0]}"


def test_devcontainer_opens_the_first_notebook_with_the_workbooks_python():
    config = devcontainer()
    assert re.search(r"python:.*3\.1[1-9]", config["image"]), "a Python 3.11+ image"
    assert 8888 in config["forwardPorts"]
    assert config["portsAttributes"]["8888"]["label"]
    vscode = config["customizations"]["vscode"]
    assert {"ms-python.python", "ms-toolsai.jupyter"} <= set(vscode["extensions"])
    assert vscode["settings"]["python.defaultInterpreterPath"].endswith("/.venv/bin/python")
    for path in config["customizations"]["codespaces"]["openFiles"]:
        assert (ROOT / path).is_file(), path
    assert (
        "notebooks/00_welcome_and_setup.ipynb"
        in config["customizations"]["codespaces"]["openFiles"]
    )


def test_binder_start_script_is_executable_posix_and_ends_by_exec():
    start = ROOT / "start"
    assert os.access(start, os.X_OK)
    text = start.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "python -m helpers.localcloud --ensure" in text
    code = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert code[-1] == 'exec "$@"'
    for shell in ("bash", "sh"):  # sh: POSIX syntax (dash on Debian)
        subprocess.run([shell, "-n", str(start)], check=True)


def test_readme_links_binder_to_the_first_notebook():
    readme = (ROOT / "README.md").read_text()
    assert (
        "https://mybinder.org/v2/gh/OWNER/REPO/HEAD"
        "?urlpath=lab/tree/notebooks/00_welcome_and_setup.ipynb"
    ) in readme


# --- slow: a fresh checkout, set up and started as the dev container and Binder do --------


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=5) as reply:
            return json.load(reply).get("status") == "ok"
    except (OSError, ValueError):
        return False


def _endpoint(output: str) -> str:
    found = re.findall(r"http://127\.0\.0\.1:\d+", output)
    assert found, f"no endpoint printed:\n{output}"
    return found[-1]


class Checkout:
    """A fresh copy of the repository with its own local-cloud state folder and port."""

    def __init__(self, path: Path, state: Path):
        self.path = path
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTHONPATH"}
        }
        self.env["LOCALCLOUD_STATE_DIR"] = str(state)
        self.env["LOCALCLOUD_PORT"] = str(_free_port())
        # the Python running these tests (3.11+), whatever python3 is on PATH
        self.env["PYTHON"] = sys.executable

    def run(self, argv: list[str], timeout: float = 120, env: dict | None = None):
        return subprocess.run(
            argv,
            cwd=self.path,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop_local_cloud(self) -> None:
        python = self.path / ".venv" / "bin" / "python"
        if python.exists():
            self.run([str(python), "-m", "helpers.localcloud", "--stop"])


def _copy_as_checked_out(destination: Path) -> None:
    """The files a clone would hold once the working tree is committed (tracked and not
    ignored), so uncommitted work is tested too; a clean CI clone gives the same files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("needs git and make")
    if not _pypi_reachable():
        pytest.skip("needs PyPI to install a fresh .venv")
    base = tmp_path_factory.mktemp("install-route")
    _copy_as_checked_out(base / "repo")
    fresh = Checkout(base / "repo", base / "state")
    try:
        yield fresh
    finally:
        fresh.stop_local_cloud()


def test_devcontainer_lifecycle_commands_leave_a_running_local_cloud(checkout):
    commands = lifecycle_commands()
    create = checkout.run(commands["postCreateCommand[0]"], timeout=SETUP_TIMEOUT_S)
    assert create.returncode == 0, create.stdout + create.stderr
    assert "Installing the workbook's packages into .venv" in create.stdout
    assert (checkout.path / ".venv" / ".installed").exists()

    started = checkout.run(commands["postStartCommand[0]"])
    assert started.returncode == 0, started.stdout + started.stderr
    endpoint = _endpoint(started.stdout)
    assert endpoint.endswith(":" + checkout.env["LOCALCLOUD_PORT"])
    assert _healthy(endpoint)

    checkout.stop_local_cloud()
    assert not _healthy(endpoint)


def test_binder_start_script_starts_the_local_cloud_then_execs_its_arguments(checkout):
    if not (checkout.path / ".venv" / ".installed").exists():
        pytest.skip("needs the set-up of the test above")
    env = dict(checkout.env)
    env["PATH"] = f"{checkout.path / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    ran = checkout.run(["./start", "true"], env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    endpoint = _endpoint(ran.stdout)
    assert _healthy(endpoint)

    # exec: the command replaces the script (same process id) and its exit code is the script's
    process = subprocess.Popen(
        ["./start", "sh", "-c", 'echo "pid=$$"; exit 7'],
        cwd=checkout.path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 7
    assert f"pid={process.pid}" in output
    assert _endpoint(output) == endpoint  # the running local cloud is reused

    checkout.stop_local_cloud()
    assert not _healthy(endpoint)
