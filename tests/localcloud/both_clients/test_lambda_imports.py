"""A Python function imports what it would on AWS: the standard library, its own package and
what Lambda's runtime bundles (boto3 & co), never the workbook's venv; and INIT_START names
the Python that really runs it."""

from __future__ import annotations

import json
import re
import sys

import pytest

from ..conftest import log_messages

PROBE = """
import importlib, os, sys
def handler(event, context):
    imported = {}
    for name in event["modules"]:
        try:
            importlib.import_module(name)
            imported[name] = True
        except ImportError:
            imported[name] = False
    return {
        "imported": imported,
        "path": sys.path,
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "version": sys.version.split()[0],
    }
"""
SITE_PACKAGES = [p for p in sys.path if p.endswith("site-packages")]


def invoke(aws, name, payload):
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return response, json.loads(response["Payload"].read())


def test_a_function_imports_what_the_runtime_bundles_and_not_the_venv(aws, make_function):
    name = make_function(PROBE)
    bundled = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"]
    workbook = ["requests", "pandas", "moto", "helpers", "pytest"]
    _, result = invoke(aws, name, {"modules": ["json", *bundled, *workbook]})
    assert result["imported"] == {"json": True, **dict.fromkeys(bundled, True)} | dict.fromkeys(
        workbook, False
    )
    assert result["path"][0] == result["task_root"], result["path"]
    assert not set(SITE_PACKAGES) & set(result["path"]), result["path"]


@pytest.mark.parametrize("module", ["requests", "helpers"])
def test_importing_a_venv_package_fails_as_on_aws(aws, make_function, module):
    name = make_function(f"import {module}\ndef handler(event, context):\n    return 1\n")
    response, error = invoke(aws, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == (f"Unable to import module 'app': No module named '{module}'")


def test_init_start_names_the_python_that_runs(aws, make_function):
    name = make_function(PROBE)
    _, result = invoke(aws, name, {"modules": []})
    init_start = next(m for m in log_messages(aws, name)[0] if m.startswith("INIT_START"))
    claimed = re.match(
        r"INIT_START Runtime Version: python:(3\.\d+)\.v\d+( \(.*?\))?\t", init_start
    )
    assert claimed, init_start
    if claimed.group(2):
        assert claimed.group(2) == f" (runs on Python {result['version']} here)"
    else:
        assert result["version"].startswith(claimed.group(1) + ".")
