"""Each notebook run alone on a fresh local cloud, once per test session, and what it left.

``test_notebooks.py`` asserts that every notebook runs alone; ``test_catch_up.py`` compares what
a notebook's own cells created with what ``resources.catch_up`` creates for the next notebook.
Both use the same run, so each notebook executes once.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp

import boto3

from helpers import cleanup, localcloud, pipelines, workbook
from tools.run_notebooks import execute_notebook

PREFIX = "alone"
# 05 waits for a job time-out once; a short one keeps that wait short. Long enough that 05 can
# look at the waiting job and abandon it before it times out.
JOB_TIMEOUT_S = 8.0
ENVIRONMENT = {"WORKBOOK_TARGET": "local", "WORKBOOK_PREFIX": PREFIX}


@dataclass
class Run:
    """A notebook's run alone: what it left (its snapshot), or the error it stopped with."""

    snapshot: dict | None
    error: BaseException | None


_runs: dict[str, Run] = {}


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (None: unset) environment variables for the block, then put them back."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def fresh_cloud(state_dir: Path, job_timeout_s: float = JOB_TIMEOUT_S) -> Iterator[str]:
    """A new local cloud with a state directory of its own, in the environment a notebook sees:
    ``wb.connect()`` in the notebook's kernel finds it through the state directory's
    endpoint.json (as it finds one ``make lab`` started) and reuses it. AWS_ENDPOINT_URL points
    at it too, as ``wb.connect()`` sets it, so clients made here reach it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    process, endpoint = localcloud.start(
        job_timeout_s=job_timeout_s, state=state_dir, log_path=str(state_dir / "localcloud.log")
    )
    (state_dir / "endpoint.json").write_text(json.dumps({"endpoint": endpoint, "pid": process.pid}))
    try:
        with environment(
            **ENVIRONMENT, LOCALCLOUD_STATE_DIR=str(state_dir), AWS_ENDPOINT_URL=endpoint
        ):
            yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except Exception:
            process.kill()


def connect(state_dir: Path, endpoint: str) -> workbook.Workbook:
    """A Workbook on that local cloud, signed with its owner's key, as ``wb.connect()`` makes
    (use it inside ``fresh_cloud``: its clients find the endpoint in AWS_ENDPOINT_URL)."""
    owner = localcloud.owner_credentials(state_dir)
    session = boto3.Session(
        aws_access_key_id=owner.access_key_id,
        aws_secret_access_key=owner.secret_access_key,
        region_name=workbook.LOCAL_REGION,
    )
    book = workbook.Workbook(session, "123456789012", "local")
    assert book.endpoint == endpoint
    return book


def run_alone(path: Path) -> Run:
    """Run the notebook alone on a fresh local cloud (once per session) and snapshot what it
    left; the error is kept, not raised, so every test that asks gets the same answer."""
    if path.stem not in _runs:
        state_dir = Path(mkdtemp(prefix=f"alone-{path.stem[:2]}-"))
        atexit.register(shutil.rmtree, state_dir, True)
        with fresh_cloud(state_dir) as endpoint:
            try:
                execute_notebook(path)
                _runs[path.stem] = Run(snapshot(connect(state_dir, endpoint)), None)
            except BaseException as error:  # noqa: BLE001 - kept and re-raised by the tests
                _runs[path.stem] = Run(None, error)
    return _runs[path.stem]


def snapshot(book: workbook.Workbook) -> dict:
    """What exists under the workbook's names, normalised so that two local clouds that hold
    the same things compare equal: no ids, times, versions, or ports.

    Buckets (versioning, policy, public access block, tags, objects but the artifact store's),
    roles (trust, description, attached and inline policy documents), the managed policy's
    default document, functions (runtime, handler, timeout, memory, role, code), the pipeline's
    declaration (without its version), and the names of anything else with the prefix.
    """
    names = book.names
    codepipeline = book.client("codepipeline")
    try:
        pipelines.wait_for_all(codepipeline, names.pipeline, poll=0.05)
    except codepipeline.exceptions.PipelineNotFoundException:
        pass
    described = {
        "buckets": {
            bucket: _bucket(book, bucket, objects=bucket != names.artifact_bucket)
            for bucket in (names.source_bucket, names.artifact_bucket, names.site_bucket)
        },
        "roles": {role: _role(book, role) for role in (names.pipeline_role, names.lambda_role)},
        "policy": _policy(book),
        "functions": {
            function: _function(book, function)
            for function in (names.health_function, names.deployer_function)
        },
        "pipeline": _pipeline(book),
        "others": sorted(
            item
            for item in cleanup.remaining(book)
            if item.split(" ", 1)[0] in ("pipeline", "function", "role", "policy", "bucket")
            and item.split(" ", 1)[1]
            not in {
                names.source_bucket,
                names.artifact_bucket,
                names.site_bucket,
                names.pipeline_role,
                names.lambda_role,
                names.lambda_policy,
                names.health_function,
                names.deployer_function,
                names.pipeline,
            }
            and not item.startswith(f"bucket {names.stack.lower()}-")  # the stack's, not ours
        ),
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return json.loads(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text))


def _missing(call, *errors: str):
    """The call's answer, or None if it failed with one of these error codes."""
    try:
        return call()
    except Exception as error:  # botocore's ClientError, whatever the client
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code in errors:
            return None
        raise


def _bucket(book: workbook.Workbook, bucket: str, objects: bool) -> dict | None:
    s3 = book.client("s3")
    if _missing(lambda: s3.head_bucket(Bucket=bucket), "404", "NoSuchBucket") is None:
        return None
    policy = _missing(lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"], "NoSuchBucketPolicy")
    return {
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "policy": json.loads(policy) if policy else None,
        "public_access_block": _missing(
            lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
            "NoSuchPublicAccessBlockConfiguration",
        ),
        "tags": _missing(lambda: s3.get_bucket_tagging(Bucket=bucket)["TagSet"], "NoSuchTagSet"),
        "objects": {
            o["Key"]: o["ETag"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        }
        if objects
        else "not compared (every release adds artifacts)",
    }


def _role(book: workbook.Workbook, name: str) -> dict | None:
    iam = book.client("iam")
    role = _missing(lambda: iam.get_role(RoleName=name)["Role"], "NoSuchEntity")
    if role is None:
        return None
    inline = iam.list_role_policies(RoleName=name)["PolicyNames"]
    return {
        "trust": role["AssumeRolePolicyDocument"],
        "description": role.get("Description"),
        "tags": role.get("Tags", []),
        "attached": sorted(
            p["PolicyName"]
            for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        ),
        "inline": {
            policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in inline
        },
    }


def _policy(book: workbook.Workbook) -> dict | None:
    iam = book.client("iam")
    arn = f"arn:aws:iam::{book.account}:policy/{book.names.lambda_policy}"
    policy = _missing(lambda: iam.get_policy(PolicyArn=arn)["Policy"], "NoSuchEntity")
    if policy is None:
        return None
    version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
    return {
        "description": policy.get("Description"),
        "default_document": version["PolicyVersion"]["Document"],
    }


FUNCTION_FIELDS = (
    "Runtime",
    "Handler",
    "Timeout",
    "MemorySize",
    "Role",
    "CodeSha256",
    "Description",
    "Environment",
    "Architectures",
    "PackageType",
)


def _function(book: workbook.Workbook, name: str) -> dict | None:
    lam = book.client("lambda")
    config = _missing(
        lambda: lam.get_function_configuration(FunctionName=name), "ResourceNotFoundException"
    )
    if config is None:
        return None
    return {field: config.get(field) for field in FUNCTION_FIELDS}


def _pipeline(book: workbook.Workbook) -> dict | None:
    codepipeline = book.client("codepipeline")
    declaration = _missing(
        lambda: codepipeline.get_pipeline(name=book.names.pipeline)["pipeline"],
        "PipelineNotFoundException",
    )
    if declaration is not None:
        declaration.pop("version", None)
    return declaration
