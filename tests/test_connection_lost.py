"""After `make stop`, a cell shows one line saying what happened and what to run — not a
239-line traceback ending in EndpointConnectionError. (Once the local cloud runs again, the
clients follow it on their own: workbook.follow_local_cloud_restarts.)"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from helpers import workbook

GONE = "http://127.0.0.1:9/"  # nothing listens on port 9


class FakeShell:
    """What the handler uses of IPython's shell: set_custom_exc and the two traceback calls."""

    def __init__(self):
        self.handler = None
        self.shown: list[list[str]] = []
        self.full: list[tuple] = []

    def set_custom_exc(self, exceptions, handler):
        self.exceptions, self.handler = exceptions, handler

    def _showtraceback(self, etype, value, stb):
        self.shown.append(stb)

    def showtraceback(self, exc_tuple=None, tb_offset=None):
        self.full.append(exc_tuple)


@pytest.fixture
def shell(monkeypatch):
    import IPython

    fake = FakeShell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: fake)
    workbook._say_when_the_local_cloud_is_gone()
    assert EndpointConnectionError in fake.exceptions
    return fake


@pytest.fixture
def local_target(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBOOK_TARGET", "local")
    monkeypatch.setenv("LOCALCLOUD_STATE_DIR", str(tmp_path))
    return tmp_path


def raise_(error):
    try:
        raise error
    except Exception as raised:
        return type(raised), raised, raised.__traceback__


def test_a_stopped_local_cloud_is_one_line_saying_what_to_run(shell, local_target):
    etype, value, tb = raise_(EndpointConnectionError(endpoint_url=GONE))
    shell.handler(shell, etype, value, tb)
    assert len(shell.shown) == 1 and len(shell.shown[0]) == 1
    line = shell.shown[0][0]
    assert line.startswith("✗ The local cloud at http://127.0.0.1:9 isn't answering")
    assert "make stop" in line and "first cell" in line and "\n" not in line


def test_other_errors_keep_their_traceback(shell, local_target):
    for error in (
        EndpointConnectionError(endpoint_url="https://codepipeline.us-east-1.amazonaws.com/"),
        ClientError({"Error": {"Code": "X", "Message": "y"}}, "Op"),
    ):
        shell.handler(shell, *raise_(error))
    assert shell.shown == [] and len(shell.full) == 2


def test_on_aws_it_is_not_about_the_local_cloud(shell, monkeypatch):
    monkeypatch.setenv("WORKBOOK_TARGET", "aws")
    shell.handler(shell, *raise_(EndpointConnectionError(endpoint_url=GONE)))
    assert shell.shown == [] and len(shell.full) == 1
