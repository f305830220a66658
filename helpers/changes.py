"""What a catch-up actually created or changed, read from the API calls it made.

``resources.catch_up`` only creates what is missing, so most of its steps call nothing that
changes anything. Recording the calls that do (``CreateBucket``, ``CreateFunction``,
``UpdatePipeline``, ...) — and only those that succeeded — lets it say what it did instead of
listing the notebooks it looked at.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .workbook import Workbook

SERVICES = ("s3", "iam", "lambda", "codepipeline")


def _policy(params: dict) -> str:
    return params["PolicyArn"].rsplit("/", 1)[-1]


def _stages(params: dict) -> str:
    stages = ", ".join(stage["name"] for stage in params["pipeline"]["stages"])
    return f"updated pipeline {params['pipeline']['name']} (stages {stages})"


# The calls that create or change something, each as the words a learner would use.
SAID: dict[str, Callable[[dict], str]] = {
    "CreateBucket": lambda p: f"created bucket {p['Bucket']}",
    "PutObject": lambda p: f"uploaded {p['Key']}",
    "CreateRole": lambda p: f"created role {p['RoleName']}",
    "CreatePolicy": lambda p: f"created policy {p['PolicyName']}",
    "CreatePolicyVersion": lambda p: f"added a version to policy {_policy(p)}",
    "SetDefaultPolicyVersion": lambda p: f"made {p['VersionId']} policy {_policy(p)}'s default",
    "CreateFunction": lambda p: f"created function {p['FunctionName']}",
    "UpdateFunctionCode": lambda p: f"updated function {p['FunctionName']}'s code",
    "UpdateFunctionConfiguration": lambda p: f"updated function {p['FunctionName']}'s settings",
    "CreatePipeline": lambda p: f"created pipeline {p['pipeline']['name']}",
    "UpdatePipeline": _stages,
}

_ids = itertools.count()
_active: list[tuple[list[str], set[str]]] = []  # (said, operations whose next line is replaced)


def explain(text: str, replaces: str | None = None) -> None:
    """Say what a catch-up changed in the learner's words, with what was there before, e.g.
    "MyLambdaAction's UserParameters back to the page's check; yours were '…'". ``replaces``
    (an operation, e.g. "UpdatePipeline") drops the generic line of its next call. Outside a
    ``recording`` block it does nothing."""
    for said, replaced in _active:
        said.append(text)
        if replaces:
            replaced.add(replaces)


@contextmanager
def recording(book: Workbook) -> Iterator[list[str]]:
    """Within the block, every successful call of ``SAID`` made through the book's clients is
    appended to the list yielded, in words."""
    said: list[str] = []
    replaced: set[str] = set()
    key = f"workbook-changes-{next(_ids)}"

    def keep_params(params: dict, model, context: dict, **_) -> None:
        if model.name in SAID:
            context[key] = params

    def after(http_response, model, context: dict, **_) -> None:
        if key in context and http_response.status_code < 300:
            if model.name in replaced:
                replaced.discard(model.name)
            else:
                said.append(SAID[model.name](context[key]))

    clients = [book.client(service) for service in SERVICES]
    for client in clients:
        client.meta.events.register("provide-client-params", keep_params, unique_id=key + "p")
        client.meta.events.register("after-call", after, unique_id=key + "a")
    _active.append((said, replaced))
    try:
        yield said
    finally:
        _active.remove((said, replaced))
        for client in clients:
            client.meta.events.unregister("provide-client-params", unique_id=key + "p")
            client.meta.events.unregister("after-call", unique_id=key + "a")


class CaughtUp(dict):
    """Notebook number -> what catching up on it did; empty (false) when nothing was missing.
    Printed, it is one line: ``01 (created bucket ..., created pipeline ...), 02 (...)``."""

    def __str__(self) -> str:
        return ", ".join(f"{number} ({', '.join(done)})" for number, done in self.items())
