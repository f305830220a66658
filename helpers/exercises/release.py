"""05: releasing and watching."""

from __future__ import annotations

from .. import pipelines
from ..workbook import Workbook
from ._common import say


def check_different_text_release(book: Workbook) -> None:
    """05: the latest release checked a text other than Congratulations, and passed."""
    codepipeline = book.client("codepipeline")
    summaries = codepipeline.list_pipeline_executions(pipelineName=book.names.pipeline)[
        "pipelineExecutionSummaries"
    ]
    if not summaries:
        return say(False, "", "release a change first.")
    latest = summaries[0]
    details = pipelines.action_executions(
        codepipeline, book.names.pipeline, latest["pipelineExecutionId"]
    )
    checks = [d for d in details if d["actionName"] == "MyLambdaAction"]
    if not checks:
        return say(False, "", "the latest release has no MyLambdaAction run yet.")
    params = checks[-1]["input"]["configuration"].get("UserParameters", "")
    if "expect" not in params:
        return say(False, "", "the action's UserParameters still use the default text.")
    if latest["status"] != "Succeeded":
        return say(False, "", f"the latest release is {latest['status']}; make it pass.")
    return say(True, "the latest release checked your text and passed.", "")
