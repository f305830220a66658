"""Variables: ``#{NAMESPACE.NAME}`` in an action's configuration, resolved when it runs.

Namespaces (CodePipeline user guide, "Variables reference"): ``codepipeline`` (the execution's
``PipelineExecutionId``), ``variables`` (pipeline-level variables of V2 pipelines: declared
defaults, overridden by StartPipelineExecution) and each action's own ``namespace``, holding the
output variables it produced (an S3 source's ETag and VersionId, what a Lambda function reported
in PutJobSuccessResult's outputVariables).
"""

from __future__ import annotations

import re

from . import exceptions as exc

EXECUTION_NAMESPACE = "codepipeline"
PIPELINE_NAMESPACE = "variables"
RESERVED_NAMESPACES = frozenset({EXECUTION_NAMESPACE, PIPELINE_NAMESPACE})
REFERENCE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}")
# CodePipeline quotas: "a maximum size limit of 122880 bytes for all output variables combined
# for a particular action" and "of 100 KB for the total resolved action configuration".
MAX_OUTPUT_VARIABLES_BYTES = 122880
MAX_RESOLVED_CONFIGURATION_BYTES = 100 * 1024
MAX_CONFIGURATION_VALUE = 1000  # ActionConfigurationValue's length, resolved or not

Scope = dict[str, dict[str, str]]


class Unresolved(Exception):
    """References nothing in scope answers, e.g. ``['#{Build.Tag}']``."""

    def __init__(self, references: list[str]):
        super().__init__(", ".join(references))
        self.references = references


def resolve(configuration: dict[str, str], scope: Scope) -> dict[str, str]:
    """``configuration`` with every reference replaced by its value; Unresolved lists those
    that have none."""
    missing: list[str] = []

    def value(match: re.Match) -> str:
        found = scope.get(match.group(1), {}).get(match.group(2))
        if found is None:
            missing.append(match.group(0))
            return match.group(0)
        return found

    resolved = {key: REFERENCE.sub(value, text) for key, text in configuration.items()}
    if missing:
        raise Unresolved(list(dict.fromkeys(missing)))
    return resolved


def size(variables: dict[str, str]) -> int:
    """Bytes of keys and values together (UTF-8), as the quotas count them."""
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())


def pipeline_variables(
    pipeline: str,
    declared: list[dict],
    given: list[dict] | None,
    pipeline_type: str,
    require_all: bool = True,
) -> dict[str, str]:
    """The pipeline-level variables of a new execution: each declared default, overridden by
    the value StartPipelineExecution gives. Values for undeclared variables, the same
    variable twice, or (``require_all``) a variable without a default left out get
    ValidationException."""
    given = given or []
    if given and pipeline_type != "V2":
        raise exc.ValidationException(
            f"Pipeline '{pipeline}' is a V1 pipeline: variables can be passed only to V2 pipelines"
        )
    names = {v["name"] for v in declared}
    values = {v["name"]: v["defaultValue"] for v in declared if "defaultValue" in v}
    seen: set[str] = set()
    for variable in given:
        name = variable["name"]
        if name not in names:
            raise exc.ValidationException(
                f"Variable '{name}' is not declared in pipeline '{pipeline}': declare it in "
                "the pipeline's variables first"
            )
        if name in seen:
            raise exc.ValidationException(f"Variable '{name}' is given more than once")
        seen.add(name)
        values[name] = variable["value"]
    missing = sorted(names - values.keys())
    if missing and require_all:
        raise exc.ValidationException(
            f"Variable '{missing[0]}' of pipeline '{pipeline}' has no default value: pass its "
            "value to StartPipelineExecution"
        )
    return values
