"""The Lambda Runtime API alone: no process, no local cloud — a stand-in environment behind it.

A runtime interface client polls ``/invocation/next``, then posts the response or the error;
an init failure goes to ``/init/error``. These are the exchanges awslambdaric and the
workbook's client make, checked here at the HTTP level. This test process plays the
environment's own process (``admit``), so the API's lock lets it in; what the lock keeps out
is tested in ``test_runtime_api_lock.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import threading

import pytest

from helpers.localcloud.awslambda.models import Invocation
from helpers.localcloud.awslambda.runtime_api import PREFIX, RuntimeApi, authorization


class StandInEnvironment:
    """An ExecutionEnvironment that records what the Runtime API tells it."""

    def __init__(self):
        self.invocations: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self.current: Invocation | None = None
        self.responses: list[tuple[str, bytes]] = []
        self.errors: list[tuple[str, dict]] = []
        self.init_errors: list[dict] = []
        self.peaks: list[int] = []

    def next_invocation(self) -> Invocation | None:
        self.current = self.invocations.get(timeout=5)
        return self.current

    def invocation_succeeded(self, request_id: str, body: bytes) -> bool:
        if self.current is None or self.current.request_id != request_id:
            return False
        self.responses.append((request_id, body))
        return True

    def invocation_failed(self, request_id: str, error: dict) -> bool:
        if self.current is None or self.current.request_id != request_id:
            return False
        self.errors.append((request_id, error))
        return True

    def init_failed(self, error: dict) -> None:
        self.init_errors.append(error)

    def peak_memory_reported(self, kib: int) -> None:
        self.peaks.append(kib)


@pytest.fixture
def served():
    environment = StandInEnvironment()
    api = RuntimeApi(environment)
    api.admit(os.getpid())
    yield environment, api
    api.close()


def call(api: RuntimeApi, method: str, path: str, body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection(api.address, timeout=10)
    headers = dict(headers or {})
    if api.secret:
        headers["Authorization"] = authorization(api.secret)
    try:
        connection.request(method, PREFIX + path, body, headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def invocation(payload: bytes = b'{"k": "v"}') -> Invocation:
    event = Invocation(
        payload=payload, function_arn="arn:aws:lambda:us-east-1:1:function:f", timeout_s=3
    )
    event.deadline_ms = 1_700_000_000_000
    return event


def test_next_hands_out_the_event_with_lambdas_headers(served):
    environment, api = served
    event = invocation()
    environment.invocations.put(event)
    status, headers, body = call(api, "GET", "/invocation/next")
    assert status == 200
    assert body == b'{"k": "v"}'
    assert headers["Lambda-Runtime-Aws-Request-Id"] == event.request_id
    assert headers["Lambda-Runtime-Deadline-Ms"] == "1700000000000"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == event.function_arn
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")


def test_a_response_is_recorded_for_the_current_request_only(served):
    environment, api = served
    event = invocation()
    environment.invocations.put(event)
    call(api, "GET", "/invocation/next")
    status, _, body = call(
        api,
        "POST",
        f"/invocation/{event.request_id}/response",
        b'"done"',
        {"Lambda-Runtime-Peak-Memory-Kb": "51200"},
    )
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    assert environment.responses == [(event.request_id, b'"done"')]
    assert environment.peaks == [51200]
    status, _, body = call(api, "POST", "/invocation/not-this-one/response", b"{}")
    assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"


def test_an_error_gets_its_type_from_the_header_when_the_body_has_none(served):
    environment, api = served
    event = invocation()
    environment.invocations.put(event)
    call(api, "GET", "/invocation/next")
    status, _, _ = call(
        api,
        "POST",
        f"/invocation/{event.request_id}/error",
        b'{"errorMessage": "bad input"}',
        {"Lambda-Runtime-Function-Error-Type": "ValueError"},
    )
    assert status == 202
    assert environment.errors == [
        (event.request_id, {"errorMessage": "bad input", "errorType": "ValueError"})
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"errorMessage": "No module", "errorType": "Runtime.ImportModuleError"}',
            {"errorMessage": "No module", "errorType": "Runtime.ImportModuleError"},
        ),
        (b"not json", {"errorMessage": "not json", "errorType": "Unknown"}),
        (b'["a list"]', {"errorMessage": "['a list']", "errorType": "Unknown"}),
    ],
)
def test_init_errors_reach_the_environment_whatever_their_body(served, body, expected):
    environment, api = served
    status, _, _ = call(api, "POST", "/init/error", body)
    assert status == 202
    assert environment.init_errors == [expected]


def test_a_retired_environment_ends_the_poll(served):
    environment, api = served
    environment.invocations.put(None)
    status, _, body = call(api, "GET", "/invocation/next")
    assert status == 410 and json.loads(body)["errorType"] == "Gone"


def test_next_waits_until_there_is_an_invocation(served):
    environment, api = served
    got: list = []
    poll = threading.Thread(target=lambda: got.append(call(api, "GET", "/invocation/next")))
    poll.start()
    poll.join(0.2)
    assert poll.is_alive(), "the poll is parked until an invocation comes"
    environment.invocations.put(invocation(b"{}"))
    poll.join(5)
    assert got and got[0][0] == 200


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/nowhere", {}, 404),
        ("POST", "/invocation/x/somewhere", {}, 404),
        ("GET", "/invocation/next", {"Origin": "https://example.com"}, 403),
        ("POST", "/init/error", {"Referer": "https://example.com/page"}, 403),
    ],
)
def test_unknown_paths_and_browsers_are_refused(served, method, path, headers, status):
    environment, api = served
    assert call(api, method, path, b"{}" if method == "POST" else None, headers)[0] == status
    assert environment.init_errors == [] and environment.current is None
