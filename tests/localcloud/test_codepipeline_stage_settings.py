"""V2 stage settings: onFailure RETRY retries a failed stage once, ROLLBACK rolls it back to its
last successful execution; RollbackStage; disabled inbound transitions hold executions; and
every setting the local cloud can't honour is refused by name at CreatePipeline/UpdatePipeline.
"""

from __future__ import annotations

import copy
import time

import pytest

from helpers import pipelines

from .conftest import unique, wait_for_execution, zip_bytes
from .pipeline_kit import (
    create,
    declaration,
    error_of,
    finish_all,
    lambda_action,
    python_function,
    release,
    source_world,
    wait_for,
)

# Fails the first job of each counter (its UserParameters) and succeeds from the second on;
# the counter is an object in the records bucket.
FLAKY = """
import os, boto3
s3 = boto3.client("s3")
codepipeline = boto3.client("codepipeline")

def handler(event, context):
    job = event["CodePipeline.job"]
    key = "count/" + job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    try:
        count = int(s3.get_object(Bucket=os.environ["RECORDS"], Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        count = 0
    s3.put_object(Bucket=os.environ["RECORDS"], Key=key, Body=str(count + 1))
    if count == 0:
        codepipeline.put_job_failure_result(
            jobId=job["id"], failureDetails={"type": "JobFailed", "message": "first attempt"})
    else:
        codepipeline.put_job_success_result(jobId=job["id"])
"""
SUCCEEDS = """
import boto3
def handler(event, context):
    boto3.client("codepipeline").put_job_success_result(jobId=event["CodePipeline.job"]["id"])
"""
FAILS = """
import boto3
def handler(event, context):
    boto3.client("codepipeline").put_job_failure_result(
        jobId=event["CodePipeline.job"]["id"],
        failureDetails={"type": "JobFailed", "message": "always fails"})
"""
# Checks the deployed site: fails if its index.html says "broken".
CHECKS_SITE = """
import os, boto3
s3 = boto3.client("s3")
codepipeline = boto3.client("codepipeline")

def handler(event, context):
    job = event["CodePipeline.job"]
    page = s3.get_object(Bucket=os.environ["SITE"], Key="index.html")["Body"].read()
    if b"broken" in page:
        codepipeline.put_job_failure_result(
            jobId=job["id"], failureDetails={"type": "JobFailed", "message": "the site is broken"})
    else:
        codepipeline.put_job_success_result(jobId=job["id"])
"""


@pytest.fixture(scope="module")
def world(aws, roles):
    world = source_world(aws, roles)
    world["site"] = unique("site")
    aws("s3").create_bucket(Bucket=world["site"])
    env = {"RECORDS": world["records"], "SITE": world["site"]}
    for name, source in (
        ("flaky", FLAKY),
        ("succeeds", SUCCEEDS),
        ("fails", FAILS),
        ("checks_site", CHECKS_SITE),
    ):
        world[name] = python_function(aws, roles, source, env)
    return world


def attempts(aws, name: str, execution_id: str) -> dict[str, list[str]]:
    """{action name: the status of each of its attempts, oldest first} in one execution."""
    rows = aws("codepipeline").list_action_executions(
        pipelineName=name, filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    found: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: r["startTime"]):
        found.setdefault(row["actionName"], []).append(row["status"])
    return found


def stage_state(aws, name: str, stage: str) -> dict:
    states = aws("codepipeline").get_pipeline_state(name=name)["stageStates"]
    return next(s for s in states if s["stageName"] == stage)


def executions(aws, name: str) -> list[dict]:
    """Every execution's summary, newest first."""
    cp = aws("codepipeline")
    return cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]


def upload(aws, world, page: str) -> str:
    """A new version of the source object; its version id."""
    body = zip_bytes({"index.html": page})
    return aws("s3").put_object(Bucket=world["source"], Key="site.zip", Body=body)["VersionId"]


def deployed_page(aws, world) -> str:
    return aws("s3").get_object(Bucket=world["site"], Key="index.html")["Body"].read().decode()


# -- RETRY ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "steady_attempts"),
    [("FAILED_ACTIONS", ["Succeeded"]), ("ALL_ACTIONS", ["Succeeded", "Succeeded"])],
)
def test_retry_reruns_the_failed_stage_once_in_its_retry_mode(aws, world, mode, steady_attempts):
    stage = {
        "name": "Check",
        "actions": [
            lambda_action("Flaky", world["flaky"], unique("counter")),
            lambda_action("Steady", world["succeeds"]),
        ],
        "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": mode}},
    }
    name = create(aws, declaration(world, stage))  # its creation's run is the one retried
    (execution,) = executions(aws, name)
    assert execution["status"] == "Succeeded"
    assert attempts(aws, name, execution["pipelineExecutionId"]) == {
        "Source": ["Succeeded"],
        "Flaky": ["Failed", "Succeeded"],
        "Steady": steady_attempts,
    }
    state = stage_state(aws, name, "Check")
    assert state["latestExecution"]["status"] == "Succeeded"
    assert state["retryStageMetadata"] == {
        "autoStageRetryAttempt": 1,
        "latestRetryTrigger": "AutomatedStageRetry",
    }


def test_the_automatic_retry_is_one_attempt_and_a_manual_retry_is_counted(aws, world):
    stage = {
        "name": "Check",
        "actions": [lambda_action("Fails", world["fails"])],
        "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}},
    }
    name = create(aws, declaration(world, stage))
    (execution,) = executions(aws, name)
    execution_id = execution["pipelineExecutionId"]
    assert execution["status"] == "Failed"
    assert attempts(aws, name, execution_id)["Fails"] == ["Failed", "Failed"]

    cp = aws("codepipeline")
    cp.retry_stage_execution(
        pipelineName=name,
        stageName="Check",
        pipelineExecutionId=execution_id,
        retryMode="FAILED_ACTIONS",
    )
    assert wait_for_execution(cp, name, execution_id)["status"] == "Failed"
    assert attempts(aws, name, execution_id)["Fails"] == ["Failed"] * 3, "no second automatic"
    assert stage_state(aws, name, "Check")["retryStageMetadata"] == {
        "autoStageRetryAttempt": 1,
        "manualStageRetryAttempt": 1,
        "latestRetryTrigger": "ManualStageRetry",
    }


# -- ROLLBACK -------------------------------------------------------------------------------
def deploy_stage(world, **settings) -> dict:
    """Deploys the site, then checks it."""
    return {
        "name": "Deploy",
        "actions": [
            pipelines.s3_deploy_action("Deploy", world["site"], "SourceArtifact"),
            lambda_action("Check", world["checks_site"], runOrder=2),
        ],
        **settings,
    }


@pytest.fixture
def site_world(aws, roles, world):
    """The module's functions, with a source bucket of its own (its object changes)."""
    own = source_world(aws, roles)
    return {**world, "source": own["source"], "version": own["version"]}


def test_rollback_on_failure_redeploys_the_last_successful_revision(aws, site_world):
    world = site_world
    name = create(aws, declaration(world, deploy_stage(world, onFailure={"result": "ROLLBACK"})))
    (first,) = executions(aws, name)
    assert first["status"] == "Succeeded"

    upload(aws, world, "<h1>broken</h1>")
    failed = release(aws, name)
    assert failed["status"] == "Failed"
    assert failed["executionType"] == "STANDARD"
    rollback = wait_for(lambda: len(executions(aws, name)) == 3 and executions(aws, name)[0])
    done = wait_for_execution(aws("codepipeline"), name, rollback["pipelineExecutionId"])
    assert done["status"] == "Succeeded"
    assert done["executionType"] == "ROLLBACK"
    assert done["trigger"] == {
        "triggerType": "AutomatedRollback",
        "triggerDetail": failed["pipelineExecutionId"],
    }
    assert done["rollbackMetadata"] == {
        "rollbackTargetPipelineExecutionId": first["pipelineExecutionId"]
    }
    assert [r["revisionId"] for r in done["artifactRevisions"]] == [world["version"]]
    assert deployed_page(aws, world) == "<h1>Hi</h1>", "the last good revision is deployed again"
    assert set(attempts(aws, name, done["pipelineExecutionId"])) == {"Deploy", "Check"}

    deploy = stage_state(aws, name, "Deploy")["latestExecution"]
    assert deploy == {
        "pipelineExecutionId": done["pipelineExecutionId"],
        "status": "Succeeded",
        "type": "ROLLBACK",
    }
    source = stage_state(aws, name, "Source")["latestExecution"]
    assert source["pipelineExecutionId"] == failed["pipelineExecutionId"]
    assert executions(aws, name)[1]["status"] == "Failed", "the failed execution stays Failed"


def test_with_no_earlier_success_nothing_is_rolled_back(aws, world):
    stage = {
        "name": "Check",
        "actions": [lambda_action("Fails", world["fails"])],
        "onFailure": {"result": "ROLLBACK"},
    }
    name = create(aws, declaration(world, stage))
    time.sleep(0.5)
    assert [e["status"] for e in executions(aws, name)] == ["Failed"]


def test_rollback_stage_reruns_the_stage_with_the_target_revisions(aws, site_world):
    world = site_world
    name = create(aws, declaration(world, deploy_stage(world)))
    (first,) = executions(aws, name)
    second_version = upload(aws, world, "<h1>Second</h1>")
    second = release(aws, name)
    assert second["status"] == "Succeeded"
    assert deployed_page(aws, world) == "<h1>Second</h1>"

    cp = aws("codepipeline")
    rollback_id = cp.rollback_stage(
        pipelineName=name,
        stageName="Deploy",
        targetPipelineExecutionId=first["pipelineExecutionId"],
    )["pipelineExecutionId"]
    done = wait_for_execution(cp, name, rollback_id)
    assert done["status"] == "Succeeded"
    assert done["executionType"] == "ROLLBACK"
    assert done["trigger"]["triggerType"] == "ManualRollback"
    assert done["rollbackMetadata"] == {
        "rollbackTargetPipelineExecutionId": first["pipelineExecutionId"]
    }
    assert [r["revisionId"] for r in done["artifactRevisions"]] == [world["version"]]
    assert deployed_page(aws, world) == "<h1>Hi</h1>"
    summary = executions(aws, name)[0]
    assert summary["pipelineExecutionId"] == rollback_id
    assert summary["executionType"] == "ROLLBACK"
    assert summary["sourceRevisions"][0]["revisionId"] == world["version"] != second_version

    def refused(stage: str, target: str) -> dict:
        return error_of(
            lambda: cp.rollback_stage(
                pipelineName=name, stageName=stage, targetPipelineExecutionId=target
            )
        )

    source = refused("Source", first["pipelineExecutionId"])
    assert source["Code"] == "UnableToRollbackStageException"
    assert "a source stage can't be rolled back" in source["Message"]
    to_rollback = refused("Deploy", rollback_id)
    assert to_rollback["Code"] == "UnableToRollbackStageException"
    assert "is a rollback execution" in to_rollback["Message"]
    assert refused("Nope", rollback_id)["Code"] == "StageNotFoundException"

    edited = cp.get_pipeline(name=name)["pipeline"]
    cp.update_pipeline(pipeline=edited)
    outdated = refused("Deploy", first["pipelineExecutionId"])
    assert outdated["Code"] == "PipelineExecutionOutdatedException"
    assert "started with version 1" in outdated["Message"]


# -- transitions ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["SUPERSEDED", "PARALLEL"])
def test_a_disabled_transition_holds_executions_until_it_is_enabled(aws, world, mode):
    check = {"name": "Check", "actions": [lambda_action("Check", world["succeeds"])]}
    name = create(aws, declaration(world, check, executionMode=mode))
    cp = aws("codepipeline")
    cp.disable_stage_transition(
        pipelineName=name, stageName="Check", transitionType="Inbound", reason="Hold for review"
    )
    state = stage_state(aws, name, "Check")["inboundTransitionState"]
    assert state["enabled"] is False
    assert state["disabledReason"] == "Hold for review"
    assert state["lastChangedBy"].startswith("arn:aws:iam::")
    assert "lastChangedAt" in state

    held = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    waiting = wait_for(lambda: stage_state(aws, name, "Check").get("inboundExecution"))
    assert waiting == {"pipelineExecutionId": held, "status": "InProgress", "type": "STANDARD"}
    time.sleep(0.5)
    check_state = stage_state(aws, name, "Check")
    assert check_state["latestExecution"]["pipelineExecutionId"] != held, "it hasn't entered"
    running = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=held)
    assert running["pipelineExecution"]["status"] == "InProgress"

    cp.enable_stage_transition(pipelineName=name, stageName="Check", transitionType="Inbound")
    assert wait_for_execution(cp, name, held)["status"] == "Succeeded"
    state = stage_state(aws, name, "Check")
    assert state["inboundTransitionState"]["enabled"] is True
    assert state["latestExecution"]["pipelineExecutionId"] == held
    assert "inboundTransitionState" not in stage_state(aws, name, "Source")


def test_a_newer_execution_supersedes_one_held_at_a_disabled_transition(aws, world):
    check = {"name": "Check", "actions": [lambda_action("Check", world["succeeds"])]}
    name = create(aws, declaration(world, check))
    cp = aws("codepipeline")
    cp.disable_stage_transition(
        pipelineName=name, stageName="Check", transitionType="Inbound", reason="Hold"
    )
    older = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    wait_for(lambda: stage_state(aws, name, "Check").get("inboundExecution"))
    newer = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_for_execution(cp, name, older)["status"] == "Superseded"
    cp.enable_stage_transition(pipelineName=name, stageName="Check", transitionType="Inbound")
    assert wait_for_execution(cp, name, newer)["status"] == "Succeeded"


def test_transitions_the_local_cloud_cant_hold_are_refused_by_name(aws, world):
    check = {"name": "Check", "actions": [lambda_action("Check", world["succeeds"])]}
    name = create(aws, declaration(world, check))
    cp = aws("codepipeline")
    outbound = error_of(
        lambda: cp.disable_stage_transition(
            pipelineName=name, stageName="Source", transitionType="Outbound", reason="x"
        )
    )
    assert outbound["Code"] == "ValidationException"
    assert outbound["Message"] == (
        "The local cloud handles Inbound transitions only: to hold executions after stage "
        "Source, disable the inbound transition of the stage after it (Check)."
    )
    first = error_of(
        lambda: cp.disable_stage_transition(
            pipelineName=name, stageName="Source", transitionType="Inbound", reason="x"
        )
    )
    assert first["Code"] == "ValidationException"
    assert "it has no inbound transition" in first["Message"]
    missing = error_of(
        lambda: cp.enable_stage_transition(
            pipelineName=name, stageName="Nope", transitionType="Inbound"
        )
    )
    assert missing["Code"] == "StageNotFoundException"


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


def test_override_stage_condition_says_there_is_no_condition(aws, world):
    check = {"name": "Check", "actions": [lambda_action("Check", world["succeeds"])]}
    name = create(aws, declaration(world, check))
    cp = aws("codepipeline")
    (execution,) = finish_all(aws, name)
    error = error_of(
        lambda: cp.override_stage_condition(
            pipelineName=name,
            stageName="Check",
            pipelineExecutionId=execution["pipelineExecutionId"],
            conditionType="BEFORE_ENTRY",
        )
    )
    assert error["Code"] == "ConditionNotOverridableException"
    assert "the local cloud can't evaluate stage conditions" in error["Message"]


def test_retry_and_rollback_settings_read_back_as_declared(aws, world):
    stage = {
        "name": "Check",
        "actions": [lambda_action("Check", world["succeeds"])],
        "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}},
    }
    name = create(aws, declaration(world, stage))
    got = aws("codepipeline").get_pipeline(name=name)["pipeline"]["stages"][1]
    assert got["onFailure"] == stage["onFailure"]
