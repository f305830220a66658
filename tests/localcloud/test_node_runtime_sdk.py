"""Node.js functions resolve the AWS SDK v3 clients Lambda's nodejs18.x and newer bundle (from
the local cloud's runtime folder, which `make setup` fills), after their own node_modules."""

from __future__ import annotations

import re

from helpers.localcloud.awslambda import interpreters, runtimes

from .conftest import log_messages
from .node_kit import invoke, needs_node, needs_sdk, node_function

LIST_BUCKETS = """
const { S3Client, ListBucketsCommand } = require('@aws-sdk/client-s3');
exports.handler = async () => {
  const listed = await new S3Client({}).send(new ListBucketsCommand({}));
  return { buckets: (listed.Buckets || []).length, node: process.version };
};
"""


@needs_node
@needs_sdk
def test_a_node_function_requires_the_bundled_sdk_v3(aws, roles):
    assert (interpreters.NODE_MODULES / "@aws-sdk" / "client-s3").is_dir(), (
        f"no AWS SDK v3 in {interpreters.NODE_MODULES}: `make setup` installs it with npm"
    )
    name = node_function(aws, roles, {"index.js": LIST_BUCKETS}, runtime="nodejs22.x", timeout=20)
    response, result, _ = invoke(aws, name)
    assert "FunctionError" not in response, result
    assert isinstance(result["buckets"], int)
    init_start = next(m for m in log_messages(aws, name)[0] if m.startswith("INIT_START"))
    claimed = re.match(r"INIT_START Runtime Version: nodejs:22\.v\d+( \(.*?\))?\t", init_start)
    assert claimed, init_start
    if result["node"].startswith("v22."):
        assert claimed.group(1) is None
    else:
        assert claimed.group(1) == f" (runs on Node.js {result['node']} here)"


@needs_node
def test_node_of_the_runtime_major_is_preferred(monkeypatch, tmp_path):
    fake = tmp_path / "node22"
    fake.write_text("#!/bin/sh\necho v22.11.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{runtimes.os.environ['PATH']}")
    monkeypatch.delenv("LOCALCLOUD_NODE", raising=False)
    assert runtimes.find_node("nodejs22.x") == str(fake)
    assert runtimes.find_node("nodejs20.x") != str(fake)


ES_MODULE = """
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
export const handler = async () => {
  const listed = await new S3Client({}).send(new ListBucketsCommand({}));
  return { buckets: (listed.Buckets || []).length };
};
"""


@needs_node
@needs_sdk
def test_an_es_module_imports_the_bundled_sdk_v3(aws, roles):
    """`import` ignores NODE_PATH: an index.mjs finds the clients as on AWS all the same."""
    name = node_function(aws, roles, {"index.mjs": ES_MODULE}, runtime="nodejs22.x", timeout=20)
    response, result, _ = invoke(aws, name)
    assert "FunctionError" not in response, result
    assert isinstance(result["buckets"], int)
