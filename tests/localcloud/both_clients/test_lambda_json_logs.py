"""LoggingConfig LogFormat=JSON, with each Python client: the function's logs become JSON
records — its logging records as the runtime client writes them, the platform's lines as
``platform.*`` records (Telemetry API shapes) filtered by SystemLogLevel — and
``helpers.timings`` reads the invocations from them as it reads REPORT lines."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from helpers import timings

from ..conftest import log_messages, wait_until_updated

APP = """
import logging
import time
logger = logging.getLogger()
def handler(event, context):
    logger.debug("a detail")
    logger.info("checking %s", event.get("page", "index.html"))
    time.sleep(event.get("sleep", 0))
    return "ok"
"""
JSON_LOGS = {"LogFormat": "JSON"}


def records(aws, name: str) -> list[dict]:
    """Every log event of the function, each parsed as JSON (all of them must be)."""
    return [json.loads(m) for stream in log_messages(aws, name) for m in stream]


def invoke(aws, name: str, **event) -> str:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return response["ResponseMetadata"]["RequestId"]


def test_get_function_configuration_returns_the_logging_config(aws, make_function):
    text = make_function(APP)
    config = aws("lambda").get_function_configuration(FunctionName=text)["LoggingConfig"]
    assert config == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{text}"}
    name = make_function(APP, LoggingConfig=JSON_LOGS)
    config = aws("lambda").get_function_configuration(FunctionName=name)["LoggingConfig"]
    assert config == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
        "LogGroup": f"/aws/lambda/{name}",
    }


def test_every_event_is_a_json_record_and_the_platform_writes_telemetry_shapes(aws, make_function):
    name = make_function(APP, LoggingConfig=JSON_LOGS)
    first = invoke(aws, name, page="about.html")
    second = invoke(aws, name)
    logged = records(aws, name)
    types = [r.get("type") for r in logged]
    assert types[0] == "platform.initStart"
    assert types.count("platform.initStart") == 1 and types.count("platform.report") == 2
    assert "platform.runtimeDone" not in types, "DEBUG records stay out at SystemLogLevel INFO"
    init = logged[0]["record"]
    assert init["initializationType"] == "on-demand" and init["phase"] == "init"
    assert init["functionName"] == name and init["functionVersion"] == "$LATEST"
    assert init["runtimeVersion"].startswith("python:3.12.v")
    assert init["runtimeVersionArn"].startswith("arn:aws:lambda:us-east-1::runtime:")
    starts = [r["record"] for r in logged if r.get("type") == "platform.start"]
    assert starts == [
        {"requestId": first, "version": "$LATEST"},
        {"requestId": second, "version": "$LATEST"},
    ]
    cold, warm = [r["record"] for r in logged if r.get("type") == "platform.report"]
    assert cold["requestId"] == first and cold["status"] == "success"
    assert set(cold["metrics"]) == {
        "durationMs",
        "billedDurationMs",
        "memorySizeMB",
        "maxMemoryUsedMB",
        "initDurationMs",
    }
    assert "initDurationMs" not in warm["metrics"] and warm["metrics"]["memorySizeMB"] == 128
    messages = [r for r in logged if r.get("level")]
    assert [m["message"] for m in messages] == ["checking about.html", "checking index.html"]
    assert messages[0]["requestId"] == first and messages[0]["level"] == "INFO"
    assert all(r["time"].endswith("Z") for r in logged if "type" in r)


def test_timings_reads_the_json_records_as_it_reads_report_lines(aws, make_function):
    name = make_function(APP, LoggingConfig=JSON_LOGS)
    ids = [invoke(aws, name) for _ in range(3)]
    table = timings.invocations(aws("logs"), [name])
    assert list(table["request_id"]) == ids
    assert list(table["cold_start"]) == [True, False, False]
    assert list(table["nth_in_environment"]) == [1, 2, 3]
    assert table["init_ms"].notna().tolist() == [True, False, False]
    assert (table["billed_ms"] >= table["duration_ms"]).all()
    assert table["status"].isna().all()


def test_levels_filter_application_and_system_records(aws, make_function):
    name = make_function(
        APP,
        LoggingConfig={
            "LogFormat": "JSON",
            "ApplicationLogLevel": "DEBUG",
            "SystemLogLevel": "DEBUG",
        },
    )
    invoke(aws, name)
    logged = records(aws, name)
    assert [r["message"] for r in logged if r.get("level")] == ["a detail", "checking index.html"]
    (done,) = [r["record"] for r in logged if r.get("type") == "platform.runtimeDone"]
    assert done["status"] == "success" and "durationMs" in done["metrics"]
    quiet = make_function(APP, LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"})
    invoke(aws, quiet)
    assert not [r for r in records(aws, quiet) if "type" in r], "WARN: no record of a success"


def test_a_timeout_is_reported_in_both_records(aws, make_function):
    name = make_function(APP, timeout=1, LoggingConfig=JSON_LOGS)
    request_id = invoke(aws, name, sleep=3)
    logged = records(aws, name)
    (done,) = [r["record"] for r in logged if r.get("type") == "platform.runtimeDone"]
    assert done["requestId"] == request_id and done["status"] == "timeout"
    (row,) = timings.invocations(aws("logs"), [name]).itertuples()
    assert row.status == "timeout" and row.duration_ms == 1000.0


def test_log_levels_need_the_json_format(aws, make_function, roles):
    with pytest.raises(ClientError) as refused:
        make_function(APP, LoggingConfig={"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert 'LogLevel is not supported when LogFormat is set to "Text"' in str(refused.value)


def test_switching_back_to_text_starts_a_new_environment_with_text_lines(aws, make_function):
    name = make_function(APP, LoggingConfig=JSON_LOGS)
    invoke(aws, name)
    lam = aws("lambda")
    config = lam.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "Text"}
    )["LoggingConfig"]
    assert config == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    wait_until_updated(aws, name)
    request_id = invoke(aws, name)
    text_stream = [s for s in log_messages(aws, name) if s[0].startswith("INIT_START")]
    (messages,) = text_stream
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}\t") for m in messages)
    assert len(timings.invocations(aws("logs"), [name])) == 2, "both formats, one table"
