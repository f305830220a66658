"""A boto3 client created in every invocation: INIT is shorter, and every invocation pays for
a new client (the first one in an environment the most)."""

import time

import boto3


def lambda_handler(event, context):
    time.sleep(event.get("hold_s", 0))
    codepipeline = boto3.client("codepipeline")
    return {"region": codepipeline.meta.region_name}
