"""AWS's modelled errors, rendered in the wire format of each protocol.

botocore turns these into the same exception classes a learner would catch on AWS
(``client.exceptions.JobNotFoundException`` …), so the local cloud never answers with a
bare HTTP 500.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape


class AwsError(Exception):
    """An error AWS models for an operation: code, HTTP status, message."""

    def __init__(self, code: str, message: str, status: int = 400, sender: str = "User"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender

    def json_body(self) -> bytes:
        """awsJson1_1 (CodePipeline): the code travels in ``__type``."""
        return json.dumps({"__type": self.code, "message": self.message}).encode()

    def rest_json_body(self) -> bytes:
        """restJson1 (Lambda): the code travels in the x-amzn-ErrorType header."""
        return json.dumps({"Type": self.sender, "Message": self.message}).encode()

    def query_xml_body(self) -> bytes:
        """awsQuery (IAM, STS, CloudFormation)."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
            f"<Type>{'Sender' if self.sender == 'User' else 'Receiver'}</Type>"
            f"<Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        ).encode()

    def render(self, protocol: str) -> tuple[dict[str, str], bytes]:
        """(headers, body) of this error in ``protocol``: json, rest-json, query or rest-xml."""
        if protocol == "json":
            return {"Content-Type": "application/x-amz-json-1.1"}, self.json_body()
        if protocol == "rest-json":
            return (
                {"Content-Type": "application/json", "X-Amzn-ErrorType": self.code},
                self.rest_json_body(),
            )
        if protocol == "query":
            return {"Content-Type": "text/xml"}, self.query_xml_body()
        return {"Content-Type": "application/xml"}, self.s3_xml_body()

    def s3_xml_body(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
            "</Error>"
        ).encode()


def status_line(status: int) -> str:
    from http import HTTPStatus

    return f"{status} {HTTPStatus(status).phrase}"
