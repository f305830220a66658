"""06: the CloudFormation function."""

from __future__ import annotations

import json

from ..workbook import Workbook
from ._common import say


def check_stack_updated(book: Workbook) -> None:
    """06: the stack was updated from a template whose MySampleBucket has a changed property.

    Reads what CloudFormation deployed (GetTemplate), not what was uploaded: the change counts
    once a release has taken it through UpdateStack."""
    cloudformation = book.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=book.names.stack)["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        return say(False, "", "the stack doesn't exist yet: release the pipeline.")
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
