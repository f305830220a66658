"""An execution environment's Runtime API serves that environment alone.

Any process of the machine can connect to 127.0.0.1 — another user's on a shared server too —
and find the port in /proc/net/tcp. Whoever got ``/invocation/next`` first would read the event
(a pipeline job's carries artifact credentials), and a response it posted would be what the
caller's Invoke returns. Here other processes try exactly that, under each lock
(``runtime_api.py``): ``peer`` (the kernel names the connection's process; Linux) and
``token`` (a secret the client reads from stdin). They get 403 and learn nothing; the real
invocation still gets the real response, through each real runtime client.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import socket
import subprocess
import sys
import threading
import time

import pytest

from helpers.localcloud.awslambda import peer
from helpers.localcloud.awslambda.models import FunctionSpec, Invocation
from helpers.localcloud.awslambda.runtime import _unchecked_credentials
from helpers.localcloud.awslambda.runtime_api import PREFIX, RuntimeApi, authorization
from helpers.localcloud.awslambda.runtimes import find_node
from helpers.localcloud.awslambda.worker import Worker, has_awslambdaric
from helpers.localcloud.errors import AwsError

from .test_runtime_api import StandInEnvironment, invocation

PEER_MISSING = peer.works() if sys.platform.startswith("linux") else "not Linux"
CHECKS = [
    pytest.param(
        "peer",
        marks=pytest.mark.skipif(
            PEER_MISSING is not None, reason=f"no kernel peer check here: {PEER_MISSING}"
        ),
    ),
    "token",
]
STRANGER_USER = "lcstranger"

# The environment's own client, as a runtime interface client does it: the secret (if any) is
# the first line on stdin; it takes the next invocation, says so, waits for a line, answers.
CLIENT = f"""
import base64, http.client, json, sys
address, secret = sys.argv[1], sys.stdin.readline().strip()
token = base64.b64encode(("lambda:" + secret).encode()).decode()
headers = {{"Authorization": "Basic " + token}} if secret else {{}}
connection = http.client.HTTPConnection(address, timeout=10)
connection.request("GET", "{PREFIX}/invocation/next", headers=headers)
reply = connection.getresponse()
event = reply.read().decode()
request_id = reply.getheader("Lambda-Runtime-Aws-Request-Id")
print(json.dumps({{"status": reply.status, "id": request_id, "event": event}}), flush=True)
sys.stdin.readline()
path = "{PREFIX}/invocation/" + str(request_id) + "/response"
connection.request("POST", path, b'"real"', headers)
reply = connection.getresponse()
reply.read()
print(json.dumps({{"status": reply.status}}), flush=True)
"""
# The same client, run by a child of the environment's process (a helper the function starts)
THROUGH_A_CHILD = (
    "import subprocess, sys\n"
    "sys.exit(subprocess.call([sys.executable, '-c', sys.argv[1], *sys.argv[2:]]))\n"
)


def request(address: str, method: str, path: str, body: bytes = b"", headers=None):
    """(status, parsed body, whether the server closed the connection) of one request."""
    connection = http.client.HTTPConnection(address, timeout=5)
    try:
        connection.request(method, PREFIX + path, body or None, headers or {})
        reply = connection.getresponse()
        data = reply.read()
        return reply.status, json.loads(data), reply.will_close
    finally:
        connection.close()


def raw_request(address: str, method: str, path: str, body: bytes = b"") -> bytes:
    """The server's whole answer to one request, read until it closes the connection."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        head = f"{method} {PREFIX}{path} HTTP/1.1\r\nHost: {address}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        connection.sendall(head.encode() + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def stranger(address: str, method: str, path: str, body: bytes = b"") -> tuple[int, dict]:
    """A request from another process of this user that knows the port (not the
    environment's process, nor one it started)."""
    script = (
        "import http.client, json, sys\n"
        "connection = http.client.HTTPConnection(sys.argv[1], timeout=5)\n"
        "connection.request(sys.argv[2], sys.argv[3], sys.argv[4].encode() or None)\n"
        "reply = connection.getresponse()\n"
        "print(json.dumps([reply.status, json.loads(reply.read())]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, address, method, PREFIX + path, body.decode()],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    status, answer = json.loads(done.stdout)
    return status, answer


class EnvironmentProcess:
    """A process playing the environment's runtime client (``CLIENT``), admitted by its id."""

    def __init__(self, api: RuntimeApi, through_a_child: bool = False):
        command = [sys.executable, "-c", CLIENT, api.address]
        if through_a_child:
            command = [sys.executable, "-c", THROUGH_A_CHILD, CLIENT, api.address]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        api.admit(self.process.pid)
        self.process.stdin.write((api.secret or "") + "\n")
        self.process.stdin.flush()

    def said(self) -> dict:
        return json.loads(self.process.stdout.readline())

    def answer(self) -> dict:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        said = self.said()
        assert self.process.wait(10) == 0
        return said


@pytest.fixture(params=CHECKS)
def locked(request):
    environment = StandInEnvironment()
    api = RuntimeApi(environment, request.param)
    yield environment, api
    api.close()


def assert_refused(status: int, answer: dict) -> None:
    assert status == 403
    assert answer["errorType"] == "Forbidden"


def test_another_process_can_neither_take_nor_answer_the_invocation(locked):
    environment, api = locked
    event = invocation(b'{"artifactCredentials": "secret"}')
    environment.invocations.put(event)
    own = EnvironmentProcess(api)
    # a stranger's poll is answered at once, and takes nothing: the invocation stays queued
    # for the environment's process (which is just starting)
    started = time.monotonic()
    assert_refused(*stranger(api.address, "GET", "/invocation/next"))
    assert time.monotonic() - started < 5
    got = own.said()
    assert (got["status"], got["id"]) == (200, event.request_id)
    assert json.loads(got["event"]) == {"artifactCredentials": "secret"}
    for path in (
        f"/invocation/{event.request_id}/response",
        f"/invocation/{event.request_id}/error",
        "/init/error",
    ):
        assert_refused(*stranger(api.address, "POST", path, b'"forged"'))
    assert environment.responses == environment.errors == environment.init_errors == []
    assert own.answer()["status"] == 202
    assert environment.responses == [(event.request_id, b'"real"')]


def test_a_refusal_closes_the_connection_and_says_nothing_of_the_invocation(locked):
    environment, api = locked
    api.admit(None)  # an environment whose process has ended: nobody is served
    environment.invocations.put(invocation(b'{"k": "v"}'))
    status, answer, closed = request(api.address, "GET", "/invocation/next")
    assert (status, closed) == (403, True)
    assert answer == {
        "errorType": "Forbidden",
        "errorMessage": "Only this execution environment may use its Runtime API",
    }
    # a refused POST's body is dropped, unread by the environment: the 403 still arrives
    whole = raw_request(api.address, "POST", "/invocation/x/response", b"x" * 300_000)
    assert whole.startswith(b"HTTP/1.1 403 ") and b"Connection: close" in whole
    assert b"Lambda-Runtime-Aws-Request-Id" not in whole
    assert environment.invocations.qsize() == 1 and environment.responses == []


def test_the_browser_refusal_still_comes_first(locked):
    environment, api = locked
    status, answer, _ = request(
        api.address, "GET", "/invocation/next", headers={"Origin": "https://example.com"}
    )
    assert (status, answer["errorMessage"]) == (403, "Not for browsers")


@pytest.mark.skipif(PEER_MISSING is not None, reason=f"no kernel peer check: {PEER_MISSING}")
def test_peer_a_process_the_environment_started_may_use_it():
    environment = StandInEnvironment()
    api = RuntimeApi(environment, "peer")
    try:
        event = invocation()
        environment.invocations.put(event)
        helper = EnvironmentProcess(api, through_a_child=True)
        assert helper.said()["status"] == 200
        assert helper.answer()["status"] == 202
        assert environment.responses == [(event.request_id, b'"real"')]
    finally:
        api.close()


@pytest.mark.skipif(PEER_MISSING is not None, reason=f"no kernel peer check: {PEER_MISSING}")
def test_peer_the_environments_parent_is_not_the_environment():
    """The local cloud itself (here: this test process) started the environment's process;
    being its parent doesn't make it the environment."""
    environment = StandInEnvironment()
    api = RuntimeApi(environment, "peer")
    try:
        own = EnvironmentProcess(api)
        environment.invocations.put(invocation())
        assert own.said()["status"] == 200
        status, _, _ = request(api.address, "GET", "/invocation/next")
        assert status == 403
        own.answer()
    finally:
        api.close()


def test_token_a_wrong_secret_is_refused():
    environment = StandInEnvironment()
    api = RuntimeApi(environment, "token")
    try:
        environment.invocations.put(invocation())
        for given in ("", authorization("not-the-secret"), "Bearer " + api.secret):
            headers = {"Authorization": given} if given else {}
            status, _, closed = request(api.address, "GET", "/invocation/next", headers=headers)
            assert (status, closed) == (403, True)
        assert environment.invocations.qsize() == 1
        status, _, _ = request(
            api.address,
            "GET",
            "/invocation/next",
            headers={"Authorization": authorization(api.secret)},
        )
        assert status == 200
    finally:
        api.close()


# -- another Unix user ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def stranger_uid():
    """A user other than this one, created with useradd when the tests run as root (and
    removed again afterwards if it was created here)."""
    if sys.platform != "linux":
        pytest.skip("another Unix user is created with useradd, on Linux")
    if os.geteuid() != 0:
        pytest.skip("creating another Unix user to connect as needs root (run as root to test)")
    try:
        yield pwd.getpwnam(STRANGER_USER).pw_uid
        return
    except KeyError:
        pass
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", STRANGER_USER],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"useradd could not create {STRANGER_USER}: {made.stderr.strip()}")
    try:
        yield pwd.getpwnam(STRANGER_USER).pw_uid
    finally:
        subprocess.run(["userdel", STRANGER_USER], capture_output=True)


def as_another_user(uid: int, address: str, method: str, path: str) -> bytes:
    """One raw request from a process running as ``uid``: a fork of this one that drops to
    that user (the venv's interpreter may live where that user can't run it)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no locks, no imports, only system calls until _exit
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            if os.getuid() == uid:
                os.write(
                    write, raw_request(address, method, path, b"{}" if method == "POST" else b"")
                )
                code = 0
        finally:
            os._exit(code)
    os.close(write)
    answer = b""
    while chunk := os.read(read, 65536):
        answer += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the other user's process could not run"
    return answer


@pytest.mark.parametrize("check", CHECKS)
def test_another_unix_user_is_refused(check, stranger_uid):
    uid = stranger_uid
    environment = StandInEnvironment()
    api = RuntimeApi(environment, check)
    try:
        event = invocation(b'{"artifactCredentials": "secret"}')
        environment.invocations.put(event)
        own = EnvironmentProcess(api)
        for method, path in (
            ("GET", "/invocation/next"),
            ("POST", f"/invocation/{event.request_id}/response"),
        ):
            answer = as_another_user(uid, api.address, method, path)
            assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
            assert b"artifactCredentials" not in answer
        assert own.said()["id"] == event.request_id
        assert own.answer()["status"] == 202
        assert environment.responses == [(event.request_id, b'"real"')]
    finally:
        api.close()


# -- the real runtime clients, in a real execution environment ------------------------------
PYTHON_WAITS = """
import os, pathlib, time
def handler(event, context):
    pathlib.Path(event["id_file"]).write_text(context.aws_request_id)
    go, deadline = pathlib.Path(event["go_file"]), time.time() + 10
    while not go.exists() and time.time() < deadline:
        time.sleep(0.01)
    return {"real": True, "api": os.environ["AWS_LAMBDA_RUNTIME_API"]}
"""
NODE_WAITS = """
const fs = require("fs");
exports.handler = async (event, context) => {
  fs.writeFileSync(event.id_file, context.awsRequestId);
  const deadline = Date.now() + 10000;
  while (!fs.existsSync(event.go_file) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { real: true, api: process.env.AWS_LAMBDA_RUNTIME_API };
};
"""


def _node_missing() -> str | None:
    try:
        find_node()
    except AwsError as missing:
        return missing.message
    return None


CLIENTS = [
    pytest.param(
        "awslambdaric",
        marks=pytest.mark.skipif(not has_awslambdaric(), reason="awslambdaric: Linux only"),
    ),
    "builtin",
    pytest.param(
        "node",
        marks=pytest.mark.skipif(_node_missing() is not None, reason=f"{_node_missing()}"),
    ),
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("check", CHECKS)
def test_the_runtime_clients_get_through_and_nobody_else(tmp_path, check, client):
    node = client == "node"
    task = tmp_path / "task"
    task.mkdir()
    (task / ("index.js" if node else "app.py")).write_text(NODE_WAITS if node else PYTHON_WAITS)
    runtime = "nodejs20.x" if node else "python3.12"
    spec = FunctionSpec(
        region="us-east-1",
        name="locked",
        arn="arn:aws:lambda:us-east-1:123456789012:function:locked",
        version="$LATEST",
        handler="index.handler" if node else "app.handler",
        runtime=runtime,
        memory_mb=256,
        timeout_s=15,
        code_sha256="locked",
        role="arn:aws:iam::123456789012:role/locked",
        environment=(),
    )
    worker = Worker(
        spec,
        str(task),
        "http://127.0.0.1:9",
        _unchecked_credentials(spec.role, spec.name),
        client,
        runtime_api_check=check,
    )
    try:
        id_file, go_file = tmp_path / "request-id", tmp_path / "go"
        event = {"id_file": str(id_file), "go_file": str(go_file)}
        call = Invocation(payload=json.dumps(event).encode(), function_arn=spec.arn, timeout_s=15)
        running = threading.Thread(target=worker.run, args=(call,))
        running.start()
        deadline = time.monotonic() + 20
        while not id_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        request_id = id_file.read_text()
        assert request_id == call.request_id
        address = worker.api.address
        assert_refused(*request(address, "GET", "/invocation/next")[:2])
        assert_refused(*stranger(address, "GET", "/invocation/next"))
        forged = f"/invocation/{request_id}/response"
        assert_refused(*request(address, "POST", forged, b'{"real": false}')[:2])
        assert_refused(*stranger(address, "POST", forged, b'{"real": false}'))
        if check == "token":
            wrong = {"Authorization": authorization("guessed")}
            assert request(address, "POST", forged, b"{}", wrong)[0] == 403
        go_file.write_text("go")
        running.join(20)
        assert call.error is None, call.error
        assert json.loads(call.response) == {"real": True, "api": address}
        # warm: the client's next poll, on its connection, is still served
        id_file.unlink()
        again = Invocation(payload=json.dumps(event).encode(), function_arn=spec.arn, timeout_s=15)
        worker.run(again)
        assert again.error is None and json.loads(again.response)["real"] is True
    finally:
        worker.retire()
