"""What CreatePipeline and UpdatePipeline check beyond the model's constraints.

The structure rules of the CodePipeline user guide ("Pipeline structure reference"): at least
two stages, source actions in the first stage only, unique names, every input artifact produced
by an earlier action, action types that exist with the configuration and artifacts they need,
unique variable namespaces, QUEUED/PARALLEL, pipeline variables and stage settings for V2
pipelines only. A declaration that breaks one is refused with AWS's declaration exceptions, as
on AWS, instead of failing when it runs.

What the local cloud can't honour is refused too, by name, with a ValidationException — never
kept and silently ignored: stage conditions (beforeEntry, onSuccess, onFailure's conditions:
their rules aren't evaluated here), an onFailure result of SKIP, triggers (Git events), and on
the actions it runs an action-level roleArn, another region, timeoutInMinutes, commands,
outputVariables and environmentVariables. What it honours of a stage: onFailure's RETRY (with
retryConfiguration) and ROLLBACK, and FAIL, the default (``scheduler``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import exceptions as exc
from .variables import RESERVED_NAMESPACES

# The canned ACLs an S3 deploy action may give what it writes (its action reference).
CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
CONDITION_KINDS = ("beforeEntry", "onSuccess", "onFailure")
# An action's members the local cloud doesn't honour on the providers it runs, and why.
UNHONOURED_ACTION_MEMBERS = {
    "roleArn": "the local cloud runs every action with the pipeline's service role",
    "timeoutInMinutes": "the local cloud applies no action timeout but the Lambda job's",
    "commands": "commands belong to Commands compute actions, which the local cloud doesn't run",
    "outputVariables": "outputVariables belong to Commands compute actions, which the local "
    "cloud doesn't run",
    "environmentVariables": "environmentVariables belong to compute actions, which the local "
    "cloud doesn't run",
}


@dataclass(frozen=True)
class ActionRules:
    """What a provider's action declaration needs (AWS's action structure reference)."""

    required: tuple[str, ...]
    allowed: tuple[str, ...]
    inputs: tuple[int, int]
    outputs: tuple[int, int]


# The providers the local cloud runs, with their documented configuration and artifact counts.
EMULATED = {
    ("Source", "AWS", "S3"): ActionRules(
        required=("S3Bucket", "S3ObjectKey"),
        allowed=("S3Bucket", "S3ObjectKey", "PollForSourceChanges", "AllowOverrideForS3ObjectKey"),
        inputs=(0, 0),
        outputs=(1, 1),
    ),
    ("Deploy", "AWS", "S3"): ActionRules(
        required=("BucketName", "Extract"),
        allowed=(
            "BucketName",
            "Extract",
            "ObjectKey",
            "KMSEncryptionKeyARN",
            "CannedACL",
            "CacheControl",
        ),
        inputs=(1, 1),
        outputs=(0, 0),
    ),
    ("Invoke", "AWS", "Lambda"): ActionRules(
        required=("FunctionName",),
        allowed=("FunctionName", "UserParameters"),
        inputs=(0, 5),
        outputs=(0, 5),
    ),
}

# Every action type AWS offers (user guide, "Valid action types and providers"): the local
# cloud accepts their declarations and fails their actions when they run, saying so.
AVAILABLE = {
    ("Source", "AWS"): {"S3", "CodeCommit", "ECR", "CodeStarSourceConnection"},
    ("Source", "ThirdParty"): {"GitHub"},
    ("Build", "AWS"): {"CodeBuild", "ECRBuildAndPublish"},
    ("Test", "AWS"): {"CodeBuild", "DeviceFarm"},
    ("Test", "ThirdParty"): {"BlazeMeter", "GhostInspector", "Runscope"},
    ("Deploy", "AWS"): {
        "S3",
        "AppConfig",
        "CloudFormation",
        "CloudFormationStackSet",
        "CloudFormationStackInstances",
        "CodeDeploy",
        "CodeDeployToECS",
        "EC2",
        "ECS",
        "EKS",
        "ElasticBeanstalk",
        "Lambda",
        "OpsWorks",
        "ServiceCatalog",
    },
    ("Deploy", "ThirdParty"): {"AlexaSkillsKit"},
    ("Approval", "AWS"): {"Manual"},
    ("Invoke", "AWS"): {"Lambda", "StepFunctions", "InspectorScan", "CodePipeline"},
    ("Invoke", "ThirdParty"): {"Snyk"},
    ("Compute", "AWS"): {"Commands"},
}


def check(declaration: dict, region: str) -> None:
    """Raise the declaration exception AWS gives ``declaration``, if any (the model's own
    constraints are checked before: ValidationException)."""
    _check_type_and_mode(declaration)
    stages = declaration["stages"]
    if len(stages) < 2:
        raise exc.InvalidStructureException(
            f"Pipeline has only {len(stages)} stage(s). There should be a minimum of 2 stages "
            "in a pipeline"
        )
    _check_names(stages)
    for stage in stages:
        for action in stage["actions"]:
            _check_action(stage["name"], action, region)
    _check_sources(stages)
    _check_artifacts(stages)
    _check_namespaces(stages)
    _check_stage_settings(declaration)
    for stage in stages:
        for action in stage["actions"]:
            _check_honoured(stage["name"], action, region)


def _check_type_and_mode(declaration: dict) -> None:
    store, stores = declaration.get("artifactStore"), declaration.get("artifactStores")
    if store and stores:
        raise exc.InvalidStructureException(
            "A pipeline declares either artifactStore or artifactStores, not both"
        )
    if not store and not stores:
        raise exc.InvalidStructureException(
            "The pipeline has no artifact store: declare artifactStore, the S3 bucket where "
            "CodePipeline keeps the artifacts"
        )
    if declaration.get("pipelineType", "V1") == "V2":
        names = [v["name"] for v in declaration.get("variables") or []]
        repeated = sorted(n for n, count in Counter(names).items() if count > 1)
        if repeated:
            raise exc.InvalidStructureException(
                f"Pipeline variable names must be unique: {', '.join(repeated)} is declared "
                "more than once"
            )
        if declaration.get("triggers"):
            raise exc.ValidationException(
                "The local cloud can't start a pipeline on Git events: its triggers need a "
                "CodeStarSourceConnection source action, which the local cloud doesn't run. "
                "Remove triggers to run this pipeline locally."
            )
        return
    mode = declaration.get("executionMode", "SUPERSEDED")
    if mode != "SUPERSEDED":
        raise exc.InvalidStructureException(
            f"Execution mode {mode} can only be used with V2 pipelines: set pipelineType to "
            "V2, or use SUPERSEDED"
        )
    if declaration.get("variables"):
        raise exc.InvalidStructureException(
            "Pipeline-level variables can only be used with V2 pipelines: set pipelineType to V2"
        )
    if declaration.get("triggers"):
        raise exc.InvalidStructureException("Triggers can only be used with V2 pipelines")


def _check_names(stages: list[dict]) -> None:
    repeated = [n for n, count in Counter(s["name"] for s in stages).items() if count > 1]
    if repeated:
        raise exc.InvalidStructureException(
            f"Stage names must be unique within a pipeline: '{repeated[0]}' is used more than once"
        )
    for stage in stages:
        if not stage["actions"]:
            raise exc.InvalidStageDeclarationException(
                f"Stage '{stage['name']}' has no actions: a stage needs at least one action"
            )
        names = Counter(a["name"] for a in stage["actions"])
        repeated = [n for n, count in names.items() if count > 1]
        if repeated:
            raise exc.InvalidStageDeclarationException(
                f"Action names must be unique within a stage: stage '{stage['name']}' has "
                f"more than one action named '{repeated[0]}'"
            )


def _type_of(action: dict) -> tuple[str, str, str]:
    kind = action["actionTypeId"]
    return kind["category"], kind["owner"], kind["provider"]


def _check_action(stage: str, action: dict, region: str) -> None:
    category, owner, provider = _type_of(action)
    version = action["actionTypeId"]["version"]
    if provider not in AVAILABLE.get((category, owner), ()) or version != "1":
        raise exc.InvalidActionDeclarationException(
            f"ActionType (Category: '{category}', Provider: '{provider}', Owner: '{owner}', "
            f"Version: '{version}') in action '{action['name']}' is not available in region "
            f"'{region.upper().replace('-', '_')}'"
        )
    rules = EMULATED.get((category, owner, provider))
    if rules is None:
        return
    name = action["name"]
    configuration = action.get("configuration") or {}
    for key in rules.required:
        if key not in configuration:
            raise exc.InvalidActionDeclarationException(
                f"Action configuration for action '{name}' is missing required configuration "
                f"'{key}'"
            )
    for key in configuration:
        if key not in rules.allowed:
            raise exc.InvalidActionDeclarationException(
                f"Action configuration for action '{name}' contains unknown configuration '{key}'"
            )
    acl = configuration.get("CannedACL")
    if (category, provider) == ("Deploy", "S3") and acl is not None and acl not in CANNED_ACLS:
        raise exc.InvalidActionDeclarationException(
            f"Action configuration for action '{name}' has CannedACL '{acl}': it must be one of "
            f"{', '.join(CANNED_ACLS)}"
        )
    if (category, provider) == ("Deploy", "S3") and "ObjectKey" not in configuration:
        if str(configuration["Extract"]).lower() != "true":
            raise exc.InvalidActionDeclarationException(
                f"Action configuration for action '{name}' is missing required configuration "
                "'ObjectKey': it is required when Extract is false"
            )
    for kind, (least, most) in (("input", rules.inputs), ("output", rules.outputs)):
        count = len(action.get(f"{kind}Artifacts") or [])
        if count < least:
            raise exc.InvalidActionDeclarationException(
                f"Action {name} declares {count} {kind} artifacts which is less than the "
                f"minimum count ({least})"
            )
        if count > most:
            raise exc.InvalidActionDeclarationException(
                f"Action {name} declares {count} {kind} artifacts which is more than the "
                f"maximum count ({most})"
            )


def _check_sources(stages: list[dict]) -> None:
    first = stages[0]
    if any(_type_of(a)[0] != "Source" for a in first["actions"]):
        raise exc.InvalidStructureException(
            "Pipeline should start with a stage that only contains source actions"
        )
    for stage in stages[1:]:
        for action in stage["actions"]:
            if _type_of(action)[0] == "Source":
                raise exc.InvalidStructureException(
                    f"Only the first stage of a pipeline can contain source actions: stage "
                    f"'{stage['name']}' contains source action '{action['name']}'"
                )


def _check_artifacts(stages: list[dict]) -> None:
    """Every output artifact name once; every input artifact produced by an earlier action
    (an earlier stage, or a lower runOrder in the same stage)."""
    outputs = Counter(
        o["name"] for s in stages for a in s["actions"] for o in a.get("outputArtifacts") or []
    )
    repeated = [n for n, count in outputs.items() if count > 1]
    if repeated:
        raise exc.InvalidStructureException(
            f"Output artifact names must be unique in a pipeline: '{repeated[0]}' is an "
            "output artifact of more than one action"
        )
    produced: set[str] = set()
    for stage in stages:
        by_order = sorted(stage["actions"], key=lambda a: a.get("runOrder", 1))
        for action in by_order:
            earlier = produced | {
                o["name"]
                for other in by_order
                if other.get("runOrder", 1) < action.get("runOrder", 1)
                for o in other.get("outputArtifacts") or []
            }
            for artifact in action.get("inputArtifacts") or []:
                if artifact["name"] not in earlier:
                    raise exc.InvalidStructureException(
                        f"Input artifact '{artifact['name']}' of action '{action['name']}' in "
                        f"stage '{stage['name']}' is not the output artifact of an earlier "
                        "action: an input artifact must be produced by an action in an "
                        "earlier stage, or with a lower runOrder in the same stage"
                    )
        produced |= {o["name"] for a in stage["actions"] for o in a.get("outputArtifacts") or []}


def _check_namespaces(stages: list[dict]) -> None:
    seen: dict[str, tuple[str, str]] = {}
    for stage in stages:
        for action in stage["actions"]:
            namespace = action.get("namespace")
            if namespace is None:
                continue
            if namespace in RESERVED_NAMESPACES:
                raise exc.InvalidActionDeclarationException(
                    f"Namespace '{namespace}' of action '{action['name']}' is reserved: "
                    f"{' and '.join(sorted(RESERVED_NAMESPACES))} name CodePipeline's own "
                    "variables"
                )
            if namespace in seen:
                raise exc.InvalidActionDeclarationException(
                    "Namespaces must be unique across the pipeline definition. The following "
                    "occur more than once in the pipeline. "
                    f"StageName=[{stage['name']}], ActionName=[{action['name']}], "
                    f"Namespace=[{namespace}]"
                )
            seen[namespace] = (stage["name"], action["name"])


def _check_stage_settings(declaration: dict) -> None:
    """Blockers, V2-only stage settings, conditions (refused: not evaluated here) and what
    onFailure may say."""
    v2 = declaration.get("pipelineType", "V1") == "V2"
    for index, stage in enumerate(declaration["stages"]):
        name = stage["name"]
        if stage.get("blockers"):
            raise exc.InvalidBlockerDeclarationException(
                f"Stage '{name}' declares blockers, which CodePipeline reserves for future use: "
                "remove them"
            )
        declared = [kind for kind in CONDITION_KINDS if stage.get(kind) is not None]
        if declared and not v2:
            raise exc.InvalidStageDeclarationException(
                f"Stage '{name}' declares {declared[0]}: stage retry, rollback and conditions "
                "can only be used with V2 pipelines: set pipelineType to V2"
            )
        for kind in declared:
            for condition in stage[kind].get("conditions") or []:
                raise exc.ValidationException(_unevaluated(name, kind, condition))
        if stage.get("onFailure") is not None:
            _check_on_failure(name, index, stage["onFailure"])


def _unevaluated(stage: str, kind: str, condition: dict) -> str:
    providers = list(
        dict.fromkeys(r["ruleTypeId"]["provider"] for r in condition.get("rules") or [])
    )
    if len(providers) == 1:
        what = f"the {providers[0]} rule"
    elif providers:
        what = f"the {', '.join(providers[:-1])} and {providers[-1]} rules"
    else:
        what = "the rules"
    return (
        f"The local cloud can't evaluate {what} of stage {stage}'s {kind} condition; remove "
        "the condition to run this pipeline locally."
    )


def _check_on_failure(stage: str, index: int, on_failure: dict) -> None:
    result = on_failure.get("result")
    if result == "SKIP":
        raise exc.ValidationException(
            f"Stage {stage}'s onFailure result is SKIP: a failed stage can be retried "
            "(RETRY), rolled back (ROLLBACK) or left failed (FAIL, the default), not skipped."
        )
    if on_failure.get("retryConfiguration") is not None and result != "RETRY":
        raise exc.ValidationException(
            f"Stage {stage}'s onFailure declares retryConfiguration, which applies only when "
            f"its result is RETRY (it is {result or 'not set'})."
        )
    if result == "ROLLBACK" and index == 0:
        raise exc.ValidationException(
            f"Stage {stage} is the source stage, which can't be rolled back: its onFailure "
            "result can't be ROLLBACK (RETRY can retry it)."
        )


def _check_honoured(stage: str, action: dict, region: str) -> None:
    """The members of an action the local cloud runs that it would otherwise ignore."""
    if _type_of(action) not in EMULATED:
        return  # its action fails when it runs, saying the provider isn't emulated
    name = action["name"]
    for member, why in UNHONOURED_ACTION_MEMBERS.items():
        if action.get(member) is not None:
            raise exc.ValidationException(
                f"Action {name} in stage {stage} declares {member}, which the local cloud "
                f"doesn't honour ({why}): remove it to run this pipeline locally."
            )
    if action.get("region") not in (None, region):
        raise exc.ValidationException(
            f"Action {name} in stage {stage} runs in region {action['region']}: the local "
            f"cloud runs every action in the pipeline's region ({region}). Remove region, or "
            f"set it to {region}, to run this pipeline locally."
        )
    poll = (action.get("configuration") or {}).get("PollForSourceChanges")
    if poll is not None and str(poll).lower() not in ("true", "false"):
        raise exc.InvalidActionDeclarationException(
            f"Action configuration for action '{name}' has PollForSourceChanges '{poll}': it "
            "must be true or false"
        )
