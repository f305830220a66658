"""Zip files the way Lambda and CodePipeline expect them."""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
FUNCTIONS = Path(__file__).resolve().parent / "functions"
# The page's Node.js health check, exactly as the page prints it (index.js).
PAGE_NODE_SAMPLE = DATA / "functions" / "page_health_check" / "index.js"
# The page's Python CloudFormation sample, exactly as printed (the console's lambda_function.py).
PAGE_PYTHON_SAMPLE = DATA / "functions" / "page_stack_deployer" / "lambda_function.py"
# Where npm installs what a Node.js package bundles (build/ is not committed).
NPM_FOLDER = ROOT / "build" / "npm"
NODE_MIN_MAJOR = 18
# A fixed timestamp makes the same files give the same zip bytes (and the same CodeSha256).
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def zip_files(files: dict[str, str | bytes]) -> bytes:
    """A zip of {name in zip: content}, deterministic for the same input."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            content = files[name]
            package.writestr(info, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def zip_tree(folder: Path, under: str = "") -> bytes:
    """A zip of every file below ``folder``, optionally inside a top folder ``under``."""
    files = {
        f"{under}/{path.relative_to(folder)}" if under else str(path.relative_to(folder)): (
            path.read_bytes()
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    return zip_files(files)


# The modules of each function's deployment package: the handler's module first.
PACKAGES = {
    "health_check": ("health_check", "page_fetch"),
    "stack_deployer": ("stack_deployer",),
}


def function_source(module: str) -> str:
    """The source of one module of the workbook's Lambda functions, e.g. ``health_check``."""
    return (FUNCTIONS / f"{module}.py").read_text()


def function_def(source: str, name: str) -> str:
    """The source of the top-level function ``name`` in a module's ``source``, as written there
    (docstring and comments included), without importing it: 06 sets the page's functions beside
    the fixed ones, e.g. ``function_def(page_python_sample(), "get_template")``."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return ast.get_source_segment(source, node, padded=True)
    raise KeyError(f"no function {name}() at the top level of this module")


def page_python_sample() -> str:
    """The page's Python sample (written for Python 2.7), as printed: lambda_function.py."""
    return PAGE_PYTHON_SAMPLE.read_text()


def function_package(function: str) -> bytes:
    """A deployment package: the function's modules at the root of the zip (handler
    ``module.lambda_handler``), e.g. health_check.py with page_fetch.py beside it."""
    modules = PACKAGES.get(function, (function,))
    return zip_files({f"{module}.py": function_source(module) for module in modules})


def site_package(page: str | None = None) -> bytes:
    """The sample site as the pipeline's source zip; ``page`` replaces index.html."""
    files = {
        str(p.relative_to(DATA / "site")): p.read_bytes()
        for p in sorted((DATA / "site").rglob("*"))
        if p.is_file()
    }
    if page is not None:
        files["index.html"] = page.encode()
    return zip_files(files)


def template_package(template: str | None = None) -> bytes:
    """template-package.zip: ``template-package/template.json``, as the page describes."""
    folder = DATA / "cloudformation" / "template-package"
    if template is None:
        return zip_tree(folder, under="template-package")
    return zip_files({"template-package/template.json": template})


def list_zip(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return package.namelist()


def unzipped_size(data: bytes) -> int:
    """The bytes a zip's files take unpacked (a function's limit: 250 MB with its layers)."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return sum(info.file_size for info in package.infolist())


# -- Node.js packages ------------------------------------------------------------------------
def page_node_sample() -> str:
    """The page's Node.js health check, as printed: ``require('aws-sdk')``, the SDK v2."""
    return PAGE_NODE_SAMPLE.read_text()


def node_tools_missing() -> str | None:
    """Why Node.js packages can't be built and run here — no Node.js 18 or newer, no npm — or
    None when they can."""
    node = shutil.which("node")
    if node is None:
        return "Node.js is not installed (no `node` on PATH); install Node.js 18 or newer."
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        version = "unknown"
    major = re.match(r"v(\d+)\.", version)
    if not major or int(major.group(1)) < NODE_MIN_MAJOR:
        return f"`node` is Node.js {version}; install Node.js {NODE_MIN_MAJOR} or newer."
    if shutil.which("npm") is None:
        return "npm is not installed (it comes with Node.js); install Node.js 18 or newer."
    return None


def npm_install(package: str, folder: Path | None = None) -> Path:
    """``npm install <package>`` into ``folder`` (default ``build/npm/<package>``), once;
    returns its ``node_modules``. Install scripts don't run (``--ignore-scripts``)."""
    folder = Path(folder or NPM_FOLDER / package.replace("/", "+"))
    installed = folder / "node_modules"
    if (installed / ".package-lock.json").exists():
        return installed
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (it comes with Node.js 18 or newer)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=folder.parent))
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(partial), "--no-save", "--no-audit", "--no-fund"]
            + ["--ignore-scripts", "--loglevel", "error", package],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not (partial / "node_modules").is_dir():
            raise RuntimeError(f"npm install {package} failed: {done.stderr.strip()[-2000:]}")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return installed


def node_package(files: dict[str, str | bytes], node_modules: Path | None = None) -> bytes:
    """A Node.js deployment package: ``files`` (e.g. ``index.js``) at the root of the zip, and
    ``node_modules`` beside them if given — what ``zip -r function.zip index.js node_modules``
    makes."""
    everything = dict(files)
    if node_modules is not None:
        node_modules = Path(node_modules)
        for path in sorted(node_modules.rglob("*")):
            if path.is_file():
                everything[f"node_modules/{path.relative_to(node_modules).as_posix()}"] = (
                    path.read_bytes()
                )
    return zip_files(everything)
