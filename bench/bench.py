"""`make bench`: how fast the local cloud is, as ratios against a cold boto3 start in the same run.

Measures (medians): local cloud start-up; a cold `python -c "import boto3; boto3.client('s3')"`
(the yardstick); cold and warm release latency of a Source -> Lambda health-check pipeline;
warm and cold invoke overhead (wall time of an Invoke minus the Duration the REPORT line gives);
what the access gate (SigV4 check and IAM evaluation) costs one request; what keeping state costs
(a write request with and without the state store, a start-up that restores a session's state);
a room's load (bench/load.py): 20 releases of 5 pipelines at once and 200 invokes from 16
threads — throughput, p50/p99 latency, and what limits them on this machine; and what locking
each execution environment's Runtime API costs (bench/runtime_api.py): the check of a
connection or a request, and a cold start under each lock.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
import load  # bench/load.py, beside this script
import runtime_api  # bench/runtime_api.py
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers import localcloud, packaging, pipelines, resources

ROUNDS = 7
SETTLED = {"Delay": 0.05, "MaxAttempts": 200}  # the waiters poll every second by default


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def time_command(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> None:
    boto3_cold = [
        time_command([sys.executable, "-c", "import boto3; boto3.client('s3')"])
        for _ in range(ROUNDS)
    ]
    startups = []
    with tempfile.TemporaryDirectory(prefix="bench-") as state:
        for _ in range(3):
            started = time.perf_counter()
            process, endpoint = localcloud.start(state=state)
            startups.append(time.perf_counter() - started)
            process.terminate()
            process.wait(10)
        process, endpoint = localcloud.start(state=state)
        try:
            results = run_against(endpoint, localcloud.owner_credentials(state))
            room = run_load(endpoint, localcloud.owner_credentials(state), process.pid)
            kept = health(endpoint)["state"]
        finally:
            process.terminate()
            process.wait(30)
        started = time.perf_counter()  # a start that restores all of the above
        process, endpoint = localcloud.start(state=state)
        restored_startup = time.perf_counter() - started
        process.terminate()
        process.wait(30)
        auth_us = auth_check_microseconds(state)
    writes = write_latencies()
    lock = runtime_api.measure()
    baseline = median_ms(boto3_cold)
    rows = [
        ("boto3 cold start (yardstick)", baseline, None),
        ("local cloud start-up", median_ms(startups), None),
        ("cold release (new worker)", results["cold release"], results["cold release"] / baseline),
        ("warm release", results["warm release"], results["warm release"] / baseline),
        ("cold invoke, wall time", results["cold invoke"], None),
        ("cold invoke overhead", results["cold invoke overhead"], None),
        ("warm invoke overhead", results["warm invoke overhead"], None),
        ("auth check per request (SigV4 + IAM)", auth_us / 1000, None),
    ]
    print(f"\nmedians of {ROUNDS} runs on this machine\n")
    print(f"{'measure':34} {'ms':>10} {'x boto3':>9}")
    for name, ms, ratio in rows:
        print(f"{name:34} {ms:10.2f} {'' if ratio is None else f'{ratio:9.3f}'}")
    print(
        "\ntargets: warm release < 0.10x, cold release < 2x, warm invoke overhead < 2 ms, "
        "start-up < 2 s"
    )
    print_state(kept, writes, restored_startup)
    print_load(room)
    runtime_api.print_figures(lock)


def health(endpoint: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(endpoint + localcloud.HEALTH_PATH, timeout=5) as reply:
        return json.load(reply)


def write_latencies(rounds: int = 60) -> dict[bool, dict[str, float]]:
    """Median latency of requests to two fresh local clouds, one keeping state and one not,
    taking turns request by request so both see the same machine."""
    clouds = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-kept-") as kept,
        tempfile.TemporaryDirectory(prefix="bench-unkept-") as unkept,
    ):
        try:
            for persist, state in ((True, kept), (False, unkept)):
                process, endpoint = localcloud.start(state=state, persist=persist)
                owner = localcloud.owner_credentials(state)
                session = boto3.Session(
                    aws_access_key_id=owner.access_key_id,
                    aws_secret_access_key=owner.secret_access_key,
                    region_name="us-east-1",
                )
                s3 = session.client("s3", endpoint_url=endpoint)
                iam = session.client("iam", endpoint_url=endpoint)
                s3.create_bucket(Bucket="bench-writes")
                clouds[persist] = (process, s3, iam)
            body = b"x" * 1024
            samples: dict[bool, dict[str, list[float]]] = {True: {}, False: {}}

            def timed(persist: bool, name: str, call, *args, **kwargs) -> None:
                started = time.perf_counter()
                call(*args, **kwargs)
                samples[persist].setdefault(name, []).append(time.perf_counter() - started)

            def get(s3, key: str) -> bytes:
                return s3.get_object(Bucket="bench-writes", Key=key)["Body"].read()

            for i in range(rounds):
                for persist, (_, s3, iam) in clouds.items():
                    key = f"k{i}"
                    timed(
                        persist,
                        "PutObject",
                        s3.put_object,
                        Bucket="bench-writes",
                        Key=key,
                        Body=body,
                    )
                    timed(persist, "GetObject", get, s3, key)
                    if i % 3 == 0:
                        timed(persist, "CreateUser", iam.create_user, UserName=f"bench-user-{i}")
        finally:
            for process, _, _ in clouds.values():
                process.terminate()
                process.wait(30)
    return {
        persist: {name: median_ms(values) for name, values in by_name.items()}
        for persist, by_name in samples.items()
    }


def print_state(kept: dict, writes: dict, restored_startup: float) -> None:
    """What keeping the state costs, and what a crash can lose."""
    print("\nstate kept in the state directory (SQLite; an answered write is on disk)\n")
    print(f"{'request (median ms)':34} {'kept':>10} {'not kept':>9}")
    for name in writes[True]:
        print(f"{name:34} {writes[True][name]:10.2f} {writes[False][name]:9.2f}")
    saves, flushes = kept["saves"], kept["flushes"]
    print(
        f"\nafter the runs above: {saves['count']} synchronous saves (p50 {saves.get('p50Ms')} ms, "
        f"p99 {saves.get('p99Ms')} ms), {flushes['count']} flusher rounds (p50 "
        f"{flushes.get('p50Ms')} ms, p99 {flushes.get('p99Ms')} ms, every "
        f"{kept['flushEveryMs']:.0f} ms), store {kept['storeBytes'] / 1e6:.1f} MB"
    )
    print(f"start-up restoring that state: {restored_startup * 1000:.0f} ms")
    print(
        "a crash loses at most: the requests in flight, and the log events and pipeline "
        f"progress of the last {kept['flushEveryMs']:.0f} ms + one flusher round"
    )


def run_load(endpoint: str, owner, server_pid: int) -> dict:
    """A room's load (bench/load.py) on the running local cloud, with what it cost the CPU."""
    from botocore.config import Config

    session = boto3.Session(
        aws_access_key_id=owner.access_key_id,
        aws_secret_access_key=owner.secret_access_key,
        region_name="us-east-1",
    )
    config = Config(retries={"max_attempts": 1}, read_timeout=120, max_pool_connections=32)
    clients: dict = {}

    def client(service: str):
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint, config=config)
        return clients[service]

    lambda_role = client("iam").get_role(RoleName="bench-fn")["Role"]["Arn"]
    pipeline_role = client("iam").get_role(RoleName="bench-pipe")["Role"]["Arn"]
    client("iam").put_role_policy(
        RoleName="bench-fn",
        PolicyName="report-job-results",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "codepipeline:PutJob*", "Resource": "*"}
                ],
            }
        ),
    )
    names = load.create_load_pipelines(client, lambda_role, pipeline_role, 5, prefix="bench")
    function = load.create_echo_function(client, lambda_role, "bench-echo")
    result = {}
    for kind in ("releases", "invokes"):
        cpu, machine = load.cpu_seconds(server_pid), load.machine_busy()
        if kind == "releases":
            runs, wall = load.run_releases(client("codepipeline"), names, 4)
            ok = sum(
                r.status == "Succeeded"
                and r.action["output"]["outputVariables"]["marker"] == r.expected_marker
                for r in runs
            )
        else:
            runs, wall = load.run_invokes(client("lambda"), function, 200, 16)
            ok = sum(
                i.status == 200
                and not i.function_error
                and i.answer.get("echo") == {"sent": i.sent}
                for i in runs
            )
            result["environments"] = len({i.answer.get("pid") for i in runs})
        cpu_after, machine_after = load.cpu_seconds(server_pid), load.machine_busy()
        figures = load.figures([r.seconds for r in runs], wall)
        figures["ok"] = ok
        if cpu is not None and cpu_after is not None:
            figures["server_cpu_ms_each"] = (cpu_after - cpu) / len(runs) * 1000
        if machine and machine_after:
            busy = machine_after[0] - machine[0]
            figures["machine_busy"] = busy / max(1.0, machine_after[1] - machine[1])
        result[kind] = figures
    return result


def print_load(room: dict) -> None:
    import os

    cores = os.cpu_count() or 1
    print(
        f"\na room's load on this machine ({cores} cores, shared by the client, the server "
        "and the functions)\n"
    )
    print(f"{'load':44} {'ok':>4} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms':>14}")
    for kind, label in (
        ("releases", "20 releases, 5 pipelines at once"),
        ("invokes", "200 invokes from 16 threads"),
    ):
        f = room[kind]
        cpu = f.get("server_cpu_ms_each")
        print(
            f"{label:44} {f['ok']:>4} {f['throughput_per_s']:7.1f} {f['p50_ms']:8.1f} "
            f"{f['p99_ms']:8.1f} {'' if cpu is None else f'{cpu:14.2f}'}"
        )
    print(
        f"\nenvironments the invoke load started (the pool grows, then is reused): "
        f"{room['environments']}"
    )
    for kind in ("releases", "invokes"):
        f = room[kind]
        busy, cpu = f.get("machine_busy"), f.get("server_cpu_ms_each")
        if busy is None or cpu is None:
            continue
        ceiling = 1000 / cpu if cpu else float("inf")
        print(
            f"{kind}: the CPUs were {busy:.0%} busy; the server alone spends {cpu:.1f} ms of CPU "
            f"on each, so one core caps it at ~{ceiling:.0f}/s. "
            + (
                f"With {cores} cores saturated, the machine is the limit, not the local cloud's "
                "design: the Python server (one GIL), the function processes and the client "
                "compete for the same cores."
                if busy > 0.85
                else "The CPUs were not saturated: latency is waiting (function run time, "
                "polling), not CPU."
            )
        )


def auth_check_microseconds(state: str) -> float:
    """What the gate costs a request: verify a signed Invoke and evaluate the caller's policy."""
    from helpers.localcloud import server  # noqa: F401 - loads AWS managed policies first
    from helpers.localcloud.access import credentials
    from helpers.localcloud.access.gate import Gate
    from helpers.localcloud.backends import ACCOUNT_ID

    owner = credentials.load(state)
    credentials.install_owner(owner, ACCOUNT_ID)
    gate = Gate(ACCOUNT_ID)
    url = "http://127.0.0.1:4566/2015-03-31/functions/bench-noop/invocations"
    request = AWSRequest(method="POST", url=url, data=b"{}")
    SigV4Auth(
        Credentials(owner.access_key_id, owner.secret_access_key), "lambda", "us-east-1"
    ).add_auth(request)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/2015-03-31/functions/bench-noop/invocations",
        "RAW_URI": "/2015-03-31/functions/bench-noop/invocations",
        "QUERY_STRING": "",
        "HTTP_HOST": "127.0.0.1:4566",
        "CONTENT_LENGTH": "2",
        **{
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in request.headers.items()
        },
    }
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        gate.check(environ, b"{}", lambda bucket, key: False)
    return (time.perf_counter() - started) / rounds * 1e6


def run_against(endpoint: str, owner) -> dict[str, float]:
    session = boto3.Session(
        aws_access_key_id=owner.access_key_id,
        aws_secret_access_key=owner.secret_access_key,
        region_name="us-east-1",
    )
    signer = SigV4Auth(
        Credentials(owner.access_key_id, owner.secret_access_key), "lambda", "us-east-1"
    )
    client = lambda service: session.client(service, endpoint_url=endpoint)  # noqa: E731
    iam, s3, lam, cp, logs = (client(s) for s in ("iam", "s3", "lambda", "codepipeline", "logs"))
    trust = lambda service: json.dumps(  # noqa: E731
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    lambda_role = iam.create_role(
        RoleName="bench-fn", AssumeRolePolicyDocument=trust("lambda.amazonaws.com")
    )["Role"]["Arn"]
    pipeline_role = iam.create_role(
        RoleName="bench-pipe", AssumeRolePolicyDocument=trust("codepipeline.amazonaws.com")
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="bench-fn",
        PolicyName="page-policy",
        PolicyDocument=json.dumps(resources.load_policy("CodePipelineLambdaExecPolicy.json")),
    )
    iam.put_role_policy(
        RoleName="bench-pipe",
        PolicyName="buckets-and-functions",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:*", "lambda:InvokeFunction"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    for bucket in ("bench-source", "bench-store", "bench-site"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="bench-source", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(
        Bucket="bench-source", Key="site.zip", Body=packaging.zip_files({"index.html": "x"})
    )
    s3.put_object(Bucket="bench-site", Key="index.html", Body=b"<h1>Congratulations</h1>")
    resources.open_to_public_reads(s3, "bench-site")
    lam.create_function(
        FunctionName="bench-check",
        Runtime="python3.12",
        Role=lambda_role,
        Handler="health_check.lambda_handler",
        Timeout=20,
        Code={"ZipFile": packaging.function_package("health_check")},
    )
    lam.create_function(
        FunctionName="bench-noop",
        Runtime="python3.12",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": packaging.zip_files({"app.py": "def handler(e, c):\n  return 1\n"})},
    )
    # as on AWS, a new function is Pending and an updated one InProgress for a moment
    for name in ("bench-check", "bench-noop"):
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=SETTLED)
    source = pipelines.s3_source_action("Source", "bench-source", "site.zip", "SourceArtifact")
    check = pipelines.lambda_action(
        "MyLambdaAction", "bench-check", f"{endpoint}/bench-site/index.html"
    )
    cp.create_pipeline(
        pipeline={
            "name": "bench",
            "roleArn": pipeline_role,
            "artifactStore": {"type": "S3", "location": "bench-store"},
            "stages": [
                {"name": "Source", "actions": [source]},
                {"name": "LambdaStage", "actions": [check]},
            ],
        }
    )

    def release() -> float:
        started = time.perf_counter()
        execution_id = cp.start_pipeline_execution(name="bench")["pipelineExecutionId"]
        while True:
            status = cp.get_pipeline_execution(
                pipelineName="bench", pipelineExecutionId=execution_id
            )["pipelineExecution"]["status"]
            if status != "InProgress":
                break
            time.sleep(0.001)
        elapsed = time.perf_counter() - started
        assert status == "Succeeded", status
        return elapsed

    release()  # let the creation run and the first worker finish
    time.sleep(0.5)
    cold, warm = [], []
    for _ in range(ROUNDS):
        # a configuration change retires the warm worker: the next release starts a new one
        lam.update_function_configuration(
            FunctionName="bench-check", Environment={"Variables": {"ROUND": uuid.uuid4().hex}}
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName="bench-check", WaiterConfig=SETTLED)
        cold.append(release())
        warm.append(release())
        warm.append(release())

    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port))
    duration = re.compile(r"\tDuration: (\d+\.\d+) ms")
    init = re.compile(r"\tInit Duration: (\d+\.\d+) ms")

    def raw_invoke(name: str) -> tuple[float, float]:
        path = f"/2015-03-31/functions/{name}/invocations"
        started = time.perf_counter()
        request = AWSRequest(
            method="POST", url=endpoint + path, data=b"{}", headers={"X-Amz-Log-Type": "Tail"}
        )
        signer.add_auth(request)  # signed, as every request must be
        connection.request("POST", path, body=b"{}", headers=dict(request.headers))
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        report = base64.b64decode(response.getheader("X-Amz-Log-Result")).decode()
        report = report[report.index("REPORT RequestId") :]
        inside = float(duration.search(report).group(1))
        cold = init.search(report)
        inside += float(cold.group(1)) if cold else 0.0
        return elapsed, inside / 1000

    cold_invoke, cold_overhead, warm_overhead = [], [], []
    for _ in range(ROUNDS):
        lam.update_function_configuration(
            FunctionName="bench-noop", Environment={"Variables": {"ROUND": uuid.uuid4().hex}}
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName="bench-noop", WaiterConfig=SETTLED)
        elapsed, inside = raw_invoke("bench-noop")
        cold_invoke.append(elapsed)
        cold_overhead.append(elapsed - inside)
        for _ in range(20):
            elapsed, inside = raw_invoke("bench-noop")
            warm_overhead.append(elapsed - inside)
    return {
        "cold release": median_ms(cold),
        "warm release": median_ms(warm),
        "cold invoke": median_ms(cold_invoke),
        "cold invoke overhead": median_ms(cold_overhead),
        "warm invoke overhead": median_ms(warm_overhead),
    }


if __name__ == "__main__":
    main()
