"""Function states: a new function is Pending, an updated one InProgress, for a moment, as on
AWS; Lambda refuses what AWS refuses meanwhile, and the waiters wait for it to settle."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest

from helpers import packaging, resources, workbook

from .conftest import FAST_WAITER, LAMBDA_TRUST, unique, zip_bytes

PACKAGE = zip_bytes({"app.py": "def handler(event, context):\n    return 'v1'\n"})
PENDING_INVOKE = (
    "The operation cannot be performed at this time. The function is currently in the "
    "following state: Pending"
)


def conflict(raised) -> str:
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 409
    return error["Error"]["Message"]


@pytest.fixture
def new_function(aws, roles):
    """A function just created: (its name, its ARN, CreateFunction's response)."""
    name = unique("states")
    config = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": PACKAGE},
    )
    return name, config["FunctionArn"], config


def test_a_new_function_is_pending_and_refuses_what_aws_refuses(aws, new_function):
    name, arn, created = new_function
    lam = aws("lambda")
    assert created["State"] == "Pending"
    assert created["StateReason"] == "The function is being created."
    assert created["StateReasonCode"] == "Creating"
    assert "LastUpdateStatus" not in created
    with pytest.raises(lam.exceptions.ResourceConflictException) as raised:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert conflict(raised) == PENDING_INVOKE
    pending_update = (
        f"The operation cannot be performed at this time. The resource {arn} is currently in "
        "the following state: 'Pending'. StateReasonCode: 'Creating'"
    )
    with pytest.raises(lam.exceptions.ResourceConflictException) as raised:
        lam.update_function_code(FunctionName=name, ZipFile=PACKAGE)
    assert conflict(raised) == pending_update
    with pytest.raises(lam.exceptions.ResourceConflictException) as raised:
        lam.update_function_configuration(FunctionName=name, Timeout=10)
    assert conflict(raised) == pending_update
    with pytest.raises(lam.exceptions.ResourceConflictException) as raised:
        lam.publish_version(FunctionName=name)
    assert conflict(raised) == pending_update


def test_function_active_v2_waits_until_it_can_be_invoked(aws, new_function):
    name, _, _ = new_function
    lam = aws("lambda")
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    configuration = lam.get_function(FunctionName=name)["Configuration"]
    assert (configuration["State"], configuration["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in configuration
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == "v1"


def test_an_update_is_in_progress_for_a_moment_and_function_updated_v2_waits_for_it(
    aws, new_function
):
    name, arn, _ = new_function
    lam = aws("lambda")
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    updated = lam.update_function_configuration(FunctionName=name, Timeout=10)
    assert (updated["State"], updated["LastUpdateStatus"]) == ("Active", "InProgress")
    assert updated["LastUpdateStatusReason"] == "The function is being created."
    assert updated["LastUpdateStatusReasonCode"] == "Creating"
    in_progress = f"An update is in progress for resource: {arn}"
    busy = [
        lambda: lam.update_function_code(FunctionName=name, ZipFile=PACKAGE),
        lambda: lam.update_function_configuration(FunctionName=name, MemorySize=256),
        lambda: lam.publish_version(FunctionName=name),
    ]
    for call in busy:
        with pytest.raises(lam.exceptions.ResourceConflictException) as raised:
            call()
        assert conflict(raised) == (
            f"The operation cannot be performed at this time. {in_progress}"
        )
    assert lam.invoke(FunctionName=name)["StatusCode"] == 200, "invoking is allowed"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    configuration = lam.get_function(FunctionName=name)["Configuration"]
    assert (configuration["LastUpdateStatus"], configuration["Timeout"]) == ("Successful", 10)
    code = lam.update_function_code(FunctionName=name, ZipFile=PACKAGE)
    assert code["LastUpdateStatus"] == "InProgress", "a code update goes through it too"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    assert lam.publish_version(FunctionName=name)["State"] == "Active"


@pytest.fixture
def book_on_cloud(cloud, monkeypatch):
    """The notebooks' Workbook, connected to the test's local cloud, with its function role."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.endpoint)
    monkeypatch.setenv("WORKBOOK_PREFIX", unique("wb"))
    session = boto3.Session(
        aws_access_key_id=cloud.owner.access_key_id,
        aws_secret_access_key=cloud.owner.secret_access_key,
        region_name="us-east-1",
    )
    book = workbook.Workbook(session, "123456789012", "local")
    book.client("iam").create_role(
        RoleName=book.names.lambda_role, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )
    return book, book.names.health_function


def test_the_workbook_waits_where_aws_needs_it_to(book_on_cloud):
    """ensure_function creates, then updates code and configuration, waiting between them."""
    book, name = book_on_cloud
    first = resources.ensure_function(book, name, "health_check", timeout=20)
    assert first["FunctionName"] == name
    lam = book.client("lambda")
    assert lam.get_function(FunctionName=name)["Configuration"]["State"] == "Active"
    lam.update_function_code(FunctionName=name, ZipFile=PACKAGE)  # someone else's code
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    resources.ensure_function(book, name, "health_check", timeout=25, memory=256)
    configuration = lam.get_function(FunctionName=name)["Configuration"]
    assert (configuration["Timeout"], configuration["MemorySize"]) == (25, 256)
    assert configuration["LastUpdateStatus"] == "Successful"


def test_catching_up_replaces_the_pages_sample_with_the_fixed_deployer(book_on_cloud):
    """06 first deploys the page's sample (lambda_function.lambda_handler) under the stack
    deployer's name; a learner who stops there and jumps ahead gets the fixed code and its
    handler back from the catch-up, not the fixed code behind the page's handler."""
    book, _ = book_on_cloud
    name = book.names.deployer_function
    lam = book.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=book.client("iam").get_role(RoleName=book.names.lambda_role)["Role"]["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_bytes({"lambda_function.py": packaging.page_python_sample()})},
        Timeout=20,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAITER)
    resources.ensure_function(book, name, "stack_deployer")
    configuration = lam.get_function(FunctionName=name)["Configuration"]
    package = packaging.function_package("stack_deployer")
    assert configuration["Handler"] == "stack_deployer.lambda_handler"
    digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert configuration["CodeSha256"] == digest
    assert configuration["LastUpdateStatus"] == "Successful"
