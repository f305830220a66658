"""Node.js functions (nodejs18.x, 20.x, 22.x) run as AWS's Node.js runtime runs them: handler
styles, errors, console lines, the platform's lines, time-outs, the SDKs and the role's
credentials — and, without Node.js, fail at once saying what to install.

Outcomes were checked against AWS's own client (aws-lambda-ric 3.3.0, built from source) run
through the same Runtime API: same payloads, same log lines, but for the runtime's own stack
frames and the newer Runtime.NodeJsExit (3.3.0 answers null for a promise that never settles;
AWS's runtimes now fail it).
"""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import pytest

from helpers import localcloud, packaging, pipelines
from helpers.localcloud.awslambda import interpreters, runtimes
from helpers.localcloud.awslambda.exceptions import InvalidRuntimeException

from ..conftest import JOB_TIMEOUT_S, Started
from .conftest import Cloud, create_function, unique, wait_for_execution, zip_bytes
from .node_kit import (
    invoke,
    log_lines,
    needs_node,
    node_function,
    npm_installed,
    page_packages_fixture,  # noqa: F401 - the fixture page_packages
    record_of,
)

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms"
    r"\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: (?P<init>\d+\.\d{2}) ms)?(?P<status>\tStatus: timeout)?$"
)

# One module, a handler per style; each test case is a function with one of them as its handler.
STYLES = """
exports.asyncValue = async (event, context) => ({ got: event, id: context.awsRequestId });
exports.callbackValue = (event, context, callback) => callback(null, { via: "callback" });
exports.callbackWaits = (event, context, callback) => {
  setTimeout(() => console.log("timer done"), 150);
  callback(null, "after the timer");
};
exports.callbackNoWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log("timer done"), 1500);
  callback(null, "at once");
};
exports.succeed = (event, context) => {
  context.succeed({ via: "succeed" });
  context.fail("only the first result counts");
};
exports.done = (event, context) => context.done(null, "done");
exports.noResult = () => { console.log("returns nothing, calls nothing"); };
exports.failString = (event, context) => context.fail("it broke");
exports.failNothing = (event, context) => context.fail();
exports.failError = (event, context) => context.fail(new TypeError("bad type"));
exports.callbackError = (event, context, callback) => callback(new RangeError("out of range"));
exports.throws = () => { throw new Error("thrown"); };
exports.rejects = async () => { throw new Error("rejected"); };
exports.neverSettles = async () => new Promise(() => {});
exports.uncaught = () => { setTimeout(() => { throw new Error("later"); }, 10); };
exports.unhandledRejection = (event, context, callback) => {
  Promise.reject(new Error("nope"));
  setTimeout(() => callback(null, "too late"), 1000);
};
"""


@pytest.fixture(scope="module")
def styles(aws, roles):
    """{handler: function name}, created on first use."""
    made: dict[str, str] = {}

    def function(handler: str) -> str:
        if handler not in made:
            made[handler] = node_function(aws, roles, {"styles.js": STYLES}, f"styles.{handler}")
        return made[handler]

    return function


@needs_node
@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("asyncValue", {"got": {"n": 1}}),
        ("callbackValue", {"via": "callback"}),
        ("callbackWaits", "after the timer"),
        ("callbackNoWait", "at once"),
        ("succeed", {"via": "succeed"}),
        ("done", "done"),
        ("noResult", None),
    ],
)
def test_handler_styles_return_their_result(aws, styles, handler, expected):
    response, payload, tail = invoke(aws, styles(handler), {"n": 1})
    assert "FunctionError" not in response
    if handler == "asyncValue":  # the event, and the context's request id
        assert payload.pop("id") == response["ResponseMetadata"]["RequestId"]
    assert payload == expected
    inside = tail[tail.index(next(t for t in tail if t.startswith("START "))) :]
    timer = [line for line in inside if line.endswith("\tINFO\ttimer done")]
    if handler == "callbackWaits":  # the callback's result waits for the empty event loop
        assert timer and inside.index(timer[0]) < len(inside) - 2
    if handler == "callbackNoWait":
        assert not timer, "callbackWaitsForEmptyEventLoop = false: the result goes at once"


@needs_node
@pytest.mark.parametrize(
    ("handler", "error_type", "message", "logged_as"),
    [
        ("failString", "string", "it broke", "Invoke Error"),
        ("failNothing", "string", "handled", "Invoke Error"),
        ("failError", "TypeError", "bad type", "Invoke Error"),
        ("callbackError", "RangeError", "out of range", "Invoke Error"),
        ("throws", "Error", "thrown", "Invoke Error"),
        ("rejects", "Error", "rejected", "Invoke Error"),
        (
            "neverSettles",
            "Runtime.NodeJsExit",
            "The Lambda runtime client detected an unexpected Node.js exit code. This is most "
            "commonly caused by a Promise that was never settled. For more information, see "
            "https://nodejs.org/docs/latest/api/process.html#exit-codes",
            "Invoke Error",
        ),
        ("uncaught", "Error", "later", "Uncaught Exception"),
        (
            "unhandledRejection",
            "Runtime.UnhandledPromiseRejection",
            "Error: nope",
            "Unhandled Promise Rejection",
        ),
    ],
)
def test_errors_are_returned_and_logged_as_the_node_runtime_does(
    aws, styles, handler, error_type, message, logged_as
):
    response, payload, tail = invoke(aws, styles(handler))
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert set(payload) == {"errorType", "errorMessage", "trace"}
    assert (payload["errorType"], payload["errorMessage"]) == (error_type, message)
    if error_type == "string":  # a plain value: its type, and no trace
        assert payload["trace"] == []
    else:
        assert payload["trace"][0] == f"{error_type}: {message}"
    (line,) = [t for t in tail if "\tERROR\t" in t]
    assert re.match(rf"^{TIME}\t{request_id}\tERROR\t{logged_as} \t\{{", line), line
    record = record_of(line)
    assert record["errorType"] == ("Error" if error_type == "string" else error_type)
    assert record["errorMessage"] == message
    assert isinstance(record["stack"], list) and "trace" not in record


@needs_node
def test_an_uncaught_exception_ends_the_environment(aws, styles):
    name = styles("uncaught")
    invoke(aws, name)
    _, payload, tail = invoke(aws, name)
    assert payload["errorMessage"] == "later"
    assert REPORT.match(tail[-1]).group("init"), "a new environment: a cold start again"


@needs_node
def test_console_lines_carry_the_time_the_request_id_and_the_level(aws, roles):
    source = """
console.log("at init");
exports.handler = async () => {
  console.log("one", { a: 1 }, 2);
  console.info("two\\nlines");
  console.warn("warned");
  console.error("errored");
  console.debug("debugged");
  console.trace("traced");
  process.stdout.write("plain stdout\\n");
  return "ok";
};
"""
    name = node_function(aws, roles, {"index.js": source})
    response, _, tail = invoke(aws, name)
    request_id = response["ResponseMetadata"]["RequestId"]
    inside = tail[1:-2]  # between START and END, REPORT
    expected = [
        ("INFO", "one { a: 1 } 2"),
        ("INFO", "two\nlines"),  # one console.log, one log event, however many lines
        ("WARN", "warned"),
        ("ERROR", "errored"),
        ("DEBUG", "debugged"),
        ("TRACE", "traced"),
    ]
    events = log_lines(aws, name)
    logged = [e for e in events if f"\t{request_id}\t" in e]
    assert [tuple(e.split("\t", 3)[2:]) for e in logged] == expected
    assert all(re.match(rf"^{TIME}\t{request_id}\t", e) for e in logged)
    assert "plain stdout" in inside
    init = [e for e in events if re.match(rf"^{TIME}\tundefined\tINFO\tat init$", e)]
    assert events.index(init[0]) < events.index(next(e for e in events if e.startswith("START")))


@needs_node
@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs20.x", "nodejs22.x"])
def test_each_node_runtime_runs_with_lambdas_environment_and_platform_lines(aws, roles, runtime):
    source = """
exports.handler = async (event, context) => ({
  env: Object.fromEntries(["AWS_EXECUTION_ENV", "NODE_PATH", "LAMBDA_TASK_ROOT", "PYTHONPATH",
    "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_REGION", "_HANDLER"]
    .map((key) => [key, process.env[key]])),
  context: [context.functionName, context.memoryLimitInMB, context.functionVersion,
    context.invokedFunctionArn, context.logGroupName, context.logStreamName],
  remaining: context.getRemainingTimeInMillis(),
  cwd: process.cwd(),
});
"""
    name = node_function(aws, roles, {"index.js": source}, runtime=runtime)
    first, result, _ = invoke(aws, name)
    second, _, _ = invoke(aws, name)
    env = result["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    # the SDK v3 the runtime bundles, then the task root, as /var/runtime/node_modules on AWS
    assert env["NODE_PATH"] == os.pathsep.join([str(interpreters.NODE_MODULES), result["cwd"]])
    assert env["LAMBDA_TASK_ROOT"] == result["cwd"]
    assert "PYTHONPATH" not in env and env["_HANDLER"] == "index.handler"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_REGION"] == "us-east-1"
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert result["context"][:4] == [name, "128", "$LATEST", arn]
    assert result["context"][4] == f"/aws/lambda/{name}"
    assert 0 < result["remaining"] <= 5000
    lines = log_lines(aws, name)
    version, version_arn = runtimes.runtime_version(runtime, "us-east-1")
    assert re.fullmatch(rf"nodejs:{runtime[6:8]}\.v\d+", version)
    # the Node.js that runs it, where it is not the runtime's major
    version = interpreters.with_note(
        version, interpreters.node_note(runtimes.find_node(runtime), runtime)
    )
    assert lines[0] == f"INIT_START Runtime Version: {version}\tRuntime Version ARN: {version_arn}"
    ids = [r["ResponseMetadata"]["RequestId"] for r in (first, second)]
    assert lines[1:] == [
        f"START RequestId: {ids[0]} Version: $LATEST",
        f"END RequestId: {ids[0]}",
        lines[3],
        f"START RequestId: {ids[1]} Version: $LATEST",
        f"END RequestId: {ids[1]}",
        lines[6],
    ]
    cold, warm = REPORT.match(lines[3]), REPORT.match(lines[6])
    assert cold["init"] and not warm["init"], "Init Duration on the cold start only"
    assert int(cold["used"]) > 0


@needs_node
def test_a_timed_out_invocation_reports_its_timeout(aws, roles):
    source = "exports.handler = async () => new Promise(() => setInterval(() => {}, 100));"
    name = node_function(aws, roles, {"index.js": source}, timeout=1)
    started = time.monotonic()
    response, payload, tail = invoke(aws, name)
    assert time.monotonic() - started < 4
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    report = REPORT.match(tail[-1])
    assert report["duration"] == "1000.00" and report["status"], tail[-1]


@needs_node
@pytest.mark.parametrize(
    ("files", "handler", "outcome"),
    [
        (
            {"src/app.js": "exports.jobs = { main: async () => 'nested' };"},
            "src/app.jobs.main",
            "nested",
        ),
        ({"index.mjs": "export const handler = async () => 'esm';"}, "index.handler", "esm"),
        (
            {
                "package.json": '{"type": "module"}',
                "index.js": "export const handler = async () => 'module';",
            },
            "index.handler",
            "module",
        ),
        ({"index.cjs": "exports.handler = async () => 'cjs';"}, "index.handler", "cjs"),
        (
            {"index.js": "exports.other = () => 1;"},
            "index.handler",
            ("Runtime.HandlerNotFound", "index.handler is undefined or not exported"),
        ),
        (
            {"index.js": "exports.handler = 5;"},
            "index.handler",
            ("Runtime.HandlerNotFound", "index.handler is not a function"),
        ),
        (
            {"index.js": "exports.handler = () => 1;"},
            "index",
            ("Runtime.MalformedHandlerName", "Bad handler"),
        ),
        (
            {"index.js": "exports.handler = () => { ;;; )"},
            "index.handler",
            ("Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected token ')'"),
        ),
        (
            {"index.js": "require('./helper'); exports.handler = () => 1;"},
            "index.handler",
            ("Runtime.ImportModuleError", "Error: Cannot find module './helper'"),
        ),
    ],
    ids=[
        "nested",
        "mjs",
        "type-module",
        "cjs",
        "not-exported",
        "not-a-function",
        "malformed",
        "syntax-error",
        "missing-module",
    ],
)
def test_handlers_resolve_as_on_aws_and_init_errors_say_why(aws, roles, files, handler, outcome):
    name = node_function(aws, roles, files, handler)
    response, payload, _ = invoke(aws, name)
    if isinstance(outcome, str):
        assert payload == outcome and "FunctionError" not in response
        return
    error_type, message = outcome
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == error_type
    assert payload["errorMessage"].split("\nRequire stack:")[0] == message
    # logged by the runtime while loading the handler: no request yet
    (line,) = [e for e in log_lines(aws, name) if "\tERROR\t" in e]
    assert re.match(rf"^{TIME}\tundefined\tERROR\tUncaught Exception \t\{{", line), line
    assert record_of(line)["errorType"] == error_type


@needs_node
def test_modules_come_from_the_package_only(aws, roles, cloud):
    """On AWS nothing lies above /var/task; here a node_modules folder above the unpacked
    package (in the local cloud's state folder) must not be found either."""
    for above in (Path(cloud.state_dir), Path(cloud.state_dir) / "code"):
        module = above / "node_modules" / "leaky-module-above"
        module.mkdir(parents=True, exist_ok=True)
        (module / "index.js").write_text("module.exports = 'found above the package';\n")
    source = """
exports.handler = async () => {
  const found = {};
  for (const name of ["leaky-module-above", "own-module", "./own-file", "assert"]) {
    try { found[name] = typeof require(name); } catch (error) { found[name] = error.code; }
  }
  return found;
};
"""
    files = {
        "index.js": source,
        "own-file.js": "module.exports = 1;",
        "node_modules/own-module/index.js": "module.exports = 2;",
    }
    _, found, _ = invoke(aws, node_function(aws, roles, files))
    assert found == {
        "leaky-module-above": "MODULE_NOT_FOUND",
        "own-module": "number",
        "./own-file": "number",
        "assert": "function",
    }


# -- the SDKs, the role's credentials --------------------------------------------------------
PROBE_V2 = """
const AWS = require("aws-sdk");
exports.handler = async (event) => {
  const identity = await new AWS.STS().getCallerIdentity({}).promise();
  const listed = await new AWS.S3().listObjectsV2({ Bucket: event.bucket }).promise();
  let denied;
  try {
    await new AWS.Lambda().listFunctions({}).promise();
  } catch (error) {
    denied = error.code;
  }
  return { arn: identity.Arn, keys: listed.Contents.map((o) => o.Key), denied };
};
"""
PROBE_V3 = """
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
exports.handler = async () => {
  const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return { arn: identity.Arn };
};
"""


@needs_node
def test_aws_sdk_v2_reaches_the_local_cloud_with_the_functions_role(aws, roles):
    """v2 ignores AWS_ENDPOINT_URL: the runtime's preload points it at the local cloud, with
    the role's credentials from the environment and IAM enforced (the role may use S3, not
    ListFunctions)."""
    modules = npm_installed("aws-sdk@2")
    bucket = unique("probe")
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="seen.txt", Body=b"hi")
    package = packaging.node_package({"index.js": PROBE_V2}, modules)
    name = node_function(aws, roles, package, timeout=20)
    response, result, _ = invoke(aws, name, {"bucket": bucket})
    assert "FunctionError" not in response, result
    assert result == {
        "arn": f"arn:aws:sts::123456789012:assumed-role/test-lambda-role/{name}",
        "keys": ["seen.txt"],
        "denied": "AccessDeniedException",
    }


@needs_node
def test_aws_sdk_v3_reaches_the_local_cloud_through_aws_endpoint_url(aws, roles):
    modules = npm_installed("@aws-sdk/client-sts@3")
    package = packaging.node_package({"index.js": PROBE_V3}, modules)
    name = node_function(aws, roles, package, timeout=20)
    response, result, _ = invoke(aws, name)
    assert "FunctionError" not in response, result
    assert result == {"arn": f"arn:aws:sts::123456789012:assumed-role/test-lambda-role/{name}"}


@needs_node
def test_the_pages_sample_as_printed_fails_to_import_aws_sdk(aws, roles, page_packages):
    """Node.js 18 and later runtimes include the SDK for JavaScript v3 only."""
    name = node_function(aws, roles, page_packages["verbatim"], runtime="nodejs22.x", timeout=20)
    response, payload, _ = invoke(aws, name)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"].startswith("Error: Cannot find module 'aws-sdk'\nRequire stack:")
    assert payload["trace"][0] == "Runtime.ImportModuleError: Error: Cannot find module 'aws-sdk'"
    (line,) = [e for e in log_lines(aws, name) if "Uncaught Exception" in e]
    assert record_of(line)["stack"][0] == (
        "Runtime.ImportModuleError: Error: Cannot find module 'aws-sdk'"
    )


def test_the_bundled_sample_fits_lambdas_limits(page_packages):
    """aws-sdk v2 makes the package about 100 MB unzipped: under Lambda's 250 MB, and its zip
    under the 50 MB a CreateFunction call may carry."""
    with zipfile.ZipFile(io.BytesIO(page_packages["bundled"])) as package:
        unzipped = sum(info.file_size for info in package.infolist())
    assert unzipped < 250 * 1024 * 1024
    assert len(page_packages["bundled"]) < 50 * 1024 * 1024


# -- without Node.js ---------------------------------------------------------------------------
def test_an_old_or_missing_node_is_refused_with_what_to_install(tmp_path, monkeypatch):
    old = tmp_path / "node"
    old.write_text("#!/bin/sh\necho v16.20.2\n")
    old.chmod(0o755)
    monkeypatch.setenv("LOCALCLOUD_NODE", str(old))
    with pytest.raises(InvalidRuntimeException, match="is Node.js v16.20.2. Install Node.js 18"):
        runtimes.check_runnable("nodejs20.x")
    monkeypatch.setenv("LOCALCLOUD_NODE", str(tmp_path / "missing" / "node"))
    with pytest.raises(
        InvalidRuntimeException, match="there is no Node.js at .*Install Node.js 18"
    ):
        runtimes.check_runnable("nodejs22.x")
    runtimes.check_runnable("python3.12")  # Python functions don't need it


@pytest.fixture(scope="module")
def cloud_without_node(tmp_path_factory):
    """A local cloud of its own that finds no Node.js (LOCALCLOUD_NODE names none)."""
    state = tmp_path_factory.mktemp("no-node")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCALCLOUD_NODE", str(state / "no" / "node"))
        process, endpoint = localcloud.start(
            job_timeout_s=JOB_TIMEOUT_S, log_path=str(state / "localcloud.log"), state=state
        )
    try:
        yield Cloud.of(Started(endpoint, str(state), localcloud.owner_credentials(state)))
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event"])
def test_without_node_invoking_fails_at_once_saying_what_to_install(
    cloud_without_node, invocation_type
):
    aws, roles = cloud_without_node.client, cloud_without_node.roles
    name = unique("no-node")
    create_function(  # creating works: on AWS it would run
        aws,
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=roles["lambda"],
        Handler="index.handler",
        Code={"ZipFile": zip_bytes({"index.js": "exports.handler = async () => 1;"})},
    )
    lam = aws("lambda")
    started = time.monotonic()
    with pytest.raises(lam.exceptions.InvalidRuntimeException) as raised:
        lam.invoke(FunctionName=name, InvocationType=invocation_type, Payload=b"{}")
    assert time.monotonic() - started < 2
    assert "Install Node.js 18 or newer" in raised.value.response["Error"]["Message"]


def test_without_node_a_pipeline_action_fails_at_once_saying_so(cloud_without_node):
    aws, roles = cloud_without_node.client, cloud_without_node.roles
    s3, cp = aws("s3"), aws("codepipeline")
    source, store = unique("src"), unique("store")
    for bucket in (source, store):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=source, Key="site.zip", Body=zip_bytes({"index.html": "<h1>Hi</h1>"}))
    function = unique("no-node")
    create_function(
        aws,
        FunctionName=function,
        Runtime="nodejs22.x",
        Role=roles["lambda"],
        Handler="index.handler",
        Code={"ZipFile": zip_bytes({"index.js": packaging.page_node_sample()})},
    )
    name = unique("no-node-pipe")
    started = time.monotonic()
    cp.create_pipeline(
        pipeline={
            "name": name,
            "roleArn": roles["pipeline"],
            "artifactStore": {"type": "S3", "location": store},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        pipelines.s3_source_action("Source", source, "site.zip", "SourceArtifact")
                    ],
                },
                {
                    "name": "LambdaStage",
                    "actions": [pipelines.lambda_action("Check", function, "http://example.com")],
                },
            ],
        }
    )
    (first,) = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    execution = wait_for_execution(cp, name, first["pipelineExecutionId"])
    assert execution["status"] == "Failed"
    assert time.monotonic() - started < JOB_TIMEOUT_S, "no waiting for a result"
    (check,) = [
        d
        for d in cp.list_action_executions(
            pipelineName=name, filter={"pipelineExecutionId": first["pipelineExecutionId"]}
        )["actionExecutionDetails"]
        if d["actionName"] == "Check"
    ]
    assert (
        "Install Node.js 18 or newer"
        in check["output"]["executionResult"]["errorDetails"]["message"]
    )


def test_the_pages_sample_is_kept_as_printed():
    """data/functions/page_health_check/index.js is the page's code, unchanged: SDK v2, the
    CodePipeline client, http.get on UserParameters, context.succeed and context.fail."""
    sample = packaging.page_node_sample()
    assert sample.startswith("var assert = require('assert');\nvar AWS = require('aws-sdk');")
    for printed in (
        "exports.handler = function(event, context) {",
        "var codepipeline = new AWS.CodePipeline();",
        "http.get(url, function(response) {",
        "assert(returnedPage.contains('Congratulations'));",
        "context.succeed(message);",
        "context.fail(message);",
    ):
        assert printed in sample
