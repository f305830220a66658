"""What a function's process runs on and can import, as close to Lambda's runtimes as this
machine allows.

Python: a ``python3.12`` function runs on a Python 3.12 found here (PATH, pyenv, uv, Homebrew),
else on the local cloud's own Python, and INIT_START says which one runs. It imports only the
standard library, its own package (the task root, first on ``sys.path`` as ``/var/task`` is)
and what Lambda's Python runtimes bundle: boto3, botocore and their dependencies, and the
runtime interface client. Those come from a runtime folder of the local cloud's own
(``<venv>/lambda-runtime/python-<digest>``), made once from the installed distributions, never
from the venv's site-packages: the process starts with ``python -I -S`` (no PYTHONPATH, no user
or site-packages) and a launcher that sets ``sys.path`` and runs the client.

Node.js: a ``nodejs22.x`` function runs on Node.js 22 if found (``LOCALCLOUD_NODE``, ``node22``,
nvm, Homebrew's ``node@22``), else on the installed ``node``; it resolves modules from its own
``node_modules``, then the AWS SDK v3 clients `make setup` installs into
``<venv>/lambda-runtime/node/node_modules``, as ``/var/runtime/node_modules`` on AWS.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import NamedTuple

# What Lambda's Python runtimes bundle besides the standard library (and the client).
PYTHON_BUNDLED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)
# LOCALCLOUD_LAMBDA_RUNTIME: another place for it (the venv may be read-only, or shared).
RUNTIME_HOME = Path(
    os.environ.get("LOCALCLOUD_LAMBDA_RUNTIME") or Path(sys.prefix) / "lambda-runtime"
)
NODE_MODULES = RUNTIME_HOME / "node" / "node_modules"
# A useful part of the AWS SDK for JavaScript v3 that Lambda's nodejs18.x and newer bundle.
NODE_SDK = tuple(
    f"@aws-sdk/client-{name}@^3"
    for name in (
        "s3",
        "lambda",
        "codepipeline",
        "cloudformation",
        "sfn",
        "sts",
        "iam",
        "cloudwatch-logs",
        "dynamodb",
        "sqs",
        "sns",
    )
)

# Run by ``python -I -S -c``: argv is task root, runtime folder, client, handler. The task root
# comes first, the runtime folder after the standard library, as /var/task and /var/runtime.
LAUNCHER = """\
import runpy, site, sys
task_root, runtime, client, handler = sys.argv[1:5]
sys.path.insert(0, task_root)
sys.path.append(runtime)
site.setquit(); site.setcopyright(); site.sethelper()
if client == "awslambdaric":
    sys.argv = ["awslambdaric", handler]
    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
else:
    sys.argv = [client, handler]
    runpy.run_path(client, run_name="__main__")
"""


def _distributions(names) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``names`` and everything they require, each once."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = re.split(r"[ ;<>=!~\[(]", todo.pop(), maxsplit=1)[0]
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found[key] = dist
        todo += [r for r in dist.requires or () if "extra ==" not in r]
    return list(found.values())


def _top_level(dist: importlib.metadata.Distribution) -> set[str]:
    """The files and folders a distribution installs at the top of site-packages."""
    names = set()
    for file in dist.files or ():
        parts = file.parts
        if parts and parts[0] not in ("..", "__pycache__") and not parts[0].endswith(".pth"):
            names.add(parts[0])
    return names


def _copy(source: Path, target: Path) -> None:
    """Hard links where the file system allows (fast, no space), else copies."""

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link, symlinks=True)
    else:
        link(source, target)


_folder_lock = threading.Lock()
_folders: dict[bool, str] = {}


def python_runtime_folder(with_awslambdaric: bool = True) -> str:
    """The runtime folder (made on first use): the bundled packages, awslambdaric and what it
    requires. Named after their versions, so an upgrade makes a new one; made in a temporary
    folder and renamed into place, so two local clouds making it at once both end up with a
    whole one."""
    with _folder_lock:
        if with_awslambdaric in _folders:
            return _folders[with_awslambdaric]
        names = PYTHON_BUNDLED + (("awslambdaric",) if with_awslambdaric else ())
        dists = sorted(_distributions(names), key=lambda d: d.metadata["Name"].lower())
        digest = hashlib.sha256(
            repr([(d.metadata["Name"], d.version) for d in dists] + [sys.version]).encode()
        ).hexdigest()[:12]
        home = RUNTIME_HOME if _writable(RUNTIME_HOME) else _fallback_home()
        folder = home / f"python-{digest}"
        if not folder.is_dir():
            home.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=".building-", dir=home))
            try:
                for dist in dists:
                    base = Path(dist.locate_file(""))
                    for name in _top_level(dist):
                        if (base / name).exists() and not (building / name).exists():
                            _copy(base / name, building / name)
                try:
                    os.replace(building, folder)
                except OSError:
                    if not folder.is_dir():  # not another local cloud's doing
                        raise
            finally:
                shutil.rmtree(building, ignore_errors=True)
        _folders[with_awslambdaric] = str(folder)
        return str(folder)


def _writable(path: Path) -> bool:
    while not path.exists():
        path = path.parent
    return os.access(path, os.W_OK)


def _fallback_home() -> Path:
    return Path(tempfile.gettempdir()) / f"localcloud-lambda-runtime-{os.getuid()}"


class Python(NamedTuple):
    executable: str
    version: str  # "3.12.1"
    exact: bool  # the runtime's own version


_pythons: dict[str, Python] = {}
_python_lock = threading.Lock()


def _candidates(minor: str) -> list[str]:
    """Where a ``python3.12`` may be: PATH, then pyenv's, uv's and Homebrew's usual places."""
    home = os.path.expanduser("~")
    found = [shutil.which(f"python{minor}")]
    found += sorted(glob.glob(f"{home}/.pyenv/versions/{minor}.*/bin/python{minor}"), reverse=True)
    found += sorted(
        glob.glob(f"{home}/.local/share/uv/python/cpython-{minor}.*/bin/python{minor}"),
        reverse=True,
    )
    found += [
        f"/opt/homebrew/opt/python@{minor}/bin/python{minor}",
        f"/usr/local/opt/python@{minor}/bin/python{minor}",
        f"/usr/bin/python{minor}",
    ]
    return [c for c in dict.fromkeys(found) if c and os.access(c, os.X_OK)]


def _probe(executable: str, minor: str, folder: str) -> Python | None:
    """The interpreter's real path and version, if it is ``minor`` and boto3 imports on it
    from the runtime folder."""
    code = (
        "import sys; sys.path.append(sys.argv[1]); import boto3, botocore.session; "
        "print(sys.executable); print(sys.version.split()[0])"
    )
    try:
        done = subprocess.run(
            [executable, "-I", "-S", "-c", code, folder],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2 or not lines[1].startswith(minor + "."):
        return None
    return Python(lines[0], lines[1], True)


def own_python() -> Python:
    return Python(sys.executable, sys.version.split()[0], False)


def find_python(runtime: str) -> Python:
    """The interpreter that runs ``runtime`` (``python3.12``) functions, found once."""
    minor = runtime.removeprefix("python")
    own = own_python()
    if minor == f"{sys.version_info.major}.{sys.version_info.minor}":
        return own._replace(exact=True)
    with _python_lock:
        if minor not in _pythons:
            folder = python_runtime_folder(with_awslambdaric=False)
            found = (_probe(c, minor, folder) for c in _candidates(minor))
            _pythons[minor] = next((p for p in found if p), own)
        return _pythons[minor]


class Launch(NamedTuple):
    command: list[str]
    client: str  # the Python client that runs: awslambdaric only on the local cloud's Python
    note: str  # what INIT_START adds when the runtime's version is not what runs ("" if it is)


def python_launch(
    runtime: str, client: str, handler: str, task_root: str, builtin_client: str, exact=True
) -> Launch:
    """How to start a Python function's process. ``exact`` False keeps awslambdaric on the local
    cloud's own interpreter (it is compiled for that one only) when it was asked for by name."""
    python = find_python(runtime) if exact or client != "awslambdaric" else own_python()
    if python.executable != sys.executable and not python.exact:
        python = own_python()
    if python.executable != sys.executable:
        client = "builtin"  # awslambdaric's compiled part is for the local cloud's Python only
    folder = python_runtime_folder(with_awslambdaric=client == "awslambdaric")
    program = "awslambdaric" if client == "awslambdaric" else builtin_client
    command = [python.executable, "-I", "-S", "-c", LAUNCHER, task_root, folder, program, handler]
    minor = runtime.removeprefix("python")
    note = "" if python.version.startswith(minor + ".") else f"runs on Python {python.version} here"
    return Launch(command, client, note)


def with_note(version: str, note: str) -> str:
    """INIT_START's runtime version, never claiming one that doesn't run."""
    return f"{version} ({note})" if note else version


def node_note(executable: str, runtime: str) -> str:
    """INIT_START's addition when ``runtime`` (``nodejs22.x``) runs on another Node.js major."""
    from .runtimes import node_version

    try:
        found = node_version(executable)
    except (OSError, subprocess.SubprocessError):
        return "runs on the Node.js installed here"
    major = runtime.removeprefix("nodejs").removesuffix(".x")
    return "" if found.startswith(f"v{major}.") else f"runs on Node.js {found} here"


def link_node_sdk(code_dir: str) -> None:
    """Let ES modules find the SDK v3 clients too. ``import`` ignores NODE_PATH: it looks in
    the ``node_modules`` of the module's folder and of each folder above. Every package is
    unpacked into a folder of ``code_dir``, so a ``node_modules`` link there is found after the
    package's own, as /var/runtime/node_modules is on AWS. Nothing to link without the SDK."""
    link = os.path.join(code_dir, "node_modules")
    if not NODE_MODULES.is_dir() or os.path.islink(link) or os.path.exists(link):
        return
    try:
        os.makedirs(code_dir, exist_ok=True)
        os.symlink(NODE_MODULES, link, target_is_directory=True)
    except OSError:
        pass  # a file system without links: CommonJS still finds the SDK through NODE_PATH


def install_node_sdk(npm: str | None = None, log=None) -> str:
    """`make setup`: the SDK v3 clients into NODE_MODULES, made in a temporary folder and renamed
    into place. Returns what happened, in a sentence; never raises for a missing npm or a
    failed install (the local cloud runs without them)."""
    npm = npm or shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "Node.js functions: no npm here, so no AWS SDK v3 for them (install Node.js)."
    home = NODE_MODULES.parent
    home.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".node-", dir=home.parent))
    try:
        (building / "package.json").write_text('{"private": true}\n')
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--prefix", str(building)]
            + list(NODE_SDK),
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        if log is not None:
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            return "Node.js functions: npm could not install the AWS SDK v3 (offline?); skipped."
        old = home.with_name(f".node-old-{os.getpid()}")
        if home.exists():
            os.replace(home, old)
        os.replace(building, home)
        shutil.rmtree(old, ignore_errors=True)
        return f"Node.js functions: AWS SDK v3 clients installed in {NODE_MODULES}."
    except (OSError, subprocess.SubprocessError) as error:
        return f"Node.js functions: the AWS SDK v3 install failed ({error}); skipped."
    finally:
        shutil.rmtree(building, ignore_errors=True)
