"""The workbook's own Python runtime client does what awslambdaric does, line for line.

macOS runs Python functions through ``python_client.py`` (awslambdaric doesn't install there);
each case below runs on a local cloud with each client, and the learner-visible results — the
payload, the error, the log lines — must be the same once ids, times and paths are masked.
"""

from __future__ import annotations

import base64
import json
import re
import sys

import pytest

from helpers.localcloud.awslambda import python_client
from helpers.localcloud.awslambda.worker import has_awslambdaric

from .conftest import Cloud, create_function, log_messages, unique, zip_bytes

pytestmark = pytest.mark.skipif(
    not has_awslambdaric(), reason="awslambdaric is not installed here (Linux only)"
)

CASES = {
    "prints-and-logs": (
        "import logging, sys\n"
        "logger = logging.getLogger()\n"
        "logger.setLevel(logging.INFO)\n"
        "print('at init')\n"
        "def handler(event, context):\n"
        "    print('hello', event)\n"
        "    print('two\\nlines')\n"
        "    sys.stderr.write('to stderr\\n')\n"
        "    logger.info('info %s', 42)\n"
        "    logger.warning('multi\\nline warning')\n"
        "    return {'name': context.function_name, 'memory': context.memory_limit_in_mb,\n"
        "            'version': context.function_version, 'group': context.log_group_name,\n"
        "            'stream': context.log_stream_name, 'arn': context.invoked_function_arn,\n"
        "            'remaining': 0 < context.get_remaining_time_in_millis() <= 3000,\n"
        "            'id': context.aws_request_id, 'unicode': 'caf\\u00e9'}\n"
    ),
    "raises": (
        "def helper():\n    raise KeyError('missing')\ndef handler(event, context):\n    helper()\n"
    ),
    "logs-an-exception": (
        "import logging\n"
        "def handler(event, context):\n"
        "    try:\n"
        "        1 / 0\n"
        "    except ZeroDivisionError:\n"
        "        logging.exception('it broke')\n"
        "    return None\n"
    ),
    "init-error": "raise RuntimeError('cannot start')\n",
    "not-json": "def handler(event, context):\n    return object()\n",
    "bytes": "def handler(event, context):\n    return b'raw bytes'\n",
}

MASKS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "ID"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"), "TIME"),
    (re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}"), "STREAM"),
    (re.compile(r"[\d.]+ ms"), "N ms"),
    (re.compile(r"Max Memory Used: \d+ MB"), "Max Memory Used: N MB"),
    (re.compile(r'[^"\s]*/code/[A-Za-z0-9]+/'), "/var/task/"),
    (re.compile(r"fn-[0-9a-f]{8}"), "FUNCTION"),
    (re.compile(r"object at 0x[0-9a-f]+"), "object at ADDRESS"),
]


def mask(text: str) -> str:
    for pattern, token in MASKS:
        text = pattern.sub(token, text)
    return text


@pytest.fixture(scope="module")
def clouds(start_cloud):
    return {kind: Cloud.of(start_cloud(kind)) for kind in ("awslambdaric", "builtin")}


def run_case(cloud: Cloud, source: str) -> dict:
    lam = cloud.client("lambda")
    name = unique("fn")
    create_function(
        cloud.client,
        FunctionName=name,
        # the local cloud's own Python, which both clients run on
        Runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": source})},
        Timeout=3,
    )
    response = lam.invoke(FunctionName=name, Payload=b'{"k": "v"}', LogType="Tail")
    payload = response["Payload"].read()
    return {
        "status": response["StatusCode"],
        "function_error": response.get("FunctionError"),
        "payload": mask(payload.decode()),
        "tail": mask(base64.b64decode(response["LogResult"]).decode()).splitlines(),
        "stream": [mask(m) for m in sum(log_messages(cloud.client, name), [])],
    }


@pytest.mark.parametrize("case", CASES)
def test_both_clients_give_the_same_payload_error_and_log(clouds, case):
    expected = run_case(clouds["awslambdaric"], CASES[case])
    actual = run_case(clouds["builtin"], CASES[case])
    assert actual == expected


@pytest.mark.parametrize("kind", ["awslambdaric", "builtin"])
def test_a_logging_record_is_one_event_however_many_lines_it_has(clouds, kind):
    stream = run_case(clouds[kind], CASES["prints-and-logs"])["stream"]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert stream[0].startswith(f"INIT_START Runtime Version: python:{version}.v")
    assert [m for m in stream if m.endswith("multi\nline warning")] == [
        "[WARNING]\tTIME\tID\tmulti\nline warning"
    ]
    assert stream.index("two") + 1 == stream.index("lines"), "print: one event per line"
    (logged,) = [
        m for m in run_case(clouds[kind], CASES["logs-an-exception"])["stream"] if "it broke" in m
    ]
    assert logged.startswith("[ERROR]\tTIME\tID\tit broke\nTraceback (most recent call last):\n")
    assert logged.endswith("ZeroDivisionError: division by zero")


def test_the_error_payload_has_awss_fields_in_awss_order(clouds):
    result = run_case(clouds["builtin"], CASES["raises"])
    error = json.loads(result["payload"])
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing'"
    assert error["requestId"] == "ID"
    assert [line.split(",")[-1].lstrip() for line in error["stackTrace"]] == [
        "in handler\n    helper()\n",
        "in helper\n    raise KeyError('missing')\n",
    ]


@pytest.mark.parametrize(
    ("platform", "ru_maxrss", "kib"),
    [("linux", 51_200, 51_200), ("darwin", 52_428_800, 51_200)],
)
def test_peak_memory_is_read_in_the_platforms_unit(monkeypatch, platform, ru_maxrss, kib):
    """getrusage's ru_maxrss is KiB on Linux and bytes on macOS."""

    class Usage:
        pass

    usage = Usage()
    usage.ru_maxrss = ru_maxrss
    monkeypatch.setattr(python_client.resource, "getrusage", lambda who: usage)
    monkeypatch.setattr(sys, "platform", platform)
    assert python_client.peak_memory_kb() == kib
