"""The small modules the notebooks call: pipeline edits, packaging, timings, exercise checks."""

from __future__ import annotations

import json

import boto3
import pytest

from helpers import exercises, packaging, pipelines, timings, workbook

REPORT_COLD = (
    "REPORT RequestId: 3f1c0a57-1d0e-4c5b-9a11-0c2f8f1e2d3a\tDuration: 15.74 ms"
    "\tBilled Duration: 147 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB"
    "\tInit Duration: 130.49 ms"
)
REPORT_WARM = (
    "REPORT RequestId: 9a9a9a9a-1d0e-4c5b-9a11-0c2f8f1e2d3a\tDuration: 2.19 ms"
    "\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB"
)


def two_stage():
    return pipelines.two_stage_pipeline(
        "p", "arn:aws:iam::111111111111:role/r", "art", "src", "SampleApp.zip", "site"
    )


def test_add_lambda_stage_appends_once_and_leaves_the_original_alone():
    original = two_stage()
    edited = pipelines.add_lambda_stage(original, "fn", "http://example.com/")
    again = pipelines.add_lambda_stage(edited, "fn", "http://example.com/other")
    assert [s["name"] for s in original["stages"]] == ["Source", "Deploy"]
    assert [s["name"] for s in again["stages"]] == ["Source", "Deploy", "LambdaStage"]
    action = again["stages"][-1]["actions"][0]
    assert action["actionTypeId"] == pipelines.LAMBDA_INVOKE
    assert action["configuration"] == {
        "FunctionName": "fn",
        "UserParameters": "http://example.com/other",
    }


def test_add_action_to_a_missing_stage_says_which():
    with pytest.raises(KeyError, match="NoSuchStage"):
        pipelines.add_action(two_stage(), "NoSuchStage", pipelines.lambda_action("a", "fn"))


def test_declarations_are_valid_codepipeline_input():
    """botocore's own model accepts what the helpers build (as UpdatePipeline input)."""
    from botocore.validate import ParamValidator

    client = boto3.client(
        "codepipeline", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    shape = client.meta.service_model.operation_model("UpdatePipeline").input_shape
    declaration = pipelines.add_lambda_stage(two_stage(), "fn", "http://example.com/")
    declaration = pipelines.add_action(
        declaration, "LambdaStage", pipelines.lambda_action("Second", "fn", "x", inputs=("A",))
    )
    report = ParamValidator().validate({"pipeline": declaration}, shape)
    assert not report.has_errors(), report.generate_report()


def test_structure_lists_stages_actions_and_artifacts():
    text = pipelines.structure(pipelines.add_lambda_stage(two_stage(), "fn", "u"))
    assert text.splitlines() == [
        "p (V2)",
        "└─ Source",
        "   └─ [1] Source: Source/S3 SampleApp.zip out: SourceArtifact",
        "└─ Deploy",
        "   └─ [1] DeploySite: Deploy/S3 site in: SourceArtifact",
        "└─ LambdaStage",
        "   └─ [1] MyLambdaAction: Invoke/Lambda fn",
    ]


@pytest.mark.parametrize(
    ("expect", "expected"),
    [
        (None, "http://h/index.html"),
        ("Congratulations", "http://h/index.html"),
        ("Hello", json.dumps({"url": "http://h/index.html", "expect": "Hello"})),
    ],
)
def test_user_parameters_use_the_plain_form_when_they_can(expect, expected):
    assert pipelines.user_parameters("http://h/index.html", expect) == expected


def test_packages_are_deterministic():
    assert packaging.function_package("health_check") == packaging.function_package("health_check")
    assert packaging.list_zip(packaging.template_package()) == ["template-package/template.json"]
    assert packaging.list_zip(packaging.site_package()) == ["about.html", "index.html"]
    assert packaging.site_package("<h1>x</h1>") != packaging.site_package()


def test_report_lines_become_a_frame():
    events = [
        {"timestamp": 1_700_000_000_000, "message": "START RequestId: x Version: $LATEST"},
        {"timestamp": 1_700_000_000_010, "message": REPORT_COLD},
        {"timestamp": 1_700_000_001_000, "message": REPORT_WARM},
    ]
    frame = timings.report_lines_to_frame(events)
    assert list(frame["duration_ms"]) == [15.74, 2.19]
    assert list(frame["billed_ms"]) == [147, 3]
    assert list(frame["cold_start"]) == [True, False]
    assert frame["init_ms"].iloc[0] == 130.49


def test_invocations_frame_has_one_row_per_invocation_with_its_reported_outcome():
    lines = [
        "START RequestId: a Version: $LATEST",
        "Creating stack s",
        "Putting job continuation for job j1: Stack create started",
        "Job j1: function complete",
        "END RequestId: a",
        REPORT_COLD,
        "START RequestId: b Version: $LATEST",
        "Putting job success for job j2: Stack update complete",
        "END RequestId: b",
        REPORT_WARM,
    ]
    frame = timings.invocations_frame([{"message": m, "timestamp": 0} for m in lines])
    assert list(frame["outcome"]) == [
        "Putting job continuation for job j1: Stack create started",
        "Putting job success for job j2: Stack update complete",
    ]
    assert list(frame["cold_start"]) == [True, False]


REPORT_BOTH = ["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"]


@pytest.mark.parametrize(
    ("statement", "verdict"),
    [
        (None, "Not yet: set `statement`"),
        (
            {"Effect": "Allow", "Action": ["codepipeline:PutJobSuccessResult"], "Resource": "*"},
            "Not yet: Action must include PutJobSuccessResult and PutJobFailureResult; "
            "missing: codepipeline:PutJobFailureResult.",
        ),
        (
            {"Effect": "Deny", "Action": REPORT_BOTH, "Resource": "*"},
            'Not yet: the statement must have "Effect": "Allow"',
        ),
        (
            {
                "Effect": "Allow",
                "Action": REPORT_BOTH,
                "Resource": "arn:aws:codepipeline:us-east-1:111111111111:p",
            },
            'Not yet: PutJob*Result support no resource-level permissions: "Resource" must be',
        ),
        (
            {"Effect": "Allow", "Action": REPORT_BOTH, "Resource": "*"},
            "✓ the function may report both kinds of job result.",
        ),
        # IAM's own matching: wildcards, case-insensitive action names, a list with "*" in it
        (
            {"Effect": "Allow", "Action": "codepipeline:PutJob*", "Resource": ["*"]},
            "✓ the function may report both kinds of job result.",
        ),
        (
            {
                "Effect": "Allow",
                "Action": ["CodePipeline:putjobsuccessresult", "codepipeline:PutJobFailure*"],
                "Resource": ["arn:aws:codepipeline:us-east-1:111111111111:p", "*"],
            },
            "✓ the function may report both kinds of job result.",
        ),
        (
            {"Effect": "Allow", "Action": "codepipeline:PutThirdParty*", "Resource": "*"},
            "Not yet: Action must include",
        ),
        # least privilege: a wildcard or an action that allows more than the two reports
        (
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            "Not yet: the statement allows more than reporting: '*' allows actions of every "
            "service.",
        ),
        (
            {"Effect": "Allow", "Action": "codepipeline:*", "Resource": "*"},
            "Not yet: the statement allows more than reporting: 'codepipeline:*' also allows "
            "AcknowledgeJob",
        ),
        (
            {"Effect": "Allow", "Action": ["codepipeline:Put*"], "Resource": "*"},
            "Not yet: the statement allows more than reporting: 'codepipeline:Put*' also allows "
            "PutActionRevision, PutApprovalResult",
        ),
        (
            {"Effect": "Allow", "Action": [*REPORT_BOTH, "logs:*"], "Resource": "*"},
            "Not yet: the statement allows more than reporting: 'logs:*' is not a CodePipeline",
        ),
        (
            {
                "Effect": "Allow",
                "Action": [*REPORT_BOTH, "codepipeline:GetPipeline"],
                "Resource": "*",
            },
            "Not yet: the statement allows more than reporting: 'codepipeline:GetPipeline' also",
        ),
        (
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            'Not yet: "NotAction" with "Allow" allows every action it doesn\'t name',
        ),
        # what else a learner may write: the page's JSON as text, a whole document, a typo, a
        # Principal copied from the trust policy, NotResource, a Condition, the page's Sid
        (
            '{"Effect": "Allow", "Action": "codepipeline:PutJob*", "Resource": "*"}',
            "✓ the function may report both kinds of job result.",
        ),
        ("Effect: Allow", "Not yet: `statement` is a string that isn't JSON"),
        (
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]},
            "Not yet: that is a whole policy document",
        ),
        (
            {"Effect": "Allow", "Actions": REPORT_BOTH, "Resource": "*"},
            "Not yet: IAM knows no statement key 'Actions'",
        ),
        (
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": REPORT_BOTH,
                "Resource": "*",
            },
            "Not yet: a Principal belongs in a trust policy",
        ),
        (
            {"Effect": "Allow", "Action": REPORT_BOTH, "NotResource": "arn:aws:s3:::x"},
            'Not yet: "NotResource" allows every resource it doesn\'t name',
        ),
        (
            {
                "Effect": "Allow",
                "Action": REPORT_BOTH,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            },
            "Not yet: with a Condition the statement allows the reports only when it holds",
        ),
        (
            {"Sid": "ReportJobResults", "Effect": "Allow", "Action": REPORT_BOTH, "Resource": "*"},
            "✓ the function may report both kinds of job result.",
        ),
    ],
)
def test_report_statement_check(statement, verdict, capsys):
    exercises.check_report_statement(statement)
    assert capsys.readouterr().out.startswith(verdict)


def test_02s_solution_and_the_wildcard_its_text_allows_pass_the_check(capsys):
    """02's hidden solution, and its note that ``codepipeline:PutJob*`` passes too."""
    import re
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / "02_execution_role.ipynb"
    details = next(
        c.source for c in nbformat.read(path, as_version=4).cells if "<details>" in c.source
    )
    namespace: dict = {}
    exec(re.search(r"```python\n(.*?)```", details, re.DOTALL).group(1), namespace)  # noqa: S102
    exercises.check_report_statement(namespace["statement"])
    assert '`"Action": "codepipeline:PutJob*"` passes too' in details
    exercises.check_report_statement({**namespace["statement"], "Action": "codepipeline:PutJob*"})
    assert (
        capsys.readouterr().out.splitlines()
        == ["✓ the function may report both kinds of job result."] * 2
    )


@pytest.mark.parametrize("bad", ["", "-x", "UPPER", "a" * 21, "a_b"])
def test_prefix_is_checked(bad, monkeypatch):
    monkeypatch.setenv("WORKBOOK_PREFIX", bad)
    if bad == "":
        assert workbook.prefix() == workbook.default_prefix()
    else:
        with pytest.raises(ValueError, match="WORKBOOK_PREFIX"):
            workbook.prefix()


def test_the_aws_target_refuses_a_login_every_learner_shares(monkeypatch):
    """JupyterHub and Binder give everyone the login jovyan: wb-jovyan would be everyone's."""
    monkeypatch.setattr(workbook.getpass, "getuser", lambda: "jovyan")
    monkeypatch.delenv("WORKBOOK_PREFIX", raising=False)
    with pytest.raises(ValueError, match="Set WORKBOOK_PREFIX"):
        workbook.check_prefix_is_yours()
    monkeypatch.setenv("WORKBOOK_PREFIX", "wb-ada")
    workbook.check_prefix_is_yours()  # a prefix of one's own is fine
    monkeypatch.setattr(workbook.getpass, "getuser", lambda: "ada")
    monkeypatch.delenv("WORKBOOK_PREFIX")
    workbook.check_prefix_is_yours()  # and so is a login of one's own


def test_clients_on_aws_retry_throttled_calls_in_standard_mode(monkeypatch):
    """Whatever AWS_RETRY_MODE or the botocore version says: 30 learners share the rate limits."""
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    book = workbook.Workbook(session, "111122223333", "aws")
    client = book.client("codepipeline")
    assert client is book.client("codepipeline"), "one client per service"
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.retries["total_max_attempts"] == 5


def test_the_cost_estimate_counts_every_action_a_learner_runs():
    """Each action execution is billed in whole minutes: 2 actions a release in 01, 4 in 05
    (with 04's exercise), 6 in 06; 100 free minutes per account per month."""
    from helpers import prices

    runs = {(r.notebook, r.is_release): r for r in workbook.RUN_THROUGH}
    assert runs["01", True].action_minutes == 2
    assert runs["05", True].action_minutes == 4
    assert min(r.action_minutes for r in workbook.RUN_THROUGH if r.notebook == "06") >= 6
    one = workbook.estimate(1)
    minutes = sum(r.times * r.action_minutes for r in workbook.RUN_THROUGH)
    assert one.action_minutes == minutes
    assert one.codepipeline_before_free_usd == pytest.approx(
        minutes * prices.CODEPIPELINE_V2_ACTION_MINUTE
    )
    assert one.codepipeline_usd == max(0, minutes - 100) * prices.CODEPIPELINE_V2_ACTION_MINUTE
    room = workbook.estimate(30)
    assert room.codepipeline_usd == pytest.approx(
        (30 * minutes - prices.CODEPIPELINE_V2_FREE_MINUTES) * prices.CODEPIPELINE_V2_ACTION_MINUTE
    )
    assert room.lambda_usd == pytest.approx(30 * one.lambda_usd)
    text = workbook.cost_estimate()
    assert f"{one.releases} releases, {minutes} action-execution minutes" in text
    assert f"${room.codepipeline_usd:.2f} in all" in text


def test_target_is_checked(monkeypatch):
    monkeypatch.setenv("WORKBOOK_TARGET", "staging")
    with pytest.raises(ValueError, match="'local' or 'aws'"):
        workbook.target()


def test_site_url_is_the_one_difference_between_targets(monkeypatch):
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1"
    )
    monkeypatch.setenv("WORKBOOK_PREFIX", "wb-ada")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    on_aws = workbook.Workbook(session, "111122223333", "aws")
    assert on_aws.site_url() == (
        "https://wb-ada-site-111122223333-eu-west-1.s3.eu-west-1.amazonaws.com/index.html"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    local = workbook.Workbook(session, "111122223333", "local")
    assert local.site_url("about.html") == (
        "http://127.0.0.1:4566/wb-ada-site-111122223333-eu-west-1/about.html"
    )


class _SlowLogs:
    """CloudWatch Logs whose REPORT line shows up on the second look, as it can on AWS."""

    class exceptions:  # noqa: N801 - mirrors a boto3 client's attribute
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, messages: list[str], late: str):
        self.messages, self.late, self.looks = messages, late, 0

    def get_paginator(self, name: str):
        assert name == "filter_log_events"
        self.looks += 1
        shown = self.messages + ([self.late] if self.looks > 1 else [])
        events = [{"timestamp": 1000 + i, "message": m} for i, m in enumerate(shown)]

        class Pages:
            def paginate(self, **kwargs):
                return [{"events": events}]

        return Pages()


def test_action_log_events_waits_for_the_report_line():
    from datetime import UTC, datetime

    logs = _SlowLogs(
        ["earlier line", "START RequestId: r Version: $LATEST", "hello", "END RequestId: r"],
        REPORT_WARM,
    )
    moment = datetime.fromtimestamp(1, UTC)
    events = pipelines.action_log_events(logs, "fn", moment, moment, wait_s=5)
    assert [e["message"] for e in events][0] == "START RequestId: r Version: $LATEST"
    assert events[-1]["message"] == REPORT_WARM
    assert logs.looks == 2
