"""Write an output artifact (a zip with a build stamp) for the next stage."""

import io
import json
import zipfile

import boto3

codepipeline = boto3.client("codepipeline")


def handler(event, context):
    job = event["CodePipeline.job"]
    data = job["data"]
    creds = data["artifactCredentials"]
    s3 = boto3.client(
        "s3",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("stamp.json", json.dumps({"job": job["id"]}))
    location = data["outputArtifacts"][0]["location"]["s3Location"]
    s3.put_object(Bucket=location["bucketName"], Key=location["objectKey"], Body=buffer.getvalue())
    codepipeline.put_job_success_result(jobId=job["id"])
