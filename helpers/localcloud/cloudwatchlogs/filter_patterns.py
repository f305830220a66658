"""CloudWatch Logs filter patterns, matched as CloudWatch matches them.

moto understands one plain term or one quoted phrase. A learner (and notebook 07) uses more:

- terms: ``ERROR`` (case-sensitive, anywhere in the event), several terms (all must be there),
  ``"REPORT RequestId"`` (a quoted phrase), ``?ERROR ?Timeout`` (any of them), ``-DEBUG`` (not
  there), ``%regex%``;
- space-delimited events: ``[type=REPORT, ...]``, ``[ip, user, ..., status=4*, bytes>1000]``,
  conditions joined by ``&&``/``||``, ``...`` standing for any number of fields;
- JSON events: ``{ $.level = "ERROR" }``, ``{ ($.latency > 500) && ($.status = 200) }``,
  ``{ $.items[0].name = "a*" }``, ``IS NULL``, ``NOT EXISTS``, ``IS TRUE``/``IS FALSE``.

``compile_pattern(text)`` returns a predicate over an event's message; an unreadable pattern
raises ``ValueError`` (the API's InvalidParameterException).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable

Matcher = Callable[[str], bool]
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def compile_pattern(pattern: str | None) -> Matcher:
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        return _json_pattern(text)
    if text.startswith("["):
        return _space_delimited_pattern(text)
    return _terms_pattern(text)


# -- terms ----------------------------------------------------------------------------------
TERM = re.compile(r'\s*([?-]?)("(?:[^"\\]|\\.)*"|%(?:[^%\\]|\\.)*%|[^\s"]+)')


def _term_matcher(token: str) -> Matcher:
    if token.startswith('"'):
        phrase = json.loads(token) if "\\" in token else token[1:-1]
        return lambda message: phrase in message
    if token.startswith("%") and token.endswith("%") and len(token) > 1:
        regex = re.compile(token[1:-1])
        return lambda message: regex.search(message) is not None
    return lambda message: token in message


def _terms_pattern(text: str) -> Matcher:
    required, excluded, optional = [], [], []
    position = 0
    while position < len(text):
        match = TERM.match(text, position)
        if not match:
            raise ValueError(f"Invalid filter pattern near {text[position:]!r}")
        prefix, token = match.groups()
        matcher = _term_matcher(token)
        {"": required, "-": excluded, "?": optional}[prefix].append(matcher)
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1

    def matches(message: str) -> bool:
        if not all(m(message) for m in required):
            return False
        if any(m(message) for m in excluded):
            return False
        return not optional or any(m(message) for m in optional)

    return matches


# -- comparisons shared by both structured forms --------------------------------------------
COMPARISON = re.compile(r"^\s*(!=|<=|>=|=|<|>)\s*(.*?)\s*$", re.DOTALL)


def _value_test(operator: str, expected: str) -> Callable[[object], bool]:
    """A test of one field's value: numbers compare as numbers, strings with * as wildcards."""
    if expected.startswith('"') and expected.endswith('"') and len(expected) >= 2:
        expected, quoted = expected[1:-1], True
    else:
        quoted = False
    numeric = not quoted and NUMBER.match(expected) is not None

    def test(value: object) -> bool:
        if value is None:
            return False
        if numeric:
            try:
                actual = float(value) if not isinstance(value, bool) else None
            except (TypeError, ValueError):
                actual = None
            if actual is None:
                return operator == "!="
            target = float(expected)
            return {
                "=": actual == target,
                "!=": actual != target,
                "<": actual < target,
                ">": actual > target,
                "<=": actual <= target,
                ">=": actual >= target,
            }[operator]
        if operator not in ("=", "!="):
            raise ValueError(f"{operator} needs a number, not {expected!r}")
        same = (
            fnmatch.fnmatchcase(str(value), expected)
            if "*" in expected
            else (str(value) == expected)
        )
        return same if operator == "=" else not same

    return test


def _split_logical(text: str, operator: str) -> list[str]:
    """Split on ``&&`` or ``||`` outside quotes and parentheses."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        char = text[i]
        if char == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(operator, i):
            parts.append(text[start:i])
            start = i + len(operator)
            i += len(operator)
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _strip_parentheses(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


# -- space-delimited ------------------------------------------------------------------------
FIELD_NAME = re.compile(r"^\s*([A-Za-z_][\w-]*|\.\.\.)\s*(.*)$", re.DOTALL)


def _event_fields(message: str) -> list[str]:
    """An event's fields: whitespace-separated, "quoted" and [bracketed] groups kept whole."""
    fields = []
    for match in re.finditer(r'"[^"]*"|\[[^\]]*\]|\S+', message):
        token = match.group(0)
        if token[0] in '"[' and token[-1] in '"]' and len(token) >= 2:
            token = token[1:-1]
        fields.append(token)
    return fields


def _space_delimited_pattern(text: str) -> Matcher:
    if not text.endswith("]"):
        raise ValueError("A space-delimited filter pattern ends with ]")
    specs = []  # (name, condition or None); name "..." is an ellipsis
    for raw in _split_commas(text[1:-1]):
        match = FIELD_NAME.match(raw)
        if not match:
            raise ValueError(f"Invalid field in filter pattern: {raw!r}")
        name, rest = match.groups()
        specs.append((name, _field_condition(name, rest) if rest.strip() else None))

    def matches(message: str) -> bool:
        return _match_fields(specs, _event_fields(message))

    return matches


def _split_commas(text: str) -> list[str]:
    parts, quoted, start = [], False, 0
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in (part.strip() for part in parts) if p]


def _field_condition(name: str, text: str) -> Callable[[str], bool]:
    alternatives = _split_logical(text, "||")
    tests = []
    for alternative in alternatives:
        conjuncts = []
        for piece in _split_logical(_strip_parentheses(alternative), "&&"):
            piece = _strip_parentheses(piece)
            if piece.startswith(name):
                piece = piece[len(name) :]
            match = COMPARISON.match(piece)
            if not match:
                raise ValueError(f"Invalid condition for {name}: {piece!r}")
            conjuncts.append(_value_test(*match.groups()))
        tests.append(conjuncts)
    return lambda value: any(all(t(value) for t in conjunct) for conjunct in tests)


def _match_fields(specs: list, fields: list[str]) -> bool:
    if not specs:
        return not fields
    name, condition = specs[0]
    if name == "...":
        rest = specs[1:]
        return any(_match_fields(rest, fields[skip:]) for skip in range(len(fields) + 1))
    if not fields:
        return False
    if condition is not None and not condition(fields[0]):
        return False
    return _match_fields(specs[1:], fields[1:])


# -- JSON -----------------------------------------------------------------------------------
SELECTOR = re.compile(r"^\$((?:\.[A-Za-z_@][\w@-]*|\[\d+\]|\.\*|\[\*\])*)")


def _select(document: object, path: str) -> list[object]:
    """Every value ``path`` (``.a.b[0]``, with ``*`` wildcards) selects; [] if none."""
    values = [document]
    for step in re.findall(r"\.([A-Za-z_@][\w@-]*|\*)|\[(\d+|\*)\]", path):
        key, index = step
        selected = []
        for value in values:
            if key == "*" or index == "*":
                if isinstance(value, dict):
                    selected += list(value.values())
                elif isinstance(value, list):
                    selected += value
            elif key:
                if isinstance(value, dict) and key in value:
                    selected.append(value[key])
            elif isinstance(value, list) and int(index) < len(value):
                selected.append(value[int(index)])
        values = selected
    return values


def _json_clause(text: str) -> Callable[[object], bool]:
    text = _strip_parentheses(text)
    for operator in ("||", "&&"):
        parts = _split_logical(text, operator)
        if len(parts) > 1:
            clauses = [_json_clause(part) for part in parts]
            combine = any if operator == "||" else all
            return lambda document: combine(c(document) for c in clauses)
    match = SELECTOR.match(text)
    if not match:
        raise ValueError(f"Invalid JSON filter clause: {text!r}")
    path, rest = match.group(1), text[match.end() :].strip()
    special = rest.upper().replace(" ", "")
    if special in ("ISNULL", "NOTEXISTS", "EXISTS", "ISTRUE", "ISFALSE"):

        def check(document: object) -> bool:
            values = _select(document, path)
            if special == "NOTEXISTS":
                return not values
            if special == "EXISTS":
                return bool(values)
            if special == "ISNULL":
                return any(v is None for v in values)
            return any(v is (special == "ISTRUE") for v in values)

        return check
    comparison = COMPARISON.match(rest)
    if not comparison:
        raise ValueError(f"Invalid JSON filter clause: {text!r}")
    operator, expected = comparison.groups()
    if operator in ("=", "!=") and expected.startswith("%") and expected.endswith("%"):
        regex = re.compile(expected[1:-1])

        def test(value: object) -> bool:
            found = value is not None and regex.search(str(value)) is not None
            return found if operator == "=" else not found

    else:
        test = _value_test(operator, expected)
    return lambda document: any(test(v) for v in _select(document, path) if v is not None)


def _json_pattern(text: str) -> Matcher:
    if not text.endswith("}"):
        raise ValueError("A JSON filter pattern ends with }")
    clause = _json_clause(text[1:-1])

    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return clause(document)

    return matches
