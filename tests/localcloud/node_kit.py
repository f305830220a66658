"""Building blocks of the Node.js runtime tests: functions from source text, invoking them, their
logs, and the packages that bundle an SDK (npm installs each once; `build/npm` keeps it).

Tests that run Node.js functions are marked ``needs_node``: without Node.js 18 or newer they are
skipped, saying so. Those that bundle an SDK also skip when npm can't install it (offline).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest

from helpers import packaging
from helpers.localcloud.awslambda import runtimes
from helpers.localcloud.errors import AwsError

from .conftest import create_function, log_messages, unique, zip_bytes


def _node_missing() -> str | None:
    try:
        runtimes.find_node()
    except AwsError as missing:
        return missing.message
    return None


NODE_MISSING = _node_missing()
needs_node = pytest.mark.skipif(
    NODE_MISSING is not None,
    reason=f"no Node.js to run Node.js functions: {NODE_MISSING}",
)

# Where npm is installed, `make setup` must have installed the SDK v3 clients: a test needing
# them checks they are there (a missing one fails), it is not skipped.
needs_sdk = pytest.mark.skipif(
    shutil.which("npm") is None, reason="no npm here, so `make setup` installs no AWS SDK v3"
)


def node_function(
    aws,
    roles,
    code: dict[str, str] | bytes,
    handler: str = "index.handler",
    runtime: str = "nodejs20.x",
    timeout: int = 5,
    env: dict[str, str] | None = None,
) -> str:
    """A Node.js function from {file: source} (or a zip), Active; returns its name."""
    name = unique("node")
    create_function(
        aws,
        FunctionName=name,
        Runtime=runtime,
        Role=roles["lambda"],
        Handler=handler,
        Code={"ZipFile": code if isinstance(code, bytes) else zip_bytes(code)},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    return name


def invoke(aws, name: str, payload=None) -> tuple[dict, object, list[str]]:
    """Invoke synchronously: (response, decoded payload, the log tail's lines)."""
    response = aws("lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload or {}).encode(), LogType="Tail"
    )
    body = response["Payload"].read()
    tail = base64.b64decode(response["LogResult"]).decode().splitlines()
    return response, json.loads(body) if body else None, tail


def log_lines(aws, name: str) -> list[str]:
    """Every event of the function's log group, stream by stream, oldest first."""
    return sum(log_messages(aws, name), [])


def record_of(line: str) -> dict:
    """The JSON after the last tab of an "Invoke Error" / "Uncaught Exception" line."""
    return json.loads(line.rsplit("\t", 1)[1])


def npm_installed(package: str):
    """``node_modules`` with ``package`` in it, or the test is skipped saying why."""
    missing = packaging.node_tools_missing()
    if missing:
        pytest.skip(f"bundling {package} needs Node.js and npm: {missing}")
    try:
        return packaging.npm_install(package)
    except (RuntimeError, OSError, subprocess.SubprocessError) as failed:
        pytest.skip(f"npm could not install {package} (is the npm registry reachable?): {failed}")


@pytest.fixture(scope="session", name="page_packages")
def page_packages_fixture() -> dict[str, bytes]:
    """The page's sample as printed: ``verbatim`` (index.js alone) and ``bundled`` (with
    aws-sdk v2 in node_modules, as `npm install aws-sdk@2` puts it there)."""
    sample = packaging.page_node_sample()
    modules = npm_installed("aws-sdk@2")
    return {
        "verbatim": packaging.node_package({"index.js": sample}),
        "bundled": packaging.node_package({"index.js": sample}, modules),
    }
