"""Pipeline declarations as CodePipeline keeps them: every version, metadata, tags and the
state of each stage's inbound transition.

A pipeline's versions are kept whole, so ``GetPipeline(version=N)`` returns the declaration
an older execution ran with; ``UpdatePipeline`` adds version N+1.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .. import arns
from . import exceptions as exc

MAX_TAGS = 50
SYSTEM_TAG_PREFIX = "aws:"


def utcnow() -> datetime:
    return datetime.now(UTC)


def with_defaults(declaration: dict, version: int) -> dict:
    """The declaration as GetPipeline returns it: its version, and the members CodePipeline
    fills in (pipeline type and execution mode; each action's runOrder, configuration and
    artifact lists)."""
    stored = copy.deepcopy(declaration)
    stored["version"] = version
    stored.setdefault("pipelineType", "V1")
    stored.setdefault("executionMode", "SUPERSEDED")
    for stage in stored["stages"]:
        for action in stage["actions"]:
            action.setdefault("runOrder", 1)
            action.setdefault("configuration", {})
            action.setdefault("outputArtifacts", [])
            action.setdefault("inputArtifacts", [])
    return stored


@dataclass
class Pipeline:
    """One pipeline: its declarations (version N at index N-1), metadata, tags and the inbound
    transitions DisableStageTransition/EnableStageTransition changed."""

    name: str
    arn: str
    versions: list[dict]
    tags: dict[str, str] = field(default_factory=dict)
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)
    # stage name -> GetPipelineState's inboundTransitionState; a stage not here is enabled
    transitions: dict[str, dict] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return len(self.versions)

    @property
    def latest(self) -> dict:
        """The current declaration (not a copy: read it, don't change it)."""
        return self.versions[-1]

    def declaration(self, version: int | None = None) -> dict:
        """A copy of the declaration of ``version`` (default: the latest)."""
        if version is None:
            return copy.deepcopy(self.latest)
        if not 1 <= version <= self.version:
            raise exc.PipelineVersionNotFoundException(self.name, version, self.version)
        return copy.deepcopy(self.versions[version - 1])

    def metadata(self) -> dict:
        return {"pipelineArn": self.arn, "created": self.created, "updated": self.updated}

    def inbound_enabled(self, stage_name: str) -> bool:
        return self.transitions.get(stage_name, {}).get("enabled", True)

    def transition_state(self, stage_name: str) -> dict:
        return dict(self.transitions.get(stage_name) or {"enabled": True})

    def summary(self) -> dict:
        """A row of ListPipelines."""
        return {
            "name": self.name,
            "version": self.version,
            "pipelineType": self.latest["pipelineType"],
            "executionMode": self.latest["executionMode"],
            "created": self.created,
            "updated": self.updated,
        }

    def tag_list(self) -> list[dict]:
        return [{"key": k, "value": v} for k, v in sorted(self.tags.items())]


class PipelineStore:
    """The pipelines of one region of one account."""

    def __init__(self, region: str, account_id: str):
        self.region, self.account_id = region, account_id
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def add(self, declaration: dict, tags: list[dict] | None = None) -> Pipeline:
        name = declaration["name"]
        pipeline = Pipeline(
            name,
            arns.pipeline_arn(self.region, self.account_id, name),
            [with_defaults(declaration, 1)],
        )
        _add_tags(pipeline, tags or [])
        with self._lock:
            if name in self._pipelines:
                raise exc.PipelineNameInUseException(self.account_id, name)
            self._pipelines[name] = pipeline
        return pipeline

    def replace(self, declaration: dict) -> Pipeline:
        """A new version of an existing pipeline."""
        with self._lock:
            pipeline = self._get_locked(declaration["name"])
            pipeline.versions.append(with_defaults(declaration, pipeline.version + 1))
            pipeline.updated = utcnow()
            stages = {stage["name"] for stage in declaration["stages"][1:]}
            for gone in set(pipeline.transitions) - stages:
                del pipeline.transitions[gone]  # a stage removed, or now first, has none
            return pipeline

    def set_transition(self, name: str, stage_name: str, state: dict) -> None:
        """Disable or enable a stage's inbound transition (``state``: inboundTransitionState)."""
        with self._lock:
            self._get_locked(name).transitions[stage_name] = state

    def get(self, name: str) -> Pipeline:
        with self._lock:
            return self._get_locked(name)

    def _get_locked(self, name: str) -> Pipeline:
        pipeline = self._pipelines.get(name)
        if pipeline is None:
            raise exc.PipelineNotFoundException(self.account_id, name)
        return pipeline

    def exists(self, name: str) -> bool:
        with self._lock:
            return name in self._pipelines

    def remove(self, name: str) -> Pipeline | None:
        with self._lock:
            return self._pipelines.pop(name, None)

    def all(self) -> list[Pipeline]:
        with self._lock:
            return sorted(self._pipelines.values(), key=lambda p: p.name)

    def snapshot(self) -> dict[str, Pipeline]:
        """Every pipeline, by name (to save them)."""
        with self._lock:
            return dict(self._pipelines)

    def restore(self, pipelines: dict[str, Pipeline]) -> None:
        """The pipelines ``snapshot`` saved, after a restart."""
        with self._lock:
            self._pipelines.update(pipelines)

    # -- tags -------------------------------------------------------------------------------
    def by_arn(self, arn: str) -> Pipeline:
        """The pipeline an ARN names: InvalidArnException if it names no pipeline, or
        ResourceNotFoundException if no such pipeline exists here."""
        prefix = arns.pipeline_arn(self.region, self.account_id, "")
        parts = arn.split(":")
        if len(parts) != 6 or parts[2] != "codepipeline" or not parts[5] or "/" in parts[5]:
            raise exc.InvalidArnException(arn)
        with self._lock:
            pipeline = self._pipelines.get(parts[5]) if arn.startswith(prefix) else None
        if pipeline is None or pipeline.arn != arn:
            raise exc.ResourceNotFoundException(self.account_id, arn)
        return pipeline

    def tag(self, arn: str, tags: list[dict]) -> None:
        pipeline = self.by_arn(arn)
        with self._lock:
            _add_tags(pipeline, tags)

    def untag(self, arn: str, keys: list[str]) -> None:
        pipeline = self.by_arn(arn)
        if any(key.startswith(SYSTEM_TAG_PREFIX) for key in keys):
            raise exc.InvalidTagsException()
        with self._lock:
            for key in keys:
                pipeline.tags.pop(key, None)


def _add_tags(pipeline: Pipeline, tags: list[dict]) -> None:
    new = {tag["key"]: tag["value"] for tag in tags}
    if any(key.startswith(SYSTEM_TAG_PREFIX) for key in new):
        raise exc.InvalidTagsException()
    if len({**pipeline.tags, **new}) > MAX_TAGS:
        raise exc.TooManyTagsException(pipeline.arn)
    pipeline.tags.update(new)
