"""The page's own samples, run as printed, with each Python runtime interface client."""

from __future__ import annotations

import json
import re
import time

import pytest

from helpers import packaging

from ..conftest import create_function, unique, wait_for_execution, zip_bytes
from ..test_codepipeline_engine import LAMBDA, actions
from ..test_fidelity import TEMPLATE, create_with_source


def function_log(aws, function: str, wait_s: float = 10.0) -> str:
    """The function's log events as text, once its invocation's REPORT line is there (it is
    written after the function returns, so after the action may have ended)."""
    deadline = time.monotonic() + wait_s
    while True:
        pages = aws("logs").get_paginator("filter_log_events")
        log = "\n".join(
            event["message"]
            for page in pages.paginate(logGroupName=f"/aws/lambda/{function}")
            for event in page["events"]
        )
        if "REPORT RequestId:" in log or time.monotonic() > deadline:
            return log
        time.sleep(0.2)


def test_the_pages_own_python_sample_fails_on_python3_and_reports_it(aws, roles, tmp_path):
    """The page's sample hands zip.read() bytes to TemplateBody; boto3 refuses them."""
    s3 = aws("s3")
    source, store = unique("cfn-src"), unique("cfn-store")
    for bucket in (source, store):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(
        Bucket=source,
        Key="template-package.zip",
        Body=zip_bytes({"template-package/template.json": TEMPLATE}),
    )
    function = unique("page-sample")
    sample = packaging.page_python_sample()
    create_function(
        aws,
        FunctionName=function,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_bytes({"lambda_function.py": sample})},
        Timeout=20,
    )
    stack = unique("PageSampleStack")
    world = {"source": source, "store": store, "role": roles["pipeline"]}
    action = {
        "name": "DeployStack",
        "actionTypeId": LAMBDA,
        "configuration": {
            "FunctionName": function,
            "UserParameters": json.dumps(
                {"stack": stack, "file": "template-package/template.json", "artifact": "MyTemplate"}
            ),
        },
        "inputArtifacts": [{"name": "MyTemplate"}],
    }
    pipeline = create_with_source(aws, world, "template-package.zip", action)
    cp = aws("codepipeline")
    first = cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"][0]
    execution = wait_for_execution(cp, pipeline, first["pipelineExecutionId"])
    assert execution["status"] == "Failed"
    detail = actions(aws, pipeline, execution["pipelineExecutionId"])["DeployStack"]
    message = detail["output"]["executionResult"]["errorDetails"]["message"]
    assert message.startswith("Function exception: Parameter validation failed")
    assert "Invalid type for parameter TemplateBody" in message
    assert "<class 'bytes'>" in message
    with pytest.raises(aws("cloudformation").exceptions.ClientError):
        aws("cloudformation").describe_stacks(StackName=stack)
    # The function's log (what 06 reads with FilterLogEvents): the sample's traceback, the
    # error raised by boto3 inside the sample's own create_stack, before any request was sent.
    log = function_log(aws, function)
    assert "Function failed due to exception." in log
    assert "Traceback (most recent call last):" in log
    assert re.search(r'lambda_function\.py", line \d+, in create_stack', log)
    assert "botocore.exceptions.ParamValidationError: Parameter validation failed" in log
    assert "Putting job failure" in log and "Function complete." in log
