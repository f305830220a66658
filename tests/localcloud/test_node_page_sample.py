"""The page's own Node.js sample in a pipeline, deployed exactly as printed.

As on AWS today: alone, it can't load `aws-sdk` (Node.js 18 and later runtimes include the SDK
v3 only), never reports, and the action fails when CodePipeline stops waiting; with aws-sdk v2
bundled it health-checks the page: it passes where the page says "Congratulations" and fails
with its own message where it doesn't.
"""

from __future__ import annotations

import json
import time

import pytest

from helpers import pipelines, resources

from ..conftest import JOB_TIMEOUT_S
from .conftest import unique
from .node_kit import (
    log_lines,
    needs_node,
    node_function,
    page_packages_fixture,  # noqa: F401 - the fixture page_packages
    record_of,
)
from .pipeline_kit import actions, declaration, finish_all, source_world

pytestmark = needs_node

NO_RESULT = (
    "The AWS Lambda function {} failed to return a result. Check the function to verify that "
    "it has permission to call the PutJobSuccessResult action and that it made a call to "
    "PutJobSuccessResult."
)


@pytest.fixture(scope="module")
def released(aws, roles, cloud_endpoint, page_packages):
    """One release of a pipeline whose Lambda stage runs three actions side by side: the
    verbatim sample, and the bundled one on a page with "Congratulations" and on one without."""
    s3 = aws("s3")
    site = unique("site")
    s3.create_bucket(Bucket=site)
    resources.open_to_public_reads(s3, site)
    s3.put_object(Bucket=site, Key="index.html", Body=b"<h1>Congratulations</h1>")
    s3.put_object(Bucket=site, Key="plain.html", Body=b"<h1>Welcome</h1>")
    functions = {
        kind: node_function(aws, roles, package, runtime="nodejs22.x", timeout=20)
        for kind, package in page_packages.items()
    }
    checks = {
        "Verbatim": (functions["verbatim"], "index.html"),
        "Passes": (functions["bundled"], "index.html"),
        "Fails": (functions["bundled"], "plain.html"),
    }
    stage = {
        "name": "LambdaStage",
        "actions": [
            pipelines.lambda_action(action, function, f"{cloud_endpoint}/{site}/{page}")
            for action, (function, page) in checks.items()
        ],
    }
    pipeline = declaration(source_world(aws, roles), stage)
    started = time.monotonic()
    aws("codepipeline").create_pipeline(pipeline=pipeline)
    (execution,) = finish_all(aws, pipeline["name"])
    return {
        "execution": execution,
        "seconds": time.monotonic() - started,
        "actions": actions(aws, pipeline["name"], execution["pipelineExecutionId"]),
        "functions": functions,
    }


def test_as_printed_it_fails_after_the_job_time_out_with_awss_message(aws, released):
    verbatim = released["actions"]["Verbatim"]
    function = released["functions"]["verbatim"]
    assert verbatim["status"] == "Failed"
    assert verbatim["output"]["executionResult"]["errorDetails"]["message"] == (
        NO_RESULT.format(function)
    )
    assert released["seconds"] >= JOB_TIMEOUT_S, "CodePipeline waited for a result"
    # the first attempt and Lambda's two retries of the asynchronous invocation
    lines = [e for e in log_lines(aws, function) if "\tUncaught Exception \t" in e]
    assert len(lines) == 3, lines
    for line in lines:
        assert record_of(line)["stack"][0] == (
            "Runtime.ImportModuleError: Error: Cannot find module 'aws-sdk'"
        )


def test_with_aws_sdk_v2_bundled_it_passes_on_a_congratulations_page(released):
    assert released["actions"]["Passes"]["status"] == "Succeeded"


def test_with_aws_sdk_v2_bundled_it_fails_with_its_own_message_elsewhere(aws, released):
    fails = released["actions"]["Fails"]
    assert fails["status"] == "Failed"
    details = fails["output"]["executionResult"]["errorDetails"]
    # putJobFailure(ex): the failed assert, JSON.stringify'd, as the job's failure message
    assert json.loads(details["message"]) == {
        "generatedMessage": True,
        "code": "ERR_ASSERTION",
        "actual": False,
        "expected": True,
        "operator": "==",
    }
    assert released["execution"]["status"] == "Failed"
    errors = [
        record_of(e)
        for e in log_lines(aws, released["functions"]["bundled"])
        if "\tInvoke Error \t" in e
    ]
    # then context.fail(ex): a function error, so Lambda retries the asynchronous invocation
    # twice, as on AWS (the retries' putJobFailureResult find the job already failed)
    assert [e["errorType"] for e in errors] == ["AssertionError"] * 3, "then context.fail(ex)"
