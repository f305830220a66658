"""What locking each execution environment's Runtime API to it costs (`runtime_api.py`,
`peer.py`). `make bench` reports it; `python bench/runtime_api.py` measures it alone.

- the peer check of one connection (Linux), once per connection: accepted (the socket is the
  environment's process's), refused as another user's socket (the kernel lookup alone: the
  uid differs), and refused as another process of this user's (its files, then every process
  of this user, looked through for the environment's descendants);
- the token check of one request (a header compared);
- a cold start's Init Duration, median, under each lock, with each runtime client here.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.localcloud.awslambda import peer
from helpers.localcloud.awslambda.models import FunctionSpec, Invocation
from helpers.localcloud.awslambda.runtime import _unchecked_credentials
from helpers.localcloud.awslambda.runtime_api import Lock, authorization
from helpers.localcloud.awslambda.runtimes import find_node
from helpers.localcloud.awslambda.worker import Worker, has_awslambdaric
from helpers.localcloud.errors import AwsError

COLD_STARTS = 7
# A process that holds one connection to a port, as a runtime client does, until stdin ends
HOLDER = (
    "import socket, sys\n"
    "connection = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "print('connected', flush=True)\n"
    "sys.stdin.read()\n"
)


def _per_call_us(call, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        call()
    return (time.perf_counter() - started) / rounds * 1e6


def check_microseconds(rounds: int = 2000) -> dict[str, float]:
    """Microseconds per check; the peer figures are absent where the peer check doesn't work."""
    lock = Lock("token")
    headers = {"Authorization": authorization(lock.secret)}
    figures = {
        "token check per request": _per_call_us(lambda: lock.allows_request(headers), rounds)
    }
    if peer.works() is not None:
        return figures
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(server.getsockname()[1])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stranger = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
        )
        try:
            holder.stdout.readline()
            connection, _ = server.accept()
            with connection:
                peer_address, local = connection.getpeername(), connection.getsockname()
                assert peer.is_from(connection, holder.pid)
                assert not peer.is_from(connection, stranger.pid)
                figures["peer check, accepted"] = _per_call_us(
                    lambda: peer.is_from(connection, holder.pid), rounds
                )
                figures["peer check, another user's (lookup)"] = _per_call_us(
                    lambda: peer.socket_owner(peer_address, local), rounds
                )
                figures["peer check, another process of yours"] = _per_call_us(
                    lambda: peer.is_from(connection, stranger.pid), max(20, rounds // 100)
                )
        finally:
            for process in (holder, stranger):
                process.stdin.close()
                process.wait(10)
    return figures


def _clients() -> list[str]:
    clients = ["builtin"] + (["awslambdaric"] if has_awslambdaric() else [])
    try:
        find_node()
        clients.append("node")
    except AwsError:
        pass
    return clients


def cold_start_ms(check: str, client: str, rounds: int = COLD_STARTS) -> float:
    """Median Init Duration of a new environment (its process started, then its first poll)."""
    node = client == "node"
    with tempfile.TemporaryDirectory(prefix="bench-runtime-api-") as task:
        name = "index.js" if node else "app.py"
        source = (
            "exports.handler = async () => 1;\n" if node else "def handler(e, c):\n    return 1\n"
        )
        Path(task, name).write_text(source)
        spec = FunctionSpec(
            region="us-east-1",
            name="bench-lock",
            arn="arn:aws:lambda:us-east-1:123456789012:function:bench-lock",
            version="$LATEST",
            handler="index.handler" if node else "app.handler",
            runtime="nodejs20.x" if node else "python3.12",
            memory_mb=256,
            timeout_s=10,
            code_sha256="bench",
            role="arn:aws:iam::123456789012:role/bench",
            environment=(),
        )
        samples = []
        for _ in range(rounds):
            worker = Worker(
                spec,
                task,
                "http://127.0.0.1:9",
                _unchecked_credentials(spec.role, spec.name),
                client,
                runtime_api_check=check,
            )
            try:
                call = Invocation(payload=b"{}", function_arn=spec.arn, timeout_s=10)
                worker.run(call)
                assert call.error is None, call.error
                samples.append(worker.init_ms)
            finally:
                worker.retire()
        return statistics.median(samples)


def measure() -> dict:
    checks = ["token"] + (["peer"] if peer.works() is None else [])
    return {
        "checks_us": check_microseconds(),
        "cold_start_ms": {
            (check, client): cold_start_ms(check, client)
            for client in _clients()
            for check in checks
        },
    }


def print_figures(figures: dict) -> None:
    print("\nthe Runtime API's lock (each environment's API serves that environment alone)\n")
    print(f"{'check':44} {'us':>10}")
    for name, us in figures["checks_us"].items():
        print(f"{name:44} {us:10.1f}")
    print(f"\n{'cold start (Init Duration, median)':44} {'ms':>10}")
    for (check, client), ms in figures["cold_start_ms"].items():
        print(f"{f'{client}, {check}':44} {ms:10.1f}")


if __name__ == "__main__":
    print_figures(measure())
