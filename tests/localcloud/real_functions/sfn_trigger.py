"""Start a Step Functions execution and poll it with continuation tokens until it ends."""

import json

import boto3

codepipeline = boto3.client("codepipeline")
sfn = boto3.client("stepfunctions")


def handler(event, context):
    job = event["CodePipeline.job"]
    data = job["data"]
    params = json.loads(data["actionConfiguration"]["configuration"]["UserParameters"])
    token = data.get("continuationToken")
    if token is None:
        execution = sfn.start_execution(
            stateMachineArn=params["stateMachineArn"], input=json.dumps(params.get("input", {}))
        )
        codepipeline.put_job_success_result(
            jobId=job["id"],
            continuationToken=execution["executionArn"],
            executionDetails={
                "summary": "Execution started",
                "externalExecutionId": execution["executionArn"],
            },
        )
        return
    described = sfn.describe_execution(executionArn=token)
    if described["status"] == "RUNNING":
        codepipeline.put_job_success_result(
            jobId=job["id"],
            continuationToken=token,
            executionDetails={"summary": "Execution running"},
        )
    elif described["status"] == "SUCCEEDED":
        codepipeline.put_job_success_result(
            jobId=job["id"], executionDetails={"summary": described.get("output", "")[:2048]}
        )
    else:
        codepipeline.put_job_failure_result(
            jobId=job["id"],
            failureDetails={"type": "JobFailed", "message": f"Execution {described['status']}"},
        )
