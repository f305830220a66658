"""The set-up check of notebook 00: says plainly what is there and what is missing."""

from __future__ import annotations

import importlib.util
import sys

from . import workbook

PACKAGES = {
    "boto3": "the AWS SDK the notebooks and functions use",
    "moto": "the AWS APIs of the local cloud",
    "pandas": "tables of executions and timings",
    "ipywidgets": "the pipeline view and buttons",
}


CLIENTS = {
    "awslambdaric": "awslambdaric, AWS's own runtime interface client",
    "builtin": "the workbook's own runtime interface client (awslambdaric installs on Linux only)",
}


def python_client_description(endpoint: str) -> str:
    """Which runtime interface client the local cloud runs Python functions with."""
    import json
    import urllib.request

    from .localcloud import HEALTH_PATH

    with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=5) as reply:
        return CLIENTS[json.load(reply)["pythonClient"]]


def check() -> None:
    """Print one ✓/✗ line per requirement, then whether everything is in place."""
    ok = True

    def line(good: bool, text: str, fix: str = "") -> None:
        nonlocal ok
        ok = ok and good
        print(f"{'✓' if good else '✗'} {text}" + ("" if good else f" — {fix}"))

    line(
        sys.version_info >= (3, 11),
        "Python 3.11 or newer",
        f"this is {sys.version.split()[0]}; run `make lab` with PYTHON=python3.11 or newer",
    )
    for package, why in PACKAGES.items():
        line(
            importlib.util.find_spec(package) is not None,
            f"{package}: {why}",
            "missing; run `make setup` (or `pip install -e .`) and restart the kernel",
        )
    chosen = workbook.target()
    if chosen == "local":
        from . import localcloud

        endpoint = localcloud.ensure_running()
        line(localcloud.is_healthy(endpoint), f"the local cloud answers at {endpoint}")
        print(f"✓ Python functions run through {python_client_description(endpoint)}")
    else:
        import boto3

        session = boto3.Session()
        line(
            session.get_credentials() is not None,
            "AWS credentials found",
            "none found: configure a profile (aws configure) or set AWS_PROFILE",
        )
        line(
            bool(session.region_name),
            f"AWS region: {session.region_name}",
            "no region: set AWS_REGION or a region in your profile",
        )
    print("Everything is in place." if ok else "Fix the ✗ lines above, then run this cell again.")
