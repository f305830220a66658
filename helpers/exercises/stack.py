"""06: the CloudFormation function."""

from __future__ import annotations

from ..workbook import Workbook
from ._common import say


def check_stack_updated(book: Workbook) -> None:
    """06: the stack went through an update (a changed template was released)."""
    cloudformation = book.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=book.names.stack)["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        return say(False, "", "the stack doesn't exist yet: release the pipeline.")
    if stack["StackStatus"] != "UPDATE_COMPLETE":
        return say(
            False, "", f"the stack is {stack['StackStatus']}; upload a changed template, release."
        )
    return say(True, "the stack was updated from your changed template.", "")
