"""Request validation from botocore's own service models, worded as AWS words it.

botocore checks types and required members before a request leaves the SDK, but not lengths,
patterns, ranges or enums: AWS does those and answers ``ValidationException`` with messages
such as ``1 validation error detected: Value '...' at 'executionDetails.summary' failed to
satisfy constraint: Member must have length less than or equal to 2048``. The local cloud
checks the same constraints from the same model, so bad input fails here as it fails there.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
import regex


@functools.cache
def _service_model(service: str):
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str):
    """The botocore input shape of an operation, or None if the model has no such operation."""
    model = _service_model(service)
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation).input_shape


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str):
    """The model's patterns are Java's: ``regex`` reads their ``\\p{L}`` classes, ``re``
    doesn't (a tag key's pattern made CreateFunction with Tags fail)."""
    return regex.compile(pattern, regex.DOTALL)


def _string_problems(shape, value: str) -> list[str]:
    problems = []
    meta = shape.metadata
    if "min" in meta and len(value) < meta["min"]:
        problems.append(f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and len(value) > meta["max"]:
        problems.append(f"Member must have length less than or equal to {meta['max']}")
    pattern = meta.get("pattern")
    if pattern and not _compiled(pattern).fullmatch(value):
        problems.append(f"Member must satisfy regular expression pattern: {pattern}")
    if shape.enum and value not in shape.enum:
        problems.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    return problems


def _check(shape, value: Any, path: str, errors: list[str]) -> None:
    if shape is None or value is None:
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return
        for name in shape.required_members:
            if value.get(name) is None:
                errors.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, member in shape.members.items():
            if name in value:
                _check(member, value[name], _join(path, name), errors)
        return
    if kind == "list":
        if not isinstance(value, list):
            return
        _size(shape, value, path, errors)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", errors)
        return
    if kind == "map":
        if not isinstance(value, dict):
            return
        _size(shape, value, path, errors)
        for key, item in value.items():
            problems = _string_problems(shape.key, str(key))
            if problems:
                errors.append(
                    f"Value '{key}' at '{path}' failed to satisfy constraint: Map keys must "
                    f"satisfy constraint: [{', '.join(problems)}]"
                )
            _check(shape.value, item, f"{path}.{key}", errors)
        return
    if kind == "string" and isinstance(value, str):
        problems = _string_problems(shape, value)
    elif kind in ("integer", "long", "double", "float") and isinstance(value, int | float):
        problems = []
        meta = shape.metadata
        if "min" in meta and value < meta["min"]:
            problems.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"Member must have value less than or equal to {meta['max']}")
    else:
        return
    for problem in problems:
        errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: {problem}")


def _size(shape, value, path: str, errors: list[str]) -> None:
    meta = shape.metadata
    if "min" in meta and len(value) < meta["min"]:
        errors.append(
            f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {meta['min']}"
        )
    if "max" in meta and len(value) > meta["max"]:
        errors.append(
            f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {meta['max']}"
        )


def _join(path: str, name: str) -> str:
    """AWS names members in lower camel case in these messages ('timeout', 'memorySize')."""
    name = name[:1].lower() + name[1:]
    return f"{path}.{name}" if path else name


def problems(service: str, operation: str, params: dict) -> list[str]:
    """Every constraint of the operation's input model that ``params`` breaks."""
    errors: list[str] = []
    _check(input_shape(service, operation), params, "", errors)
    return errors


def message(errors: list[str]) -> str:
    """AWS's ValidationException message for these problems."""
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(errors)
