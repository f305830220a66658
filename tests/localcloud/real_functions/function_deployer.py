"""Deploy the input artifact as the code of another function, publishing a version."""

import json

import boto3

codepipeline = boto3.client("codepipeline")
lambda_client = boto3.client("lambda")


def handler(event, context):
    job = event["CodePipeline.job"]
    data = job["data"]
    target = json.loads(data["actionConfiguration"]["configuration"]["UserParameters"])["function"]
    creds = data["artifactCredentials"]
    s3 = boto3.client(
        "s3",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )
    location = data["inputArtifacts"][0]["location"]["s3Location"]
    try:
        package = s3.get_object(Bucket=location["bucketName"], Key=location["objectKey"])
        published = lambda_client.update_function_code(
            FunctionName=target, ZipFile=package["Body"].read(), Publish=True
        )
        codepipeline.put_job_success_result(
            jobId=job["id"],
            executionDetails={"summary": f"Published {target} version {published['Version']}"},
            outputVariables={"Version": published["Version"]},
        )
    except Exception as error:
        codepipeline.put_job_failure_result(
            jobId=job["id"], failureDetails={"type": "JobFailed", "message": str(error)[:5000]}
        )
