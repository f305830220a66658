"""The page's own samples, run as printed, with each Python runtime interface client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import create_function, unique, wait_for_execution, zip_bytes
from ..test_codepipeline_engine import LAMBDA, actions
from ..test_fidelity import TEMPLATE, create_with_source

ROOT = Path(__file__).resolve().parents[3]


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
    sample = (ROOT / "tests/fixtures/page_cloudformation_sample.py").read_text()
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
