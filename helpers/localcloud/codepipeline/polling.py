"""Change detection by polling: an S3 source action with PollForSourceChanges starts a release
when its object gets a new version.

An S3 source action polls unless its configuration says ``PollForSourceChanges: "false"``:
omitted, it polls — for a pipeline created with the CLI, the API or CloudFormation the
parameter "is not displayed in JSON output, but it sets to true" (user guide, "Valid settings
for the PollForSourceChanges parameter"). AWS polls about once a minute and recommends an
EventBridge rule instead; the local cloud polls every ``interval_s`` (LOCALCLOUD_POLL_S,
``--poll-interval``; 5 s by default) and has no EventBridge rules.

What each source last showed (its object's latest version id) is kept with the pipelines, so
a restart neither misses a version uploaded before it nor starts a release for one already
seen. A pipeline's creation takes the version already there as seen: its creation starts one
release, which runs it. An execution a poll starts has trigger PollForSourceChanges, with the
source action's name as its detail. With no pipeline polling, the poller's thread waits and
costs nothing; each round is one in-process look-up of each polled object's latest version.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

from .. import backends

DEFAULT_POLL_S = 5.0
S3_SOURCE = ("Source", "AWS", "S3")

# (bucket, key, the revision last seen: its latest version id, or None if it had none)
Seen = tuple[str, str, str | None]


def poll_interval_from_environment() -> float:
    """LOCALCLOUD_POLL_S, else DEFAULT_POLL_S."""
    value = os.environ.get("LOCALCLOUD_POLL_S", "")
    try:
        return float(value) if float(value) > 0 else DEFAULT_POLL_S
    except ValueError:
        return DEFAULT_POLL_S


def polled_sources(declaration: dict) -> list[tuple[str, str, str]]:
    """(action name, bucket, key) of each S3 source action of the pipeline that polls."""
    sources = []
    for action in declaration["stages"][0]["actions"]:
        kind = action["actionTypeId"]
        if (kind["category"], kind["owner"], kind["provider"]) != S3_SOURCE:
            continue
        configuration = action.get("configuration") or {}
        if str(configuration.get("PollForSourceChanges", "true")).lower() != "true":
            continue
        sources.append((action["name"], configuration["S3Bucket"], configuration["S3ObjectKey"]))
    return sources


class SourcePoller:
    """Polls the source objects of one region's pipelines; starts a release on a change."""

    def __init__(
        self,
        interval_s: float,
        lock: threading.RLock,
        start_release: Callable[[str, str], object],
    ):
        self.interval_s = interval_s
        self._lock = lock  # the engine's: ``seen`` is saved with its records
        self._start_release = start_release  # (pipeline name, source action name)
        # pipeline name -> source action name -> what it last showed
        self.seen: dict[str, dict[str, Seen]] = {}
        self._watching = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, name: str, declaration: dict) -> None:
        """The pipeline was created, updated or restored: poll its sources as it declares
        them. A source polled before, with the same object, keeps what it last saw; any
        other takes the object's current version as seen."""
        sources = polled_sources(declaration)
        with self._lock:
            before = self.seen.get(name, {})
            now = {}
            for action, bucket, key in sources:
                kept = before.get(action)
                if kept is not None and kept[:2] == (bucket, key):
                    now[action] = kept
                else:
                    now[action] = (bucket, key, backends.latest_revision(bucket, key))
            if now:
                self.seen[name] = now
            else:
                self.seen.pop(name, None)
        if sources:
            self._run()

    def forget(self, name: str) -> None:
        with self._lock:
            self.seen.pop(name, None)

    def restore(self, seen: dict[str, dict[str, Seen]]) -> None:
        """What a restart kept (call ``watch`` for each pipeline after)."""
        with self._lock:
            self.seen.update({name: dict(actions) for name, actions in seen.items()})

    def snapshot(self) -> dict[str, dict[str, Seen]]:
        """To save (call it holding the engine's lock)."""
        return {name: dict(actions) for name, actions in self.seen.items()}

    def _run(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, daemon=True, name="codepipeline-source-poller"
                )
                self._thread.start()
        self._watching.set()

    def _loop(self) -> None:
        while True:
            self._watching.wait()  # nothing polls: wait, at no cost
            time.sleep(self.interval_s)
            with self._lock:
                if not self.seen:
                    self._watching.clear()
                    continue
            try:
                self.poll()
            except Exception as error:  # a bug must not end polling for every pipeline
                print(f"localcloud: source polling failed: {error!r}", file=sys.stderr)

    def poll(self) -> list[str]:
        """One round: start a release of each pipeline whose source changed; their names."""
        with self._lock:
            round_ = {name: dict(actions) for name, actions in self.seen.items()}
        started = []
        for name, actions in round_.items():
            changed = None
            for action, (bucket, key, last) in actions.items():
                revision = backends.latest_revision(bucket, key)
                if revision == last:
                    continue
                with self._lock:
                    current = self.seen.get(name, {})
                    if current.get(action) != (bucket, key, last):
                        continue  # the pipeline changed meanwhile
                    current[action] = (bucket, key, revision)
                backends.on_change("codepipeline")  # what it saw is kept across a restart
                if revision is not None and changed is None:
                    changed = action  # an object deleted is no new revision
            if changed is None:
                continue
            try:
                self._start_release(name, changed)
            except Exception as error:  # deleted meanwhile, or a variable it lacks
                print(f"localcloud: no release of {name} on a change: {error!r}", file=sys.stderr)
                continue
            started.append(name)
        return started
