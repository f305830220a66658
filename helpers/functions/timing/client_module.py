"""A boto3 client created at module level: its set-up (loading the service model) is paid in
INIT, once per environment; every invocation reuses it."""

import time

import boto3

CODEPIPELINE = boto3.client("codepipeline")


def lambda_handler(event, context):
    time.sleep(event.get("hold_s", 0))
    return {"region": CODEPIPELINE.meta.region_name}
