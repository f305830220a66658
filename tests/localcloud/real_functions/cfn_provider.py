"""Create a CloudFormation stack from the input artifact's template; wait with continuations."""

import io
import json
import zipfile

import boto3

cloudformation = boto3.client("cloudformation")
codepipeline = boto3.client("codepipeline")


def artifact_file(job_data, filename):
    creds = job_data["artifactCredentials"]
    s3 = boto3.client(
        "s3",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )
    location = job_data["inputArtifacts"][0]["location"]["s3Location"]
    body = s3.get_object(Bucket=location["bucketName"], Key=location["objectKey"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as package:
        return package.read(filename).decode()


def handler(event, context):
    job = event["CodePipeline.job"]
    data = job["data"]
    params = json.loads(data["actionConfiguration"]["configuration"]["UserParameters"])
    try:
        if "continuationToken" not in data:
            template = artifact_file(data, params["template"])
            stack_id = cloudformation.create_stack(
                StackName=params["stack"], TemplateBody=template
            )["StackId"]
            codepipeline.put_job_success_result(
                jobId=job["id"],
                continuationToken=stack_id,
                executionDetails={"summary": "Stack creation started", "percentComplete": 10},
            )
            return
        stack = cloudformation.describe_stacks(StackName=data["continuationToken"])["Stacks"][0]
        status = stack["StackStatus"]
        if status.endswith("_IN_PROGRESS"):
            codepipeline.put_job_success_result(
                jobId=job["id"],
                continuationToken=data["continuationToken"],
                executionDetails={"summary": f"Stack is {status}"},
            )
        elif status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            codepipeline.put_job_success_result(
                jobId=job["id"],
                executionDetails={"summary": f"Stack {params['stack']} is {status}"},
                outputVariables={"StackId": stack["StackId"]},
            )
        else:
            codepipeline.put_job_failure_result(
                jobId=job["id"],
                failureDetails={"type": "JobFailed", "message": f"Stack ended {status}"},
            )
    except Exception as error:  # report, never leave the job waiting
        codepipeline.put_job_failure_result(
            jobId=job["id"], failureDetails={"type": "JobFailed", "message": str(error)[:5000]}
        )
