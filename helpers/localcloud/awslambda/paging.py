"""ListFunctions in pages, as Lambda pages it: at most ``MaxItems`` (default 50) functions and a
``NextMarker`` while more remain (moto answers every function at once, with no marker)."""

from __future__ import annotations

import base64
import binascii
import json

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.responses import LambdaResponse

DEFAULT_PAGE = 50


def _marker(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode()


def _position(marker: str | None) -> int:
    if not marker:
        return 0
    try:
        position = json.loads(base64.urlsafe_b64decode(marker.encode()))["p"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        position = None
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise InvalidParameterValueException("Invalid Marker value: " + marker)
    return position


def list_functions(self) -> str:
    query = self.querystring
    version = query.get("FunctionVersion", [None])[0]
    size = int(query.get("MaxItems", [DEFAULT_PAGE])[0])
    first = _position(query.get("Marker", [None])[0])
    functions = list(self.backend.list_functions(version))
    result: dict = {"Functions": [fn.get_configuration() for fn in functions[first : first + size]]}
    if first + size < len(functions):
        result["NextMarker"] = _marker(first + size)
    return json.dumps(result)


def install() -> None:
    LambdaResponse.list_functions = list_functions
