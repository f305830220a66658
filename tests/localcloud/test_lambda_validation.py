"""CreateFunction and UpdateFunctionConfiguration check their input as AWS does, with AWS's
error codes and words: limits, reserved environment variables, the handler, the package."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import create_function, unique, zip_bytes

PACKAGE = zip_bytes({"app.py": "def handler(event, context):\n    return 1\n"})
RESERVED = (
    "Lambda was unable to configure your environment variables because the environment "
    "variables you have provided contains reserved keys that are currently not supported for "
    "modification. Reserved keys used in this request: "
)


def error_of(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def new_function(roles):
    """CreateFunction's parameters for a new python3.12 function."""
    return {
        "FunctionName": unique("valid"),
        "Runtime": "python3.12",
        "Role": roles["lambda"],
        "Handler": "app.handler",
        "Code": {"ZipFile": PACKAGE},
    }


@pytest.fixture(scope="module")
def existing(cloud):
    """A function to update."""
    name = unique("update-me")
    create_function(
        cloud.client,
        FunctionName=name,
        Runtime="python3.12",
        Role=cloud.roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": PACKAGE},
    )
    return name


def one_validation_error(value, path: str, constraint: str) -> tuple[str, str]:
    return (
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
        f"constraint: {constraint}",
    )


AT_MOST = "Member must have value less than or equal to {}"
LIMITS = [
    ({"Timeout": 901}, one_validation_error(901, "timeout", AT_MOST.format(900))),
    ({"Timeout": 6000}, one_validation_error(6000, "timeout", AT_MOST.format(900))),
    ({"MemorySize": 10241}, one_validation_error(10241, "memorySize", AT_MOST.format(10240))),
    (
        {"Handler": "app handler"},
        one_validation_error(
            "app handler", "handler", "Member must satisfy regular expression pattern: [^\\s]+"
        ),
    ),
    (
        {"Handler": "h" * 129},
        one_validation_error(
            "h" * 129, "handler", "Member must have length less than or equal to 128"
        ),
    ),
    (
        {"Environment": {"Variables": {"AWS_REGION": "eu-west-1", "STAGE": "test"}}},
        ("InvalidParameterValueException", RESERVED + "AWS_REGION"),
    ),
    (
        {
            "Environment": {
                "Variables": {
                    "AWS_ACCESS_KEY_ID": "AKIA",
                    "AWS_SECRET_ACCESS_KEY": "x",
                    "LAMBDA_TASK_ROOT": "/",
                }
            }
        },
        (
            "InvalidParameterValueException",
            RESERVED + "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, LAMBDA_TASK_ROOT",
        ),
    ),
]


@pytest.mark.parametrize(("change", "expected"), LIMITS)
def test_create_function_refuses_what_aws_refuses(aws, new_function, change, expected):
    assert error_of(aws("lambda").create_function, **{**new_function, **change}) == expected


@pytest.mark.parametrize(("change", "expected"), LIMITS)
def test_update_function_configuration_refuses_what_aws_refuses(aws, existing, change, expected):
    lam = aws("lambda")
    found = error_of(lam.update_function_configuration, FunctionName=existing, **change)
    assert found == expected
    assert lam.get_function_configuration(FunctionName=existing)["Timeout"] == 3, "unchanged"


NOT_A_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
MANDATORY = (
    "Runtime and Handler are mandatory parameters for functions created with deployment packages."
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Code": {"ZipFile": b"this is not a zip file"}}, NOT_A_ZIP),
        ({"Code": {"ZipFile": zip_bytes({})}}, "Uploaded file must be a non-empty zip"),
        ({"Code": {}}, "Please provide a source for function code."),
        ({"Handler": None}, MANDATORY),
        ({"Runtime": None}, MANDATORY),
    ],
    ids=["not-a-zip", "empty-zip", "no-code", "no-handler", "no-runtime"],
)
def test_a_package_aws_could_not_run_is_refused(aws, new_function, change, message):
    params = {k: v for k, v in {**new_function, **change}.items() if v is not None}
    assert error_of(aws("lambda").create_function, **params) == (
        "InvalidParameterValueException",
        message,
    )


def test_a_package_in_s3_must_be_a_zip_too(aws, new_function):
    bucket = unique("code")
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="app.py", Body=b"def handler(e, c): pass\n")
    found = error_of(
        aws("lambda").create_function,
        **{**new_function, "Code": {"S3Bucket": bucket, "S3Key": "app.py"}},
    )
    assert found == ("InvalidParameterValueException", NOT_A_ZIP)


def test_update_function_code_refuses_a_file_that_is_not_a_zip(aws, existing):
    found = error_of(aws("lambda").update_function_code, FunctionName=existing, ZipFile=b"nope")
    assert found == ("InvalidParameterValueException", NOT_A_ZIP)


@pytest.mark.parametrize("limit", [{"Timeout": 900}, {"MemorySize": 10240}, {"MemorySize": 128}])
def test_the_limits_themselves_are_allowed(aws, new_function, limit):
    config = create_function(aws, **{**new_function, **limit})
    assert all(config[key] == value for key, value in limit.items())


def test_an_update_without_variables_clears_them(aws, new_function):
    lam = aws("lambda")
    name = new_function["FunctionName"]
    create_function(aws, **{**new_function, "Environment": {"Variables": {"STAGE": "test"}}})
    config = lam.update_function_configuration(FunctionName=name, Environment={})
    assert "Environment" not in config or not config["Environment"].get("Variables")
