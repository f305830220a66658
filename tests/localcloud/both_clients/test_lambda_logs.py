"""A function's CloudWatch log as Lambda writes it today, with each Python client: INIT_START on
a cold start, one logging record per event, published versions under their number."""

from __future__ import annotations

import json
import re

from ..conftest import log_messages

INIT_START = re.compile(
    r"^INIT_START Runtime Version: python:3\.12\.v\d+(?: \(runs on Python 3\.\d+\.\d+ here\))?"
    r"\tRuntime Version ARN: (?P<arn>arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64})$"
)

LOGGING = """
import logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)
def handler(event, context):
    print("first\\nsecond")
    logger.info("one record\\nover two lines")
    print("after the record")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("caught it")
    return "ok"
"""

VERSION = """
import os
def handler(event, context):
    print("running", context.function_version)
    return {
        "env": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "context": context.function_version,
        "arn": context.invoked_function_arn,
        "event": event,
    }
"""


def invoke(aws, name: str, **kwargs) -> tuple[dict, object]:
    response = aws("lambda").invoke(FunctionName=name, **kwargs)
    return response, json.loads(response["Payload"].read())


def test_a_cold_start_begins_with_init_start_and_a_warm_one_does_not(aws, make_function):
    name = make_function("print('loading')\ndef handler(event, context):\n    return 1\n")
    invoke(aws, name)
    invoke(aws, name)
    (messages,) = log_messages(aws, name)
    init = INIT_START.match(messages[0])
    assert init, messages[0]
    assert messages[1] == "loading"
    assert sum(m.startswith("INIT_START") for m in messages) == 1
    configuration = aws("lambda").get_function(FunctionName=name)["Configuration"]
    assert configuration["RuntimeVersionConfig"]["RuntimeVersionArn"] == init["arn"]


def test_one_logging_record_is_one_event_and_print_is_one_per_line(aws, make_function):
    name = make_function(LOGGING)
    response, _ = invoke(aws, name)
    request_id = response["ResponseMetadata"]["RequestId"]
    (messages,) = log_messages(aws, name)
    start = messages.index(f"START RequestId: {request_id} Version: $LATEST")
    record, caught = messages[start + 3], messages[start + 5]
    assert messages[start + 1 : start + 3] == ["first", "second"]
    assert record.startswith("[INFO]\t") and record.endswith(
        f"\t{request_id}\tone record\nover two lines"
    )
    assert messages[start + 4] == "after the record"
    assert caught.startswith("[ERROR]\t") and f"\t{request_id}\tcaught it\n" in caught
    assert "\nTraceback (most recent call last):\n" in caught
    assert caught.endswith("KeyError: 'missing'")
    assert messages[start + 6] == f"END RequestId: {request_id}"


def test_an_unhandled_error_is_one_event_with_its_traceback_joined_by_newlines(aws, make_function):
    name = make_function(
        "def check(value):\n    raise ValueError(f'bad input {value}')\n"
        "def handler(event, context):\n    check(42)\n"
    )
    response, error = invoke(aws, name)
    assert response["FunctionError"] == "Unhandled"
    (messages,) = log_messages(aws, name)
    (logged,) = [m for m in messages if m.startswith("[ERROR] ValueError")]
    lines = logged.split("\n")
    assert lines[0] == "[ERROR] ValueError: bad input 42"
    assert lines[1] == "Traceback (most recent call last):"
    assert [line.strip() for line in lines[2:] if "File" not in line] == [
        "check(42)",
        "raise ValueError(f'bad input {value}')",
    ]
    assert len(error["stackTrace"]) == 2


def test_a_published_version_runs_logs_and_reports_as_its_number(aws, make_function):
    name = make_function(VERSION)
    lam = aws("lambda")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    response, result = invoke(aws, name, Qualifier="1")
    assert response["ExecutedVersion"] == "1"
    assert result["env"] == result["context"] == "1"
    assert result["arn"].endswith(f":function:{name}:1")
    streams = aws("logs").describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    (stream,) = [s["logStreamName"] for s in streams]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[1\][0-9a-f]{32}", stream), stream
    (messages,) = log_messages(aws, name)
    request_id = response["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: 1" in messages
    assert "running 1" in messages
    latest, _ = invoke(aws, name)
    assert latest["ExecutedVersion"] == "$LATEST"


def test_invoke_without_a_payload_hands_the_handler_an_empty_object(aws, make_function):
    name = make_function(VERSION)
    response = aws("lambda").invoke(FunctionName=name)
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["event"] == {}
