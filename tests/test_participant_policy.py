"""docs/participant-policy.json: a participant limited to the workshop's prefix can work
through the workbook and clean up, and can touch nothing outside the prefix.

Tested offline: the local cloud enforces IAM for users as AWS does, so a user with this policy
plays the participant.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import cleanup, pipelines, resources, workbook

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT, REGION, WORKSHOP = "123456789012", "us-east-1", "wsp-"


# Where the local cloud can't yet name the resource AWS checks, it checks "*": these statements
# grant exactly that, and nothing a participant could use outside the prefix on AWS. Each is a
# local-cloud gap, not a need of the policy (AWS checks the ARN the policy names).
LOCAL_CLOUD_GAPS = [
    {
        # the pipeline's name is inside the `pipeline` parameter of these two operations
        "Sid": "LocalCloudGapPipelineNameInTheDeclaration",
        "Effect": "Allow",
        "Action": ["codepipeline:CreatePipeline", "codepipeline:UpdatePipeline"],
        "Resource": "*",
    },
    {
        # AWS checks the new policy's ARN (from PolicyName and Path)
        "Sid": "LocalCloudGapPolicyNameOfANewPolicy",
        "Effect": "Allow",
        "Action": "iam:CreatePolicy",
        "Resource": "*",
    },
]


def participant_policy() -> dict:
    text = (ROOT / "docs" / "participant-policy.json").read_text()
    filled = text.replace("ACCOUNT", ACCOUNT).replace("REGION", REGION)
    policy = json.loads(filled.replace("WORKSHOP", WORKSHOP))
    policy["Statement"] += LOCAL_CLOUD_GAPS
    return policy


@pytest.fixture(scope="module")
def participant(local_cloud):
    """An IAM user with only the participant policy, and a workbook connection as that user."""
    owner = boto3.Session(
        aws_access_key_id=local_cloud.owner.access_key_id,
        aws_secret_access_key=local_cloud.owner.secret_access_key,
        region_name=REGION,
    )
    iam = owner.client("iam", endpoint_url=local_cloud.endpoint)
    iam.create_user(UserName="wsp-ada")
    iam.put_user_policy(
        UserName="wsp-ada",
        PolicyName="workshop-participant",
        PolicyDocument=json.dumps(participant_policy()),
    )
    key = iam.create_access_key(UserName="wsp-ada")["AccessKey"]
    session = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )
    return session


@pytest.fixture
def book(participant, local_cloud, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
    connection = workbook.Workbook(participant, ACCOUNT, "local")
    connection.names = workbook.Names("wsp-ada", ACCOUNT, REGION)
    return connection


def test_a_participant_works_through_the_workbook_and_cleans_up(book):
    # the first CloudFormation request of a new local cloud takes seconds (backend loading):
    # not inside the stack deployer's 4 s job
    book.client("cloudformation").list_stacks()
    resources.catch_up(book, "07")
    codepipeline = book.client("codepipeline")
    execution = pipelines.release_and_wait(codepipeline, book.names.pipeline)
    runs = pipelines.action_executions(
        codepipeline, book.names.pipeline, execution["pipelineExecutionId"]
    )
    assert execution["status"] == "Succeeded", "\n".join(pipelines.action_summary(r) for r in runs)
    logs = book.client("logs")
    assert logs.filter_log_events(logGroupName=f"/aws/lambda/{book.names.health_function}")[
        "events"
    ]
    iam = book.client("iam")
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert iam.get_policy(PolicyArn=basic)["Policy"]["DefaultVersionId"]
    cleanup.clean_up(book)
    assert cleanup.remaining(book) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.client("s3").create_bucket(Bucket="other-bucket-123456789012"),
        lambda b: b.client("iam").create_role(
            RoleName="other-Role",
            AssumeRolePolicyDocument=json.dumps(resources.load_policy("lambda-trust-policy.json")),
        ),
        lambda b: b.client("iam").create_user(UserName="wsp-another-user"),
        lambda b: b.client("lambda").get_function(FunctionName="other-Function"),
    ],
    ids=["bucket", "role", "user", "function"],
)
def test_outside_the_prefix_a_participant_is_refused(book, call):
    with pytest.raises(ClientError) as refused:
        call(book)
    assert refused.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")


def test_every_notebook_runs_as_a_participant_on_the_aws_path(tmp_path, monkeypatch):
    """The policy covers every call the notebooks make: all of them run, in order, on the AWS
    target as a user who has only this policy (against a local cloud of their own)."""
    from helpers import localcloud
    from tools.run_notebooks import NOTEBOOKS, execute_notebook

    process, endpoint = localcloud.start(
        job_timeout_s=10.0, log_path=str(tmp_path / "localcloud.log"), state=tmp_path
    )
    try:
        owner = localcloud.owner_credentials(tmp_path)
        admin = boto3.Session(
            aws_access_key_id=owner.access_key_id,
            aws_secret_access_key=owner.secret_access_key,
            region_name=REGION,
        )
        iam = admin.client("iam", endpoint_url=endpoint)
        iam.create_user(UserName="wsp-bob")
        iam.put_user_policy(
            UserName="wsp-bob",
            PolicyName="workshop-participant",
            PolicyDocument=json.dumps(participant_policy()),
        )
        key = iam.create_access_key(UserName="wsp-bob")["AccessKey"]
        # a new local cloud's first CloudFormation request takes seconds: not in a 10 s job
        admin.client("cloudformation", endpoint_url=endpoint).list_stacks()
        env = {
            "WORKBOOK_TARGET": "aws",
            "WORKBOOK_CONFIRM": "yes",
            "WORKBOOK_PREFIX": "wsp-bob",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        for path in NOTEBOOKS:
            execute_notebook(path)  # raises at the first refused call, naming it
    finally:
        process.terminate()
        process.wait(10)
