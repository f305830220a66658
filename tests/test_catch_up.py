"""Catching up is the same as doing: what a notebook's own cells create equals what
``resources.catch_up`` creates for the next notebook, and catching up never undoes a later step.

A participant who jumps ahead gets the state the skipped notebooks would have left; one who goes
back and runs an earlier notebook again keeps what later notebooks added (06's wider policy and
stage, 04's extra action).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path

import boto3
import pytest

from helpers import packaging, pipelines, resources, workbook
from tests import notebook_runs
from tools.run_notebooks import execute_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {p.stem[:2]: p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
NEXT = {"01": "02", "02": "03", "03": "04", "04": "05", "06": "07"}


@pytest.mark.parametrize("number", sorted(NEXT))
def test_what_a_notebook_creates_is_what_its_catch_up_creates(number, tmp_path):
    ran = notebook_runs.run_alone(NOTEBOOKS[number])
    if ran.error is not None:
        raise ran.error
    with notebook_runs.fresh_cloud(tmp_path) as endpoint:
        book = notebook_runs.connect(tmp_path, endpoint)
        resources.catch_up(book, NEXT[number])
        caught_up = notebook_runs.snapshot(book)
    assert caught_up == ran.snapshot


def test_the_detour_00_06_03_06_runs_clean(tmp_path):
    """A learner opens 00, jumps to 06, goes back to 03, then runs 06 again: every cell passes,
    and going back to 03 leaves 06's wider policy and stage alone."""
    with notebook_runs.fresh_cloud(tmp_path) as endpoint:
        execute_notebook(NOTEBOOKS["00"])
        execute_notebook(NOTEBOOKS["06"])
        book = notebook_runs.connect(tmp_path, endpoint)
        after_06 = notebook_runs.snapshot(book)
        execute_notebook(NOTEBOOKS["03"])
        after_03 = notebook_runs.snapshot(book)
        assert after_03["policy"] == after_06["policy"]
        assert after_03["pipeline"] == after_06["pipeline"]
        execute_notebook(NOTEBOOKS["06"])


# -- catching up on a cloud where later steps were done ------------------------------------
EXTENDED = resources.load_policy("CodePipelineLambdaExecPolicy-CloudFormation.json")
BASIC = resources.load_policy("CodePipelineLambdaExecPolicy.json")


@pytest.fixture
def book(local_cloud, monkeypatch):
    """A workbook with a prefix of its own on the session's local cloud, caught up to 07."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
    monkeypatch.setenv("WORKBOOK_PREFIX", f"cu{uuid.uuid4().hex[:6]}")
    session = boto3.Session(
        aws_access_key_id=local_cloud.owner.access_key_id,
        aws_secret_access_key=local_cloud.owner.secret_access_key,
        region_name="us-east-1",
    )
    book = workbook.Workbook(session, "123456789012", "local")
    resources.catch_up(book, "07")
    return book


def default_document(book) -> dict:
    iam = book.client("iam")
    arn = resources.policy_arn(book)
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def stage_actions(book) -> dict[str, list[str]]:
    declaration = pipelines.get_declaration(book.client("codepipeline"), book.names.pipeline)
    return {s["name"]: [a["name"] for a in s["actions"]] for s in declaration["stages"]}


def test_catching_up_again_keeps_the_wider_policy_the_extra_action_and_the_stages(book):
    """After 06 (and 04's exercise), going back to any notebook catches up without undoing."""
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    about = pipelines.lambda_action(
        "CheckAboutPage", book.names.health_function, book.site_url("about.html")
    )
    codepipeline.update_pipeline(
        pipeline=pipelines.add_action(declaration, "LambdaStage", about)
    )  # 04's exercise
    before = stage_actions(book)
    assert "CheckAboutPage" in before["LambdaStage"] and "StackStage" in before
    for notebook in ("02", "03", "04", "05", "06", "07", "08"):
        resources.catch_up(book, notebook)
        assert default_document(book) == EXTENDED, notebook
        assert stage_actions(book) == before, notebook


def test_catching_up_puts_back_a_permission_05s_exercise_took_away(book):
    """The exercise's new default version lacks PutJobSuccessResult: catching up makes the
    newest version that has everything default again, and adds no version."""
    iam = book.client("iam")
    arn = resources.policy_arn(book)
    broken = {
        **EXTENDED,
        "Statement": [
            {**s, "Action": ["codepipeline:PutJobFailureResult"]}
            if "codepipeline:PutJobSuccessResult" in s["Action"]
            else s
            for s in EXTENDED["Statement"]
        ],
    }
    resources.set_lambda_policy(book, broken)
    count = len(iam.list_policy_versions(PolicyArn=arn)["Versions"])
    assert not resources.allows(default_document(book), "codepipeline:PutJobSuccessResult")
    resources.restore_job_reporting(book)
    assert default_document(book) == EXTENDED
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == count


def test_restoring_reattaches_a_detached_policy(book):
    iam = book.client("iam")
    iam.detach_role_policy(RoleName=book.names.lambda_role, PolicyArn=resources.policy_arn(book))
    resources.restore_job_reporting(book)
    attached = iam.list_attached_role_policies(RoleName=book.names.lambda_role)
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == [book.names.lambda_policy]


def test_a_missing_permission_is_added_without_taking_any_away(book):
    """No earlier version has everything: a new version adds what is missing to what is there."""
    iam = book.client("iam")
    arn = resources.policy_arn(book)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    narrowed = {
        **EXTENDED,
        "Statement": [s for s in EXTENDED["Statement"] if "logs:*" in s["Action"]],
    }
    narrowed["Statement"].append(
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"}
    )
    resources.set_lambda_policy(book, narrowed)
    resources.ensure_lambda_policy(book, BASIC)
    document = default_document(book)
    assert resources.covers(document, BASIC)
    assert resources.allows(document, "sqs:SendMessage")


@pytest.mark.parametrize(
    ("document", "action", "resource", "allowed"),
    [
        (BASIC, "codepipeline:PutJobSuccessResult", "*", True),
        (BASIC, "codepipeline:putjobsuccessresult", "*", True),  # actions ignore case
        (BASIC, "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:g:*", True),
        (BASIC, "cloudformation:CreateStack", "*", False),
        (EXTENDED, "cloudformation:CreateStack", "*", True),
        (
            {"Statement": [{"Effect": "Allow", "Action": "codepipeline:PutJob*", "Resource": "*"}]},
            "codepipeline:PutJobFailureResult",
            "*",
            True,
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "codepipeline:*", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Action": "codepipeline:PutJobSuccessResult",
                        "Resource": "*",
                    },
                ]
            },
            "codepipeline:PutJobSuccessResult",
            "*",
            False,
        ),
        (
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "codepipeline:PutJobSuccessResult",
                        "Resource": "arn:aws:codepipeline:us-east-1:1:p",
                    }
                ]
            },
            "codepipeline:PutJobSuccessResult",
            "*",
            False,
        ),
    ],
)
def test_allows_reads_a_policy_as_iam_would(document, action, resource, allowed):
    assert resources.allows(document, action, resource) is allowed


def test_the_wider_policy_covers_the_pages_and_not_the_other_way_round():
    assert resources.covers(EXTENDED, BASIC)
    assert not resources.covers(BASIC, EXTENDED)


def test_polling_left_on_in_05_is_turned_off_by_the_next_catch_up(book):
    """05 turns PollForSourceChanges on for a while; a learner who leaves it on would get a
    second release of every later upload. The catch-up of 06 on turns it off, and says so."""
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    codepipeline.update_pipeline(pipeline=pipelines.with_source_polling(declaration, on=True))
    polled = pipelines.get_declaration(codepipeline, book.names.pipeline)
    assert {a["configuration"]["PollForSourceChanges"] for a in polled["stages"][0]["actions"]} == {
        "true"
    }
    said = resources.catch_up(book, "06")
    after = pipelines.get_declaration(codepipeline, book.names.pipeline)
    assert {a["configuration"]["PollForSourceChanges"] for a in after["stages"][0]["actions"]} == {
        "false"
    }
    assert any(line.startswith("updated pipeline") for line in said["05"]), said
    assert after["stages"] == pipelines.with_source_polling(polled, on=False)["stages"]
    assert not resources.catch_up(book, "06")  # nothing left to do


def _action(book, name: str) -> tuple[str, dict]:
    declaration = pipelines.get_declaration(book.client("codepipeline"), book.names.pipeline)
    return next(
        (s["name"], a) for s in declaration["stages"] for a in s["actions"] if a["name"] == name
    )


def test_05s_exercise_left_failing_is_put_back_and_said(book):
    """A text that isn't on the page left in MyLambdaAction: 06's catch-up puts the page's check
    back and says what the learner's was."""
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    wrong = pipelines.user_parameters(book.site_url(), "Not on the page")
    codepipeline.update_pipeline(
        pipeline=pipelines.add_action(
            declaration,
            "LambdaStage",
            pipelines.lambda_action("MyLambdaAction", book.names.health_function, wrong),
        )
    )
    said = resources.catch_up(book, "06")
    assert _action(book, "MyLambdaAction")[1]["configuration"]["UserParameters"] == book.site_url()
    (line,) = said["04"]
    assert line.startswith("MyLambdaAction's UserParameters back to the workbook's")
    assert "Not on the page" in line
    assert not resources.catch_up(book, "06")


def test_a_lambda_action_in_the_deploy_stage_moves_to_lambdastage(book):
    """04's exercise done in the wrong stage: the next catch-up moves it, keeping it."""
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    about = pipelines.lambda_action(
        "CheckAboutPage", book.names.health_function, book.site_url("about.html")
    )
    codepipeline.update_pipeline(pipeline=pipelines.add_action(declaration, "Deploy", about))
    said = resources.catch_up(book, "05")
    stage, moved = _action(book, "CheckAboutPage")
    assert stage == "LambdaStage" and moved["configuration"] == about["configuration"]
    assert said["04"] == ["moved CheckAboutPage from Deploy to LambdaStage"]
    assert stage_actions(book)["Deploy"] == ["DeploySite"]


def test_a_broken_function_is_replaced_and_said(book):
    """A typo deployed in 03: 04's catch-up puts the page's code back, saying so."""
    lam = book.client("lambda")
    lam.update_function_code(
        FunctionName=book.names.health_function,
        ZipFile=packaging.zip_files({"health_check.py": "def lambda_handler(event context):\n"}),
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=book.names.health_function)
    said = resources.catch_up(book, "04")
    (line,) = said["03"]
    assert line.startswith(f"{book.names.health_function}'s code back to the workbook's")
    package = packaging.function_package("health_check")
    digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
    config = lam.get_function_configuration(FunctionName=book.names.health_function)
    assert config["CodeSha256"] == digest


def test_06s_check_says_which_action_kept_the_stack_from_being_made(book, capsys):
    """05's exercise left failing, then 06's check before any catch-up: not "release the
    pipeline" but which stage and action failed, with its message."""
    from helpers import exercises

    codepipeline = book.client("codepipeline")
    cloudformation = book.client("cloudformation")
    try:
        cloudformation.delete_stack(StackName=book.names.stack)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=book.names.stack, WaiterConfig={"Delay": 1}
        )
    except cloudformation.exceptions.ClientError:
        pass
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    wrong = pipelines.user_parameters(book.site_url(), "Not on the page")
    codepipeline.update_pipeline(
        pipeline=pipelines.add_action(
            declaration,
            "LambdaStage",
            pipelines.lambda_action("MyLambdaAction", book.names.health_function, wrong),
        )
    )
    released = pipelines.release_and_wait(codepipeline, book.names.pipeline, poll=0.2)
    assert released["status"] == "Failed"
    capsys.readouterr()
    exercises.check_stack_updated(book)
    said = capsys.readouterr().out
    assert said.startswith("Not yet: the stack doesn't exist: release ")
    assert "failed in LambdaStage › MyLambdaAction" in said and "Not on the page" in said
