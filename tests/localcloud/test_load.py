"""A room's load: 20 releases of 5 pipelines at once, 200 invokes from 16 threads.

Every release and every invoke must succeed and get its own result (each pipeline's function
echoes its pipeline and the release's id, each invoke its payload), with no 5xx (the clients
don't retry) and no hang; warm environments are reused and a function's pool grows with
concurrent invocations, as Lambda scales. `make bench` reports the same loads' throughput and
latencies (bench/load.py drives both).
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from bench.load import create_echo_function, create_load_pipelines, run_invokes, run_releases
from helpers import localcloud
from helpers.localcloud.awslambda.runtime import MAX_WORKERS_PER_FUNCTION

from .conftest import LAMBDA_TRUST, PIPELINE_POLICY, PIPELINE_TRUST

PIPELINES, RELEASES_EACH = 5, 4
INVOKES, THREADS = 200, 16


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A local cloud of its own (its environments end with it), clients that never retry
    (a 5xx fails the test), and the roles the load uses."""
    state = tmp_path_factory.mktemp("load")
    process, endpoint = localcloud.start(state=state, log_path=str(state / "localcloud.log"))
    owner = localcloud.owner_credentials(state)
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

    iam = client("iam")
    lambda_role = iam.create_role(
        RoleName="load-fn", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="load-fn",
        PolicyName="report-job-results",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["codepipeline:PutJobSuccessResult", "logs:*"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    pipeline_role = iam.create_role(
        RoleName="load-pipeline", AssumeRolePolicyDocument=json.dumps(PIPELINE_TRUST)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="load-pipeline",
        PolicyName="buckets-and-functions",
        PolicyDocument=json.dumps(PIPELINE_POLICY),
    )
    yield client, {"lambda": lambda_role, "pipeline": pipeline_role}, state
    process.terminate()
    process.wait(15)


def test_twenty_releases_of_five_pipelines_at_once_each_get_their_own_result(loaded):
    client, roles, state = loaded
    names = create_load_pipelines(client, roles["lambda"], roles["pipeline"], PIPELINES)

    releases, wall_s = run_releases(client("codepipeline"), names, RELEASES_EACH, timeout_s=90)

    assert len(releases) == PIPELINES * RELEASES_EACH == 20
    assert [r.status for r in releases] == ["Succeeded"] * 20, [
        (r.pipeline, r.status, r.action.get("output")) for r in releases if r.status != "Succeeded"
    ]
    for release in releases:  # the result each action got is the one its own job reported
        output = release.action["output"]
        assert output["outputVariables"]["marker"] == release.expected_marker
        assert output["executionResult"]["externalExecutionSummary"] == release.expected_marker
    job_ids = {r.action["output"]["outputVariables"]["jobId"] for r in releases}
    assert len(job_ids) == 20, "every action had a job of its own"
    assert wall_s < 90
    assert "Traceback" not in (state / "localcloud.log").read_text()


def test_two_hundred_invokes_from_sixteen_threads_succeed_on_a_growing_warm_pool(loaded):
    client, roles, state = loaded
    function = create_echo_function(client, roles["lambda"], "load-invoke-echo")

    invokes, wall_s = run_invokes(client("lambda"), function, INVOKES, THREADS)

    assert len(invokes) == INVOKES
    assert {i.status for i in invokes} == {200}
    assert [i.function_error for i in invokes] == [None] * INVOKES
    assert all(i.answer["echo"] == {"sent": i.sent} for i in invokes), "each got its own answer"
    environments = {i.answer["pid"] for i in invokes}
    assert 1 < len(environments) <= MAX_WORKERS_PER_FUNCTION, "the pool grew, within its bound"
    assert sum(i.cold for i in invokes) == len(environments), "each environment started once"
    assert len(environments) < INVOKES / 4, "warm environments were reused"
    assert wall_s < 60
    assert "Traceback" not in (state / "localcloud.log").read_text()
