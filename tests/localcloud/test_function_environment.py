"""A function learns nothing of where the owner's key is from the environments it can read.

A function's process can read its own ``/proc/self/environ`` and, being the same user, its
parents' ``/proc/PID/environ`` and ``cmdline``: the local cloud's process, and whatever started
that. None of them may name the state directory (where ``credentials`` is) or hold the owner's
key. The function's own environment is what Lambda gives a function, and ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import localcloud

from ..conftest import Started
from .conftest import Cloud, create_function, unique, zip_bytes
from .node_kit import needs_node, node_function

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/environ").exists(), reason="no /proc to read environments from (Linux)"
)

# What a function's process is started with: Lambda's variables, where its language finds the
# package's modules, and the local cloud's endpoint
LAMBDAS_VARIABLES = {
    "PATH",
    "LANG",
    "TZ",
    "PYTHONPATH",
    "NODE_PATH",
    "NODE_OPTIONS",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "_HANDLER",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "_LAMBDA_TELEMETRY_LOG_FD",
    "AWS_ENDPOINT_URL",
}

# Its own process and every parent up to init: environment and command line, as read
PYTHON_LOOKS_AROUND = """
import os

def read(path):
    try:
        with open(path, "rb") as file:
            return file.read().decode("utf-8", "replace")
    except OSError:
        return None

def handler(event, context):
    chain, pid = [], os.getpid()
    while pid > 0:
        stat = read(f"/proc/{pid}/stat")
        if stat is None:
            break
        environ, cmdline = read(f"/proc/{pid}/environ"), read(f"/proc/{pid}/cmdline")
        chain.append({"pid": pid, "environ": environ, "cmdline": cmdline})
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain
"""
NODE_LOOKS_AROUND = """
const fs = require("fs");
const read = (path) => { try { return fs.readFileSync(path, "utf8"); } catch (_) { return null; } };
exports.handler = async () => {
  const chain = [];
  let pid = process.pid;
  while (pid > 0) {
    const stat = read(`/proc/${pid}/stat`);
    if (stat === null) break;
    const [environ, cmdline] = [read(`/proc/${pid}/environ`), read(`/proc/${pid}/cmdline`)];
    chain.push({ pid, environ, cmdline });
    pid = Number(stat.slice(stat.lastIndexOf(")") + 1).trim().split(/\\s+/)[1]);
  }
  return chain;
};
"""


def variables(environ: str) -> dict[str, str]:
    pairs = (entry.partition("=") for entry in environ.split("\0") if entry)
    return {name: value for name, _, value in pairs}


def python_function(cloud: Cloud, env: dict[str, str] | None = None) -> str:
    name = unique("env")
    create_function(
        cloud.client,
        FunctionName=name,
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": PYTHON_LOOKS_AROUND})},
        Timeout=10,
        Environment={"Variables": env or {}},
    )
    return name


def chain_of(cloud: Cloud, name: str) -> list[dict]:
    reply = cloud.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    chain = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, chain
    return chain


def assert_nothing_leads_to_the_key(chain: list[dict], state_dir: str, owner) -> None:
    """No environment or command line in the chain names the state directory or holds the
    owner's key (the state directory is where ``credentials`` is)."""
    secrets = (str(Path(state_dir).resolve()), state_dir, owner.access_key_id)
    secrets += (owner.secret_access_key,)
    read = 0
    for process in chain:
        for what in ("environ", "cmdline"):
            text = process[what]
            if text is None:
                continue  # not ours to read (another user's, init's)
            read += 1
            for secret in secrets:
                assert secret not in text, f"{what} of process {process['pid']} names {secret!r}"
    assert read >= 4, "the function's and the local cloud's process at least were read"


def assert_lambdas_variables_only(chain: list[dict], own: dict[str, str], state_dir: str):
    environ = variables(chain[0]["environ"])
    assert set(environ) - set(own) <= LAMBDAS_VARIABLES, set(environ) - LAMBDAS_VARIABLES
    assert environ["AWS_ACCESS_KEY_ID"].startswith("ASIA"), "the role's session, not a user's"
    assert not environ["LAMBDA_TASK_ROOT"].startswith(state_dir)


def test_a_python_function_sees_lambdas_variables_and_nothing_of_the_key(each_python_client):
    cloud = each_python_client
    chain = chain_of(cloud, python_function(cloud, {"MINE": "kept"}))
    assert variables(chain[0]["environ"])["MINE"] == "kept"
    assert_lambdas_variables_only(chain, {"MINE": "kept"}, cloud.state_dir)
    assert_nothing_leads_to_the_key(chain, cloud.state_dir, cloud.owner)
    assert "helpers.localcloud" in chain[1]["cmdline"], "its parent is the local cloud"


@needs_node
def test_a_nodejs_function_sees_lambdas_variables_and_nothing_of_the_key(cloud):
    name = node_function(cloud.client, cloud.roles, {"index.js": NODE_LOOKS_AROUND})
    chain = chain_of(cloud, name)
    assert_lambdas_variables_only(chain, {}, cloud.state_dir)
    assert_nothing_leads_to_the_key(chain, cloud.state_dir, cloud.owner)


def test_above_the_local_cloud_a_kernel_that_knows_the_key_is_out_of_reach(tmp_path, monkeypatch):
    """A notebook kernel (here: a stand-in) whose environment names the state directory and
    holds the owner's key — a learner ran ``eval "$(... --env)"`` before ``make lab`` — starts
    the local cloud with ``ensure_running``: the local cloud is not its child, so no function
    has it among its parents."""
    state = str(tmp_path)
    owner = localcloud.owner_credentials(state)
    kernel_env = {
        **localcloud.server_environment(),
        "LOCALCLOUD_STATE_DIR": state,
        "LOCALCLOUD_PORT": str(localcloud.free_port()),
        "AWS_ACCESS_KEY_ID": owner.access_key_id,
        "AWS_SECRET_ACCESS_KEY": owner.secret_access_key,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    kernel = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from helpers import localcloud\n"
            "print(localcloud.ensure_running(), flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=kernel_env,
        text=True,
    )
    monkeypatch.setenv("LOCALCLOUD_STATE_DIR", state)
    try:
        endpoint = kernel.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:"), "the kernel started a local cloud"
        cloud = Cloud(Started(endpoint, state, owner))
        chain = chain_of(cloud, python_function(cloud))
        assert kernel.pid not in [process["pid"] for process in chain]
        assert "helpers.localcloud" in chain[1]["cmdline"]
        assert_nothing_leads_to_the_key(chain, state, owner)
    finally:
        localcloud.stop()
        kernel.stdin.close()
        kernel.wait(10)
