"""Catch up on what earlier notebooks create — idempotently, never undoing a later step.

The notebooks make the page's calls in their own cells. These ``ensure_*`` steps exist for the
participant who jumps ahead or whose exercise left something broken: ``catch_up(book, "05")``
runs the steps of notebooks 01-04. Each checks what exists, creates what is missing and puts
back what the next notebook needs as the workbook made it — an action's configuration (05's
exercise changes MyLambdaAction's text), a function's code and settings, the site, the
policies — saying in one line what it changed and what was there. Running it twice, or after a
later notebook, changes nothing a later notebook did: it never narrows the execution role's
policy after 06 widened it, never removes 04's extra action or 06's stages, and a learner's own
additions stay (a Lambda action put in the deploy stage moves to LambdaStage, where it can see
the deployed site). A test (``tests/test_catch_up.py``) proves that what a notebook's own cells
create equals what its catch-up creates.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import time
from pathlib import Path

from . import changes, packaging, pipelines
from .changes import CaughtUp, recording
from .workbook import Workbook

POLICIES = Path(__file__).resolve().parents[1] / "data" / "policies"


def load_policy(name: str) -> dict:
    return json.loads((POLICIES / name).read_text())


# -- 01: buckets, the site, the pipeline ----------------------------------------------------
def ensure_bucket(book: Workbook, bucket: str, versioned: bool = False) -> None:
    s3 = book.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        if book.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": book.region}
            )
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def ensure_buckets(book: Workbook) -> None:
    """The versioned source bucket, the artifact store, and the bucket the site deploys to."""
    names = book.names
    ensure_bucket(book, names.source_bucket, versioned=True)  # S3 sources must be versioned
    ensure_bucket(book, names.artifact_bucket)
    ensure_bucket(book, names.site_bucket)


def upload_site(book: Workbook, page: str | None = None) -> str:
    """Zip the sample site and upload it as the source object; returns its version id."""
    body = packaging.site_package(page)
    s3 = book.client("s3")
    return s3.put_object(Bucket=book.names.source_bucket, Key=book.names.site_key, Body=body)[
        "VersionId"
    ]


def public_read_policy(bucket: str) -> dict:
    """Anyone may GET the objects of this one bucket — nothing else, no listing."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadForTheSampleSite",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def open_to_public_reads(s3, bucket: str) -> None:
    """Let anyone read this bucket's objects: lift the two policy-related Block Public Access
    settings (new buckets have all four on), then set the public-read policy."""
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read_policy(bucket)))


def allow_public_site(book: Workbook) -> None:
    """Let the health check (and you) read the site without AWS credentials."""
    open_to_public_reads(book.client("s3"), book.names.site_bucket)


def pipeline_service_policy(book: Workbook) -> dict:
    """What the pipeline's role may do: read the source, use the artifact store, deploy the
    site, invoke (and list) Lambda functions."""
    names = book.names
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheSource",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketVersioning"],
                "Resource": [
                    f"arn:aws:s3:::{names.source_bucket}",
                    f"arn:aws:s3:::{names.source_bucket}/*",
                ],
            },
            {
                "Sid": "UseTheArtifactStoreAndDeployTheSite",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                "Resource": [
                    f"arn:aws:s3:::{names.artifact_bucket}/*",
                    f"arn:aws:s3:::{names.site_bucket}/*",
                ],
            },
            {
                "Sid": "InvokeLambdaActions",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction", "lambda:ListFunctions"],
                "Resource": "*",
            },
        ],
    }


def ensure_role(book: Workbook, name: str, trust: dict, description: str) -> str:
    """A role with this trust policy; returns its ARN."""
    iam = book.client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description=description
        )["Role"]["Arn"]


def ensure_pipeline_role(book: Workbook) -> str:
    arn = ensure_role(
        book,
        book.names.pipeline_role,
        load_policy("codepipeline-trust-policy.json"),
        "Service role of the workbook's pipeline",
    )
    book.client("iam").put_role_policy(
        RoleName=book.names.pipeline_role,
        PolicyName="workbook-pipeline-access",
        PolicyDocument=json.dumps(pipeline_service_policy(book)),
    )
    return arn


def pipeline_exists(book: Workbook) -> bool:
    codepipeline = book.client("codepipeline")
    try:
        codepipeline.get_pipeline(name=book.names.pipeline)
        return True
    except codepipeline.exceptions.PipelineNotFoundException:
        return False


def ensure_pipeline(book: Workbook) -> dict:
    """The two-stage pipeline (Source -> Deploy). Creating it runs it once, as on AWS."""
    codepipeline = book.client("codepipeline")
    names = book.names
    if pipeline_exists(book):
        return pipelines.get_declaration(codepipeline, names.pipeline)
    role_arn = ensure_pipeline_role(book)
    declaration = pipelines.two_stage_pipeline(
        names.pipeline,
        role_arn,
        names.artifact_bucket,
        names.source_bucket,
        names.site_key,
        names.site_bucket,
    )
    while_new_role_settles(
        book,
        lambda: codepipeline.create_pipeline(pipeline=declaration),
        codepipeline.exceptions.InvalidStructureException,
        "AssumeRole",
    )
    pipelines.wait_for_all(codepipeline, names.pipeline, poll=poll_interval(book))
    return pipelines.get_declaration(codepipeline, names.pipeline)


def while_new_role_settles(book: Workbook, create, error_class, mentions: str, tries: int = 8):
    """Run ``create``, retrying while AWS says a brand-new role can't be used yet.

    IAM is eventually consistent: for a few seconds after it is created, a role may not be
    assumable ("not authorized to perform AssumeRole", "cannot be assumed by Lambda"). The
    local cloud has no such delay, so there the first error is final.
    """
    for attempt in range(tries):
        try:
            return create()
        except error_class as error:
            if mentions not in str(error) or attempt == tries - 1 or book.target == "local":
                raise
            time.sleep(5)


def poll_interval(book: Workbook) -> float:
    """Seconds between two polls of a status API. On the local cloud (any custom endpoint)
    answers are instant; on AWS a room of 30 learners polls one account's quotas (a few calls
    per second for GetPipelineExecution, FilterLogEvents, DescribeStacks), and a release takes
    minutes anyway, so every 5 s is plenty."""
    return 0.05 if book.endpoint else 5.0


def log_wait(book: Workbook) -> float:
    """How long to wait for a function's log events to show up in CloudWatch Logs: at once on
    the local cloud; on AWS usually seconds, sometimes tens of seconds."""
    return 10.0 if book.endpoint else 90.0


def step_01(book: Workbook) -> None:
    ensure_buckets(book)
    s3 = book.client("s3")
    try:
        s3.head_object(Bucket=book.names.source_bucket, Key=book.names.site_key)
    except s3.exceptions.ClientError:
        upload_site(book)
    allow_public_site(book)
    ensure_pipeline(book)


# -- 02: the Lambda execution role ----------------------------------------------------------
def policy_arn(book: Workbook) -> str:
    return f"arn:aws:iam::{book.account}:policy/{book.names.lambda_policy}"


def least_privilege_policy(book: Workbook, deploys_stacks: bool = False) -> dict:
    """What the workbook's functions need and nothing more — the "after" to the page's broad
    "before" (``logs:*`` on every log group; ``s3:*`` on every bucket for the stack sample).

    - their own log groups only (Lambda writes the logs with the function's role);
    - ``PutJob*Result`` on ``"*"``: these actions support no resource-level permissions;
    - with ``deploys_stacks``: the one stack, what its template creates (a bucket whose name
      starts with the stack's), and reading the artifact bucket (the sample reads its input
      artifact with the job's artifactCredentials, which are the pipeline's; a function that
      reads artifacts with its own role needs this statement).
    """
    names = book.names
    groups = [
        f"arn:aws:logs:{book.region}:{book.account}:log-group:/aws/lambda/{function}"
        for function in (names.health_function, names.deployer_function)
    ]
    statements: list[dict] = [
        {
            "Sid": "WriteItsOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": groups + [f"{group}:*" for group in groups],
        },
        {
            "Sid": "ReportJobResults",
            "Effect": "Allow",
            "Action": ["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"],
            "Resource": "*",
        },
    ]
    if deploys_stacks:
        statements += [
            {
                "Sid": "DeployTheStack",
                "Effect": "Allow",
                "Action": [
                    "cloudformation:DescribeStacks",
                    "cloudformation:CreateStack",
                    "cloudformation:UpdateStack",
                ],
                "Resource": (
                    f"arn:aws:cloudformation:{book.region}:{book.account}:stack/{names.stack}/*"
                ),
            },
            {
                "Sid": "CreateWhatTheTemplateDeclares",
                "Effect": "Allow",
                "Action": ["s3:CreateBucket", "s3:DeleteBucket"],
                "Resource": f"arn:aws:s3:::{names.stack.lower()}-*",
            },
            {
                "Sid": "ReadInputArtifacts",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": f"arn:aws:s3:::{names.artifact_bucket}/*",
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(pattern: str, value: str) -> bool:
    """IAM's wildcards (``*``, ``?``); action names are case-insensitive."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE) is not None


def allows(document: dict, action: str, resource: str = "*") -> bool:
    """Does this policy document allow ``action`` on ``resource``? An Allow statement must
    match both and no Deny statement may match (conditions and NotAction are not read)."""

    def matching(statement: dict) -> bool:
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        return any(_matches(a, action) for a in actions) and any(
            r == resource or _matches(r, resource) for r in resources
        )

    statements = _as_list(document.get("Statement")) if isinstance(document, dict) else []
    if any(s.get("Effect") == "Deny" and matching(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and matching(s) for s in statements)


def covers(document: dict, needed: dict) -> bool:
    """Does ``document`` allow everything each Allow statement of ``needed`` allows?"""
    return all(
        allows(document, action, resource)
        for statement in _as_list(needed.get("Statement"))
        if statement.get("Effect") == "Allow"
        for action in _as_list(statement.get("Action"))
        for resource in _as_list(statement.get("Resource"))
    )


def _default_document(iam, arn: str) -> tuple[str, dict]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    # botocore already decodes IAM's URL-encoded policy documents into dicts
    return version, document["Document"]


def make_room_for_a_policy_version(iam, arn: str) -> str | None:
    """IAM keeps at most 5 versions of a managed policy: delete the oldest non-default one if
    there are 5; returns its id (or None)."""
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) < 5:
        return None
    oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
    iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    return oldest["VersionId"]


def set_lambda_policy(book: Workbook, document: dict) -> str:
    """Make ``document`` the default version of CodePipelineLambdaExecPolicy, exactly — what
    "Edit policy" does in the console (tests use it to narrow the policy on purpose)."""
    iam = book.client("iam")
    arn = policy_arn(book)
    try:
        _, current = _default_document(iam, arn)
    except iam.exceptions.NoSuchEntityException:
        iam.create_policy(
            PolicyName=book.names.lambda_policy,
            PolicyDocument=json.dumps(document),
            Description="Enables Lambda to execute code",
        )
        return arn
    if current != document:
        make_room_for_a_policy_version(iam, arn)
        iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True
        )
    return arn


def ensure_lambda_policy(book: Workbook, needed: dict | None = None) -> str:
    """CodePipelineLambdaExecPolicy, allowing at least ``needed`` (default: the page's policy).

    Created with ``needed`` if missing. If its default version already allows all of it,
    nothing changes — so catching up on 02 after 06 keeps 06's wider policy. Otherwise the
    newest version that allows both ``needed`` and everything the default allows becomes the
    default again (05's exercise took a permission away), else a new version adds what is
    missing. Nothing is ever taken away.
    """
    iam = book.client("iam")
    needed = needed or load_policy("CodePipelineLambdaExecPolicy.json")
    arn = policy_arn(book)
    try:
        default, current = _default_document(iam, arn)
    except iam.exceptions.NoSuchEntityException:
        return set_lambda_policy(book, needed)
    if covers(current, needed):
        return arn
    versions = sorted(
        iam.list_policy_versions(PolicyArn=arn)["Versions"],
        key=lambda v: v["CreateDate"],
        reverse=True,
    )
    for version in versions:
        if version["VersionId"] == default:
            continue
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        document = document["PolicyVersion"]["Document"]
        if covers(document, needed) and covers(document, current):
            iam.set_default_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
            return arn
    kept = [
        statement
        for statement in _as_list(current.get("Statement"))
        if not covers({"Statement": needed["Statement"]}, {"Statement": [statement]})
        and statement.get("Effect") != "Deny"
    ]
    return set_lambda_policy(book, {**needed, "Statement": _as_list(needed["Statement"]) + kept})


def restore_job_reporting(book: Workbook) -> None:
    """Undo 05's IAM exercise however it was done: CodePipelineLambdaExecPolicy attached to the
    execution role again, with a default version that allows both PutJob*Result actions.
    Does nothing when nothing was taken away."""
    ensure_lambda_role(book)


def ensure_lambda_role(book: Workbook) -> str:
    """The role the function runs as: trusted by Lambda, with CodePipelineLambdaExecPolicy."""
    arn = ensure_role(
        book,
        book.names.lambda_role,
        load_policy("lambda-trust-policy.json"),
        "Execution role of the workbook's Lambda functions",
    )
    book.client("iam").attach_role_policy(
        RoleName=book.names.lambda_role, PolicyArn=ensure_lambda_policy(book)
    )
    return arn


def step_02(book: Workbook) -> None:
    ensure_lambda_role(book)


# -- 03: the health-check function ----------------------------------------------------------
def ensure_function(
    book: Workbook, name: str, module: str, timeout: int = 20, memory: int = 128
) -> dict:
    """Create the function from ``helpers/functions/<module>.py`` or update it to that code and
    handler (06 first deploys the page's sample, ``lambda_function.lambda_handler``, under the
    stack deployer's name)."""
    lam = book.client("lambda")
    package = packaging.function_package(module)
    handler = f"{module}.lambda_handler"
    role_arn = book.client("iam").get_role(RoleName=book.names.lambda_role)["Role"]["Arn"]
    try:
        config = lam.get_function_configuration(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        config = None
    if config is None:
        config = while_new_role_settles(
            book,
            lambda: lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role_arn,
                Handler=handler,
                Code={"ZipFile": package},
                Timeout=timeout,
                MemorySize=memory,
                Description="Workbook: invoked by CodePipeline",
            ),
            lam.exceptions.InvalidParameterValueException,
            "role",
        )
    else:
        digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
        if config["CodeSha256"] != digest:
            changes.explain(
                f"{name}'s code back to the workbook's {module}.py (the deployed code was "
                "different: edit and deploy yours again in its notebook if you want it back)",
                replaces="UpdateFunctionCode",
            )
            config = lam.update_function_code(FunctionName=name, ZipFile=package)
        wanted = {
            "Handler": handler,
            "Runtime": "python3.12",
            "Timeout": timeout,
            "MemorySize": memory,
        }
        differ = {key: value for key, value in wanted.items() if config.get(key) != value}
        if differ:
            shown = ", ".join(
                f"{key} {config.get(key)!r} → {value!r}" for key, value in differ.items()
            )
            changes.explain(
                f"{name}'s settings back: {shown}", replaces="UpdateFunctionConfiguration"
            )
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)
            config = lam.update_function_configuration(FunctionName=name, **differ)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return config


def ensure_health_function(book: Workbook) -> dict:
    return ensure_function(book, book.names.health_function, "health_check")


def step_03(book: Workbook) -> None:
    ensure_health_function(book)


# -- 04: the Lambda action ------------------------------------------------------------------
def ensure_lambda_stage(book: Workbook, user_parameters: str | None = None) -> dict:
    """Add LambdaStage with the health-check action (UserParameters = the site's URL)."""
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    edited = pipelines.add_lambda_stage(
        declaration,
        book.names.health_function,
        user_parameters or book.site_url(),
    )
    if _stages(edited) != _stages(declaration):
        codepipeline.update_pipeline(pipeline=edited)
    return pipelines.get_declaration(codepipeline, book.names.pipeline)


def _stages(declaration: dict) -> list:
    return json.loads(json.dumps(declaration["stages"], sort_keys=True))


def put_back_action(
    declaration: dict, stage_name: str, action: dict, notes: list[str], after: str | None = None
) -> dict:
    """A copy of the declaration where ``action`` is in ``stage_name`` with the configuration
    the workbook gave it: added if missing (with its stage, placed after the stage ``after``),
    moved there from another stage, its configuration put back. A learner's other actions stay.
    ``notes`` gets a line for each change to what the learner had, with what was there."""
    edited = copy.deepcopy(declaration)
    stages = edited["stages"]
    found = None
    for stage in stages:
        for other in stage["actions"]:
            if other["name"] == action["name"]:
                found = (stage, other)
    stage = next((s for s in stages if s["name"] == stage_name), None)
    if stage is None:
        stage = {"name": stage_name, "actions": []}
        at = next((i + 1 for i, s in enumerate(stages) if s["name"] == after), len(stages))
        stages.insert(at, stage)
    if found is None:
        stage["actions"].append(copy.deepcopy(action))  # said as "updated pipeline … (stages …)"
        return edited
    home, current = found
    if home is not stage:
        home["actions"].remove(current)
        stage["actions"].append(current)
        notes.append(f"moved {action['name']} from {home['name']} to {stage_name}")
        if not home["actions"]:
            stages.remove(home)
    configuration = current.setdefault("configuration", {})
    for key, value in action["configuration"].items():
        if configuration.get(key) != value:
            notes.append(
                f"{action['name']}'s {key} back to the workbook's {value!r}; "
                f"yours was {configuration.get(key)!r}"
            )
            configuration[key] = value
    return edited


def misplaced_lambda_actions(declaration: dict) -> list[tuple[str, str]]:
    """(stage, action) of Lambda actions in the source or deploy stages: there they run beside
    the deploy, before the site is there (04's exercise puts its action in LambdaStage)."""
    return [
        (stage["name"], action["name"])
        for stage in declaration["stages"]
        if stage["name"] in ("Source", "Deploy")
        for action in stage["actions"]
        if action["actionTypeId"] == pipelines.LAMBDA_INVOKE
    ]


def step_04(book: Workbook) -> None:
    """LambdaStage after Deploy, with MyLambdaAction checking the site as the page does; a
    Lambda action the learner put in Source or Deploy moves to LambdaStage."""
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    notes: list[str] = []
    page_check = pipelines.lambda_action(
        "MyLambdaAction", book.names.health_function, book.site_url()
    )
    edited = put_back_action(declaration, "LambdaStage", page_check, notes, after="Deploy")
    for stage_name, action_name in misplaced_lambda_actions(edited):
        action = next(
            a
            for s in edited["stages"]
            if s["name"] == stage_name
            for a in s["actions"]
            if a["name"] == action_name
        )
        edited = put_back_action(edited, "LambdaStage", action, notes)
    if _stages(edited) != _stages(declaration):
        for note in notes:
            changes.explain(note, replaces="UpdatePipeline")
        codepipeline.update_pipeline(pipeline=edited)


# -- 05: a release through the Lambda action ------------------------------------------------
def restore_site(book: Workbook) -> None:
    """Put the original sample site back as the source (05 breaks it on purpose)."""
    s3 = book.client("s3")
    current = s3.get_object(Bucket=book.names.source_bucket, Key=book.names.site_key)
    if current["Body"].read() != packaging.site_package():
        upload_site(book)


def stop_source_polling(book: Workbook) -> None:
    """Releases start when a notebook says so: 05 turns polling on for a while."""
    codepipeline = book.client("codepipeline")
    declaration = pipelines.get_declaration(codepipeline, book.names.pipeline)
    edited = pipelines.with_source_polling(declaration, on=False)
    if _stages(edited) != _stages(declaration):
        codepipeline.update_pipeline(pipeline=edited)  # said as "updated pipeline …"


def step_05(book: Workbook) -> None:
    stop_source_polling(book)
    restore_site(book)


# -- 06: the CloudFormation function --------------------------------------------------------
def upload_template(book: Workbook, template: str | None = None) -> str:
    s3 = book.client("s3")
    return s3.put_object(
        Bucket=book.names.source_bucket,
        Key=book.names.template_key,
        Body=packaging.template_package(template),
    )["VersionId"]


def deployer_user_parameters(book: Workbook) -> str:
    return json.dumps(
        {
            "stack": book.names.stack,
            "file": "template-package/template.json",
            "artifact": "MyTemplate",
        }
    )


def ensure_stack_stage(book: Workbook) -> dict:
    """A MyTemplate source action and a stage whose Lambda action deploys the stack, each
    configured as 06 made them (a learner's other actions stay)."""
    codepipeline = book.client("codepipeline")
    names = book.names
    declaration = pipelines.get_declaration(codepipeline, names.pipeline)
    notes: list[str] = []
    edited = put_back_action(
        declaration,
        "Source",
        pipelines.s3_source_action(
            "TemplateSource", names.source_bucket, names.template_key, "MyTemplate"
        ),
        notes,
    )
    deploy = pipelines.lambda_action(
        "DeployStack",
        names.deployer_function,
        deployer_user_parameters(book),
        inputs=("MyTemplate",),
    )
    edited = put_back_action(edited, "StackStage", deploy, notes, after="LambdaStage")
    stack_action = next(
        a
        for s in edited["stages"]
        if s["name"] == "StackStage"
        for a in s["actions"]
        if a["name"] == "DeployStack"
    )
    if stack_action.get("inputArtifacts") != deploy["inputArtifacts"]:
        stack_action["inputArtifacts"] = deploy["inputArtifacts"]
        notes.append("DeployStack's input back to MyTemplate")
    if _stages(edited) != _stages(declaration):
        for note in notes:
            changes.explain(note, replaces="UpdatePipeline")
        codepipeline.update_pipeline(pipeline=edited)
    return pipelines.get_declaration(codepipeline, names.pipeline)


def step_06(book: Workbook) -> None:
    s3 = book.client("s3")
    try:
        s3.head_object(Bucket=book.names.source_bucket, Key=book.names.template_key)
    except s3.exceptions.ClientError:
        upload_template(book)  # only if missing: the exercise's changed template stays
    ensure_lambda_policy(book, load_policy("CodePipelineLambdaExecPolicy-CloudFormation.json"))
    ensure_function(book, book.names.deployer_function, "stack_deployer")
    ensure_stack_stage(book)


STEPS = {
    "01": step_01,
    "02": step_02,
    "03": step_03,
    "04": step_04,
    "05": step_05,
    "06": step_06,
}


def catch_up(book: Workbook, notebook: str) -> CaughtUp:
    """Run the steps of every notebook before ``notebook`` ('04' runs 01-03); returns what they
    created or changed, by notebook — empty when nothing was missing."""
    done = CaughtUp()
    for number, step in STEPS.items():
        if number >= notebook:
            break
        with recording(book) as said:
            step(book)
        if said:
            done[number] = said
    return done
