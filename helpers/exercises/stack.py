"""06: the CloudFormation function."""

from __future__ import annotations

import json

from .. import pipelines
from ..workbook import Workbook
from ._common import say


def _why_no_stack(book: Workbook) -> str:
    """What the latest release says about the missing stack: it never ran, or which stage and
    action stopped it (a failing health check keeps StackStage from running at all)."""
    codepipeline = book.client("codepipeline")
    summaries = codepipeline.list_pipeline_executions(pipelineName=book.names.pipeline)[
        "pipelineExecutionSummaries"
    ]
    if not summaries:
        return "the stack doesn't exist yet: release the pipeline."
    latest = max(summaries, key=lambda s: s["startTime"])
    execution = codepipeline.get_pipeline_execution(
        pipelineName=book.names.pipeline, pipelineExecutionId=latest["pipelineExecutionId"]
    )["pipelineExecution"]
    if execution["status"] == "InProgress":
        return "the stack doesn't exist yet: the latest release is still running; wait for it."
    cause = pipelines.why(codepipeline, book.names.pipeline, execution)
    if not cause:
        return "the stack doesn't exist yet, though the latest release succeeded: release again."
    return f"the stack doesn't exist: {cause}"


def check_stack_updated(book: Workbook) -> None:
    """06: the stack was updated from a template whose MySampleBucket has a changed property.

    Reads what CloudFormation deployed (GetTemplate), not what was uploaded: the change counts
    once a release has taken it through UpdateStack."""
    cloudformation = book.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=book.names.stack)["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        return say(False, "", _why_no_stack(book))
    body = cloudformation.get_template(StackName=book.names.stack)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    bucket = template.get("Resources", {}).get("MySampleBucket", {})
    properties = bucket.get("Properties") or {}
    if not properties:
        return say(
            False,
            "",
            "the deployed template's MySampleBucket has no Properties: add one (for example "
            "VersioningConfiguration), upload the package, release.",
        )
    if stack["StackStatus"] != "UPDATE_COMPLETE":
        return say(
            False, "", f"the stack is {stack['StackStatus']}; release again and wait for it."
        )
    return say(
        True, f"the stack was updated: MySampleBucket now has {', '.join(sorted(properties))}.", ""
    )
