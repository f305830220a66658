"""What CreatePipeline and UpdatePipeline check beyond the model's constraints.

The structure rules of the CodePipeline user guide ("Pipeline structure reference"): at least
two stages, source actions in the first stage only, unique names, every input artifact produced
by an earlier action, action types that exist with the configuration and artifacts they need,
unique variable namespaces, QUEUED/PARALLEL and pipeline variables for V2 pipelines only. A
declaration that breaks one is refused with AWS's declaration exceptions, as on AWS, instead
of failing when it runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import exceptions as exc
from .variables import RESERVED_NAMESPACES


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
