"""Checks for the notebooks' exercises: each says ✓ or what is still missing.

One module per notebook; ``from helpers import exercises`` gives them all by name.
"""

from .clean_up import check_nothing_left
from .execution_role import check_report_statement
from .health_check import check_user_parameters
from .lambda_action import check_second_page_action
from .release import check_different_text_release, check_report_denied
from .stack import check_stack_updated
from .timings import check_cheapest_memory, check_payback

__all__ = [
    "check_cheapest_memory",
    "check_different_text_release",
    "check_nothing_left",
    "check_payback",
    "check_report_denied",
    "check_report_statement",
    "check_second_page_action",
    "check_stack_updated",
    "check_user_parameters",
]
