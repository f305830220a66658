"""A function's response over Lambda's 6 MB fails the invocation as on AWS, with each Python
client: ``Function.ResponseSizeTooLarge``, "Response payload size exceeded maximum allowed
payload size (6291556 bytes)." A response just under the limit comes back whole."""

from __future__ import annotations

import json

RETURNS = "def handler(event, context):\n    return 'x' * event['size']\n"


def invoke(aws, name: str, event: dict) -> tuple[dict, bytes]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, response["Payload"].read()


def test_a_response_over_6_mb_fails_with_response_size_too_large(aws, make_function):
    name = make_function(RETURNS)
    response, body = invoke(aws, name, {"size": 7_000_000})
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(body) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    response, body = invoke(aws, name, {"size": 6_000_000})
    assert "FunctionError" not in response and len(body) == 6_000_002  # a JSON string
