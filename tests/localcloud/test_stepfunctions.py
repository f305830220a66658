"""Step Functions executions run to their end, their Lambda tasks invoked with the execution's
role — so a pipeline function that starts a state machine and polls it (with continuation
tokens) finishes locally as on AWS."""

from __future__ import annotations

import json

from . import pipeline_kit as kit
from .conftest import unique

STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def state_machine_role(aws, allow_invoke: bool) -> str:
    iam = aws("iam")
    name = unique("sfn-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(STATES_TRUST))["Role"][
        "Arn"
    ]
    if allow_invoke:
        iam.put_role_policy(
            RoleName=name,
            PolicyName="invoke",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}
                    ],
                }
            ),
        )
    return arn


def run(aws, definition: dict, role: str, payload: dict) -> dict:
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(
        name=unique("machine"), definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))
    arn = execution["executionArn"]
    return kit.wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        timeout=30,
    )


def test_a_pass_state_machine_succeeds(aws):
    definition = {
        "StartAt": "Hello",
        "States": {"Hello": {"Type": "Pass", "Result": {"said": "hi"}, "End": True}},
    }
    done = run(aws, definition, state_machine_role(aws, False), {})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"said": "hi"}


def test_a_lambda_task_runs_the_function_with_the_executions_role(aws, roles):
    function = kit.python_function(
        aws, roles, "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n"
    )
    arn = aws("lambda").get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    definition = {
        "StartAt": "Double",
        "States": {"Double": {"Type": "Task", "Resource": arn, "End": True}},
    }
    done = run(aws, definition, state_machine_role(aws, True), {"n": 21})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"doubled": 42}


def test_a_role_that_may_not_invoke_fails_the_execution(aws, roles):
    function = kit.python_function(aws, roles, "def handler(event, context):\n    return 1\n")
    arn = aws("lambda").get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": arn, "End": True}},
    }
    done = run(aws, definition, state_machine_role(aws, False), {})
    assert done["status"] == "FAILED"
