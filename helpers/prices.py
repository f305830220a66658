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
# Lambda's free tier (Lambda pricing page), per account and month, for x86 and arm together.
LAMBDA_FREE_REQUESTS = 1_000_000
LAMBDA_FREE_GB_SECONDS = 400_000

# CodePipeline (pricing page). CreatePipeline without pipelineType makes a V1 pipeline; the
# console makes V2. V2 bills action execution time; V1 bills a pipeline in a month in which it is
# "active": it has existed for more than 30 days and at least one code change ran through it
# that month (not prorated).
CODEPIPELINE_V2_ACTION_MINUTE = 0.002  # per action-execution minute, each action rounded up
CODEPIPELINE_V2_FREE_MINUTES = 100  # per account per month, shared by all its V2 pipelines
CODEPIPELINE_V1_PIPELINE_MONTH = 1.00  # per active pipeline
CODEPIPELINE_V1_FREE_DAYS = 30  # a new V1 pipeline is free for its first 30 days
CODEPIPELINE_V1_FREE_ACTIVE_PIPELINES = 1  # per account per month (AWS Free Tier)
