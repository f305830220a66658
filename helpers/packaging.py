"""Zip files the way Lambda and CodePipeline expect them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
FUNCTIONS = Path(__file__).resolve().parent / "functions"
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
