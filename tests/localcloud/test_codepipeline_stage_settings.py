"""V2 stage settings the local cloud can't honour are refused by name at CreatePipeline and
UpdatePipeline; those it keeps read back as declared.
"""

from __future__ import annotations

import copy

import pytest

from .pipeline_kit import (
    create,
    declaration,
    error_of,
    lambda_action,
    python_function,
    source_world,
)

SUCCEEDS = """
import boto3
def handler(event, context):
    boto3.client("codepipeline").put_job_success_result(jobId=event["CodePipeline.job"]["id"])
"""


@pytest.fixture(scope="module")
def world(aws, roles):
    world = source_world(aws, roles)
    world["succeeds"] = python_function(aws, roles, SUCCEEDS)
    return world


# -- what is refused ------------------------------------------------------------------------
def rule(provider: str, **configuration) -> dict:
    return {
        "name": f"My{provider}",
        "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": provider, "version": "1"},
        "configuration": configuration,
    }


def condition(*rules: dict, result: str = "FAIL") -> dict:
    return {"conditions": [{"result": result, "rules": list(rules)}]}


WINDOW = rule("DeploymentWindow", Cron="0 0 9 ? * MON-FRI *", TimeZone="PST")
ALARM = rule("CloudWatchAlarm", AlarmName="errors")
CHECK = rule("VariableCheck", Variable="#{SourceVariables.ETag}", Value="x", Operator="EQ")
INVOKE = rule("LambdaInvoke", FunctionName="gate")


def unevaluated(what: str, kind: str) -> str:
    return (
        f"The local cloud can't evaluate {what} of stage Check's {kind} condition; remove the "
        "condition to run this pipeline locally."
    )


# case: (settings of stage Check, or a function editing the declaration; code; message part)
REFUSED = {
    "a DeploymentWindow entry condition": (
        {"beforeEntry": condition(WINDOW)},
        "ValidationException",
        unevaluated("the DeploymentWindow rule", "beforeEntry"),
    ),
    "a VariableCheck entry condition": (
        {"beforeEntry": condition(CHECK, result="SKIP")},
        "ValidationException",
        unevaluated("the VariableCheck rule", "beforeEntry"),
    ),
    "a CloudWatchAlarm success condition": (
        {"onSuccess": condition(ALARM, result="ROLLBACK")},
        "ValidationException",
        unevaluated("the CloudWatchAlarm rule", "onSuccess"),
    ),
    "failure conditions of two rules": (
        {"onFailure": {"result": "ROLLBACK", **condition(ALARM, INVOKE, result="ROLLBACK")}},
        "ValidationException",
        unevaluated("the CloudWatchAlarm and LambdaInvoke rules", "onFailure"),
    ),
    "an onFailure result of SKIP": (
        {"onFailure": {"result": "SKIP"}},
        "ValidationException",
        "Stage Check's onFailure result is SKIP: a failed stage can be retried (RETRY), rolled "
        "back (ROLLBACK) or left failed (FAIL, the default), not skipped.",
    ),
    "a retryConfiguration without RETRY": (
        {"onFailure": {"result": "ROLLBACK", "retryConfiguration": {"retryMode": "ALL_ACTIONS"}}},
        "ValidationException",
        "Stage Check's onFailure declares retryConfiguration, which applies only when its "
        "result is RETRY (it is ROLLBACK).",
    ),
    "a rollback of the source stage": (
        lambda d: d["stages"][0].update(onFailure={"result": "ROLLBACK"}),
        "ValidationException",
        "Stage Source is the source stage, which can't be rolled back",
    ),
    "blockers": (
        {"blockers": [{"name": "Nightly", "type": "Schedule"}]},
        "InvalidBlockerDeclarationException",
        "Stage 'Check' declares blockers, which CodePipeline reserves for future use",
    ),
    "stage settings in a V1 pipeline": (
        lambda d: (
            d.update(pipelineType="V1") or d["stages"][1].update(onFailure={"result": "RETRY"})
        ),
        "InvalidStageDeclarationException",
        "Stage 'Check' declares onFailure: stage retry, rollback and conditions can only be "
        "used with V2 pipelines",
    ),
    "Git triggers": (
        lambda d: d.update(
            triggers=[
                {
                    "providerType": "CodeStarSourceConnection",
                    "gitConfiguration": {"sourceActionName": "Source"},
                }
            ]
        ),
        "ValidationException",
        "The local cloud can't start a pipeline on Git events",
    ),
    "an action's own role": (
        lambda d: d["stages"][1]["actions"][0].update(
            roleArn="arn:aws:iam::123456789012:role/other"
        ),
        "ValidationException",
        "Action Check in stage Check declares roleArn, which the local cloud doesn't honour "
        "(the local cloud runs every action with the pipeline's service role)",
    ),
    "an action in another region": (
        lambda d: d["stages"][1]["actions"][0].update(region="eu-west-1"),
        "ValidationException",
        "Action Check in stage Check runs in region eu-west-1: the local cloud runs every "
        "action in the pipeline's region (us-east-1)",
    ),
    "an action timeout": (
        lambda d: d["stages"][1]["actions"][0].update(timeoutInMinutes=5),
        "ValidationException",
        "Action Check in stage Check declares timeoutInMinutes",
    ),
    "PollForSourceChanges that is neither true nor false": (
        lambda d: d["stages"][0]["actions"][0]["configuration"].update(
            PollForSourceChanges="sometimes"
        ),
        "InvalidActionDeclarationException",
        "has PollForSourceChanges 'sometimes': it must be true or false",
    ),
}


def refused_declaration(world, edit) -> dict:
    check = {"name": "Check", "actions": [lambda_action("Check", world["succeeds"])]}
    pipeline = copy.deepcopy(declaration(world, check))
    if callable(edit):
        edit(pipeline)
    else:
        pipeline["stages"][1].update(copy.deepcopy(edit))
    return pipeline


@pytest.mark.parametrize("case", list(REFUSED))
def test_settings_the_local_cloud_cant_honour_are_refused_by_name(aws, world, case):
    edit, code, message = REFUSED[case]
    cp = aws("codepipeline")
    error = error_of(lambda: cp.create_pipeline(pipeline=refused_declaration(world, edit)))
    assert error["Code"] == code
    assert message in error["Message"]


def test_update_pipeline_refuses_them_too_and_keeps_the_version(aws, world):
    check = {"name": "Check", "actions": [lambda_action("Check", world["succeeds"])]}
    name = create(aws, declaration(world, check))
    cp = aws("codepipeline")
    edited = cp.get_pipeline(name=name)["pipeline"]
    edited["stages"][1]["beforeEntry"] = condition(WINDOW)
    error = error_of(lambda: cp.update_pipeline(pipeline=edited))
    assert error["Code"] == "ValidationException"
    assert error["Message"] == unevaluated("the DeploymentWindow rule", "beforeEntry")
    assert cp.get_pipeline(name=name)["pipeline"]["version"] == 1


def test_retry_and_rollback_settings_read_back_as_declared(aws, world):
    stage = {
        "name": "Check",
        "actions": [lambda_action("Check", world["succeeds"])],
        "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}},
    }
    name = create(aws, declaration(world, stage))
    got = aws("codepipeline").get_pipeline(name=name)["pipeline"]["stages"][1]
    assert got["onFailure"] == stage["onFailure"]
