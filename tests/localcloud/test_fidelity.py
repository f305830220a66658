"""Where moto alone differs from AWS in ways the workbook depends on, the local cloud doesn't."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers import pipelines, resources

from .conftest import unique

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "data/cloudformation/template-package/template.json").read_text()


def test_update_stack_without_changes_is_refused_like_aws(aws):
    cf = aws("cloudformation")
    name = unique("stack")
    cf.create_stack(StackName=name, TemplateBody=TEMPLATE)
    with pytest.raises(cf.exceptions.ClientError) as raised:
        cf.update_stack(StackName=name, TemplateBody=TEMPLATE)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"] == "No updates are to be performed."
    changed = json.loads(TEMPLATE)
    changed["Description"] = "changed"
    cf.update_stack(StackName=name, TemplateBody=json.dumps(changed))
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def create_with_source(
    aws, world, key, action, output="MyTemplate", stages=(), stage_name="Deploy"
):
    """A pipeline: an S3 source (``key`` -> ``output``), then ``stages``, then ``action``."""
    name = unique("pipe")
    source = pipelines.s3_source_action("Source", world["source"], key, output)
    aws("codepipeline").create_pipeline(
        pipeline={
            "name": name,
            "roleArn": world["role"],
            "artifactStore": {"type": "S3", "location": world["store"]},
            "stages": [
                {"name": "Source", "actions": [source]},
                *stages,
                {"name": stage_name, "actions": [action]},
            ],
        }
    )
    return name


def test_anonymous_reads_need_a_public_bucket_policy(aws, cloud_endpoint):
    s3 = aws("s3")
    bucket = unique("site")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>Congratulations</h1>")
    url = f"{cloud_endpoint}/{bucket}/index.html"
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(url, timeout=5)
    assert denied.value.code == 403
    assert b"<Code>AccessDenied</Code>" in denied.value.read()
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadForTheSite",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    # New buckets block public policies, as on AWS since April 2023.
    with pytest.raises(s3.exceptions.ClientError) as blocked:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert blocked.value.response["Error"]["Code"] == "AccessDenied"
    assert "BlockPublicPolicy" in blocked.value.response["Error"]["Message"]
    resources.open_to_public_reads(s3, bucket)  # lift BlockPublicPolicy, set the policy
    with urllib.request.urlopen(url, timeout=5) as page:
        assert page.status == 200
        assert page.read() == b"<h1>Congratulations</h1>"
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=5)


def test_signed_requests_are_not_affected_by_the_public_read_check(aws):
    s3 = aws("s3")
    bucket = unique("private")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
