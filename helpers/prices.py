"""The published prices the workbook computes costs from, in one place, with their date.

us-east-1, on-demand, as published on the AWS pricing pages (Lambda, CodePipeline) and checked
on the date below. Costs in the notebooks are estimates from these numbers: check the pricing
pages for your region and today's prices before you budget.
"""

from __future__ import annotations

AS_OF = "2026-11"
REGION = "us-east-1"

LAMBDA_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
LAMBDA_PER_MILLION_REQUESTS = 0.20

CODEPIPELINE_V2_ACTION_MINUTE = 0.002  # per action-execution minute, each action rounded up
CODEPIPELINE_V2_FREE_MINUTES = 100  # per account per month
CODEPIPELINE_V1_PIPELINE_MONTH = 1.00  # per active pipeline
CODEPIPELINE_V1_FREE_DAYS = 30  # a new V1 pipeline is free for its first 30 days
