"""05: releasing and watching."""

from __future__ import annotations

import json

from .. import pipelines
from ..resources import log_wait, poll_interval
from ..workbook import Workbook
from ._common import say

NO_RESULT = "failed to return a result"


def _latest_check(book: Workbook) -> tuple[dict | None, dict | None]:
    """The latest release, and its MyLambdaAction run (None where there is none)."""
    codepipeline = book.client("codepipeline")
    summaries = codepipeline.list_pipeline_executions(pipelineName=book.names.pipeline)[
        "pipelineExecutionSummaries"
    ]
    if not summaries:
        return None, None
    latest = max(summaries, key=lambda s: s["startTime"])
    run = pipelines.latest_action_run(
        codepipeline,
        book.names.pipeline,
        "LambdaStage",
        "MyLambdaAction",
        latest["pipelineExecutionId"],
    )
    return latest, run


def check_different_text_release(book: Workbook) -> None:
    """05: the latest release checked a text other than Congratulations, and passed."""
    latest, run = _latest_check(book)
    if latest is None:
        return say(False, "", "release a change first.")
    if run is None:
        return say(False, "", "the latest release has no MyLambdaAction run yet.")
    params = run["input"]["configuration"].get("UserParameters", "")
    try:
        expect = json.loads(params).get("expect") if params.strip().startswith("{") else None
    except ValueError:
        expect = None
    if not expect or expect == "Congratulations":
        return say(False, "", "the action's UserParameters still use the default text.")
    if latest["status"] != "Succeeded":
        return say(False, "", f"the latest release is {latest['status']}; make it pass.")
    return say(True, f"the latest release checked for {expect!r} and passed.", "")


def check_report_denied(book: Workbook) -> None:
    """05: a release whose health check couldn't report: AccessDeniedException in the
    function's log, and the action failed without a result (or was abandoned, on AWS)."""
    latest, run = _latest_check(book)
    if run is None:
        return say(False, "", "take the permission away, then release a change.")
    if run["status"] == "InProgress":
        return say(
            False,
            "",
            "the action is still In progress: CodePipeline waits for a result (60 s on the "
            "local cloud, 20 minutes on AWS). Wait for the release to end, or stop it with "
            "abandon=True.",
        )
    events = pipelines.action_log_events(
        book.client("logs"),
        book.names.health_function,
        run["startTime"],
        run["lastUpdateTime"],
        wait_s=log_wait(book),
        poll=poll_interval(book),
    )
    denied = [
        e["message"]
        for e in events
        if "AccessDeniedException" in e["message"] and "PutJobSuccessResult" in e["message"]
    ]
    if not denied and run["status"] == "Succeeded":
        return say(
            False,
            "",
            "the latest release's report went through. Take codepipeline:PutJobSuccessResult "
            "out of the policy (a new default version), then release.",
        )
    if not denied:
        return say(
            False,
            "",
            "the latest MyLambdaAction run's log has no AccessDeniedException for "
            "PutJobSuccessResult: did the new policy version become the default before you "
            "released? (On AWS, give IAM about 10 s to apply it.)",
        )
    message = pipelines.action_message(run)
    if run["status"] == "Failed" and NO_RESULT in message:
        return say(
            True,
            "the report was denied, so the action failed without a result: " + message,
            "",
        )
    if run["status"] == "Abandoned":
        return say(True, "the report was denied, and you abandoned the waiting action.", "")
    return say(False, "", f"the action ended {run['status']}: {message}")
