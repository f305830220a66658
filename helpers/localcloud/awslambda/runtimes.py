"""Lambda's runtimes as the local cloud knows them, in one place: which it can run, which AWS
no longer accepts, and the runtime version each reports.

The local cloud runs ``python3.x`` functions (through a Python runtime interface client) and
``nodejs18.x``, ``nodejs20.x`` and ``nodejs22.x`` functions (through ``node_client.js``, on the
Node.js installed here: optional, 18 or newer; ``LOCALCLOUD_NODE`` names another executable).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys

from .. import arns
from .exceptions import InvalidParameterValueException, InvalidRuntimeException

# Runtime identifier prefix -> the runtime interface client that runs it here.
LOCAL_RUNTIMES = {
    "python3.": "python",
    "nodejs18.x": "node",
    "nodejs20.x": "node",
    "nodejs22.x": "node",
}
LOCAL_DESCRIPTION = "python3.x, nodejs18.x, nodejs20.x and nodejs22.x"
# The oldest Node.js that runs nodejs18.x, 20.x and 22.x functions here.
NODE_MIN_MAJOR = 18

# Runtimes AWS refuses for CreateFunction and UpdateFunctionConfiguration ("Runtime deprecation
# policy": both the "block function create" and "block function update" dates have passed, as
# of 2026-11), among them the page's nodejs10.x and python2.7.
BLOCKED = frozenset(
    {
        "nodejs",
        "nodejs4.3",
        "nodejs4.3-edge",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "nodejs12.x",
        "nodejs14.x",
        "nodejs16.x",
        "python2.7",
        "python3.6",
        "python3.7",
        "python3.8",
        "java8",
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnetcore3.1",
        "dotnet6",
        "ruby2.5",
        "ruby2.7",
        "go1.x",
        "provided",
    }
)
# What AWS's refusal recommends instead: the family's newest generally available runtime.
RECOMMENDED = {
    "nodejs": "nodejs24.x",
    "python": "python3.14",
    "java": "java25",
    "dotnet": "dotnet10",
    "ruby": "ruby3.4",
    "go": "provided.al2023",
    "provided": "provided.al2023",
}


def family(runtime: str) -> str:
    """``nodejs10.x`` -> ``nodejs``, ``dotnetcore3.1`` -> ``dotnet``, ``go1.x`` -> ``go``."""
    name = re.match(r"[a-z]*", runtime).group()
    return "dotnet" if name.startswith("dotnet") else name


def check_supported(runtime: str | None) -> None:
    """AWS's refusal of a deprecated runtime in CreateFunction or UpdateFunctionConfiguration."""
    if runtime in BLOCKED:
        raise InvalidParameterValueException.deprecated_runtime(
            runtime, RECOMMENDED.get(family(runtime))
        )


def client_for(runtime: str | None) -> str | None:
    """The kind of runtime interface client that runs ``runtime`` here, or None."""
    for prefix, client in LOCAL_RUNTIMES.items():
        if (runtime or "").startswith(prefix):
            return client
    return None


def check_runnable(runtime: str | None) -> None:
    """Invoke's error for a function the local cloud cannot run (e.g. ruby3.4, or nodejs20.x
    without Node.js 18 or newer installed): raised before anything waits for it."""
    client = client_for(runtime)
    if client is None:
        raise InvalidRuntimeException(
            f"The local cloud cannot run functions with runtime {runtime or '(none)'}: it runs "
            f"{LOCAL_DESCRIPTION} functions only (Python on Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, Node.js on the Node.js "
            "installed here). Give the function one of those runtimes, or run it on AWS "
            "(WORKBOOK_TARGET=aws)."
        )
    if client == "node":
        find_node(runtime)


_node_versions: dict[tuple[str, int], str] = {}


def node_version(executable: str) -> str:
    """``node --version`` of an executable (``v20.11.1``), remembered while the file is the same."""
    key = (executable, os.stat(executable).st_mtime_ns)
    if key not in _node_versions:
        _node_versions[key] = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    return _node_versions[key]


def _node_of_major(major: str) -> str | None:
    """A Node.js ``major`` (``22``) besides ``node``: ``node22`` on PATH, nvm's, Homebrew's
    ``node@22``; the first whose ``--version`` says so."""
    home = os.path.expanduser("~")
    found = [shutil.which(f"node{major}")]
    found += sorted(glob.glob(f"{home}/.nvm/versions/node/v{major}.*/bin/node"), reverse=True)
    found += [f"/opt/homebrew/opt/node@{major}/bin/node", f"/usr/local/opt/node@{major}/bin/node"]
    for candidate in found:
        if candidate and os.access(candidate, os.X_OK):
            try:
                if node_version(candidate).startswith(f"v{major}."):
                    return candidate
            except (OSError, subprocess.SubprocessError):
                continue
    return None


def find_node(runtime: str = "nodejs20.x") -> str:
    """The Node.js executable that runs ``runtime`` functions: ``LOCALCLOUD_NODE`` if set, else
    the runtime's own major if found (``_node_of_major``), else ``node`` on PATH; looked up at
    every invoke (installing Node.js needs no restart). Without one, 18 or newer, Invoke's
    error that says what to install."""
    wanted = os.environ.get("LOCALCLOUD_NODE") or "node"
    if wanted == "node":
        exact = _node_of_major(runtime.removeprefix("nodejs").removesuffix(".x"))
        if exact:
            return exact
    executable = shutil.which(wanted)
    found = None
    if executable is not None:
        try:
            found = node_version(executable)
        except (OSError, subprocess.SubprocessError):
            found = "a version it did not tell"
        major = re.match(r"v(\d+)\.", found or "")
        if major and int(major.group(1)) >= NODE_MIN_MAJOR:
            return executable
    if executable:
        where = f"{executable} is Node.js {found}"
    elif os.sep in wanted:
        where = f"there is no Node.js at {wanted} (LOCALCLOUD_NODE)"
    else:
        where = f"there is no {wanted!r} on PATH"
    raise InvalidRuntimeException(
        f"The local cloud runs {runtime} functions with Node.js, and {where}. Install Node.js "
        f"{NODE_MIN_MAJOR} or newer (https://nodejs.org/en/download; macOS: brew install node) "
        "and invoke again, or run the function on AWS (WORKBOOK_TARGET=aws)."
    )


def runtime_version(runtime: str, region: str) -> tuple[str, str]:
    """(``python:3.12.vNN``, ``nodejs:20.vNN``, and its runtime version ARN), as INIT_START and
    GetFunction show them; made up, but the same for the same runtime every time."""
    digest = hashlib.sha256(f"localcloud:{runtime}".encode()).hexdigest()
    language = family(runtime)
    number = runtime[len(language) :].removesuffix(".x")
    name = f"{language}:{number}.v{int(digest[:4], 16) % 90 + 10}"
    return name, arns.runtime_version_arn(region, digest)
