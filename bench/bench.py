"""`make bench`: how fast the local cloud is, as ratios against a cold boto3 start in the same run.

Measures (medians): local cloud start-up; a cold `python -c "import boto3; boto3.client('s3')"`
(the yardstick); cold and warm release latency of a Source -> Lambda health-check pipeline;
warm and cold invoke overhead (wall time of an Invoke minus the Duration the REPORT line gives);
what the access gate (SigV4 check and IAM evaluation) costs one request.
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
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers import localcloud, packaging, pipelines, resources

ROUNDS = 7


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
        finally:
            process.terminate()
        auth_us = auth_check_microseconds(state)
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
