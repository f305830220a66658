"""The local cloud's state on disk: nothing created is lost across a restart.

Everything the local cloud keeps lives in its state directory's SQLite store (``store.py``):
moto's backends (S3 buckets and objects, IAM users, keys, roles and policies, STS sessions,
Lambda functions and their code, CloudWatch log groups and events, CloudFormation stacks) and
the CodePipeline engine's pipelines and execution history. A restart — ``make stop``, a crash,
a reboot — loads it all back (``restore``).

When state is written:

- A request that changes something (any operation but Get*, List*, Describe*, Head*, …) is
  saved before it is answered (``save``): the units of state its service keeps are pickled
  (``pickling.py``) and committed in one transaction. So an answered request is on disk; a
  crash loses at most the requests in flight.
- What changes without a request — log events of invocations, the artifacts and progress of
  running pipeline executions — is written by a background flusher every ``FLUSH_S``: a crash
  loses at most the last fraction of a second of it. An execution that ends is written, with
  all that waited for the flusher, as it ends. Executions in progress at a crash can't resume:
  the restart ends them Failed (or Stopped), saying why.

One local cloud serves a state directory at a time (a lock file). A store that can't be read,
that names anything the local cloud never saves (``allowlist.py``: a planted pickle runs
nothing) or that another moto or workbook version saved (``store.py``) is set aside
(``state.sqlite3.unreadable-…``, ``.refused-…``, ``.outdated-…``) and the local cloud starts
empty, saying so. CloudFormation, restored only on first use, can't start empty by then: if
its rows are refused, a copy of the store as it was is set aside and CloudFormation alone
starts empty; the rest was loaded through the same allowlist.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .allowlist import RefusedState
from .pickling import EVENTS_UNIT, Batch, Caches, Loader, Snapshotter, pristine_iam
from .store import FILE_NAME, StateStore, current_versions, version_mismatch

# moto's backends the local cloud keeps, in the order they are restored: a backend refers to
# other backends restored before it only (a Lambda function holds moto's logs backend).
MOTO_UNITS = {
    "sts": ("moto.sts.models", "sts_backends"),
    "iam": ("moto.iam.models", "iam_backends"),
    "s3": ("moto.s3.models", "s3_backends"),
    "logs": ("moto.logs.models", "logs_backends"),
    "lambda": ("moto.awslambda.models", "lambda_backends"),
    "cloudformation": ("moto.cloudformation.models", "cloudformation_backends"),
}
ENGINE_UNIT = "codepipeline"
# Restored when the server first loads moto's CloudFormation (a 2 s import start-up shouldn't pay).
LAZY_UNITS = frozenset({"cloudformation"})
FLUSH_S = 0.2  # how often the background flusher writes log events and running executions
READ_ONLY = (
    "Get",
    "List",
    "Describe",
    "Head",
    "Filter",
    "Lookup",
    "Search",
    "Select",
    "Estimate",
    "Validate",
    "Simulate",
    "Test",
    "Preview",
)
WRITING_READS = frozenset({"GetSessionToken", "GetFederationToken"})  # STS: they issue keys
RUNNING = ("InProgress", "Stopping")
PICKLE_RETRIES = 10  # a backend changed by another request while pickled is pickled again


class StateDirectoryInUse(RuntimeError):
    """Another local cloud is serving from this state directory."""


class UnreadableState(RuntimeError):
    """The saved state could not be loaded."""


def changes_state(operation: str) -> bool:
    """Whether an operation (botocore's name) may change what the local cloud keeps."""
    return operation in WRITING_READS or not operation.startswith(READ_ONLY)


def units_changed_by(service: str) -> tuple[str, ...]:
    """The units of state a request to ``service`` (its signing name) may change."""
    if service == "cloudformation":  # a stack creates buckets, roles, functions…
        return tuple(MOTO_UNITS)
    if service == ENGINE_UNIT:
        return (ENGINE_UNIT,)
    return (service,) if service in MOTO_UNITS else ()


def log(message: str) -> None:
    """One line in the local cloud's log (its stderr: the state directory's localcloud.log)."""
    print(f"localcloud: {message}", file=sys.stderr, flush=True)


def _dumps(root, batch: Batch, caches: Caches) -> bytes:
    for attempt in range(PICKLE_RETRIES):
        try:
            return Snapshotter.dumps(root, batch, caches)
        except RuntimeError:  # "dictionary changed size during iteration": pickle it again
            if attempt == PICKLE_RETRIES - 1:
                raise
            time.sleep(0.001)
    raise AssertionError("unreachable")


class MotoUnit:
    """One moto service: every (account, region) backend of it, one row each."""

    def __init__(self, name: str, module: str, dict_name: str):
        self.name, self.module, self.dict_name = name, module, dict_name

    def _backend_dict(self, load: bool = False):
        if load:
            __import__(self.module)
        module = sys.modules.get(self.module)
        return getattr(module, self.dict_name) if module is not None else None

    def save(self, batch: Batch, caches: Caches) -> None:
        backends = self._backend_dict()
        if backends is None:
            return  # never used: nothing to keep
        for account, region, backend in list(backends.iter_backends()):
            name = f"{account}/{region}"
            if self.name == "iam" and pristine_iam(backend):
                batch.deletes.add((self.name, name))  # moto makes it afresh when it is used
                continue
            batch.puts[(self.name, name)] = _dumps(backend, batch, caches)

    def restore(self, rows: dict[str, bytes], loader: Loader) -> list:
        """Load the rows into moto, all or (on any error) none; returns [(account specific
        backends, region)] installed."""
        backends = self._backend_dict(load=True)
        loaded = []
        for name, data in sorted(rows.items()):
            account, region = name.split("/", 1)
            backend = loader.loads(data)
            if type(backend) is not backends.backend:
                raise UnreadableState(f"{self.name} {name} holds a {type(backend).__name__}")
            loaded.append((account, region, backend))
        installed = []
        for account, region, backend in loaded:
            if self.name == "lambda":
                _settle_functions(backend)
            dict.__setitem__(backends[account], region, backend)
            installed.append((backends[account], region))
        return installed


def _settle_functions(backend) -> None:
    """A function's Pending/InProgress deadline (awslambda/states.py) is on the old process's
    monotonic clock: after a restart every function is settled (Active, Successful)."""
    for group in backend._lambdas._functions.values():
        for fn in [group.get("latest"), *group.get("versions", [])]:
            if fn is not None:
                fn._localcloud_pending_until = fn._localcloud_updating_until = 0.0


class EngineUnit:
    """The CodePipeline engines: per region, one row for the pipelines and one per execution,
    rewritten only while it runs or when it changed (a retry)."""

    name = ENGINE_UNIT

    def __init__(self, engines):
        self._engines = engines  # region -> PipelineEngine, .all()
        self._fingerprints: dict[str, tuple] = {}
        self._running_saved = False

    @staticmethod
    def _fingerprint(execution) -> tuple:
        return (execution.status, execution.last_update, len(execution.action_history))

    def pending(self) -> bool:
        """Whether the flusher must save: something runs, or ran at the last save."""
        return self._running_saved or any(e.in_progress() for e in self._engines.all())

    def save(self, batch: Batch, caches: Caches) -> None:
        running = False
        fingerprints = dict(self._fingerprints)
        for engine in self._engines.all():
            region = engine.region
            with engine.lock:
                saved, executions = engine.saved_state()
                batch.puts[(self.name, f"{region}/pipelines")] = _dumps(saved, batch, caches)
                names = set()
                for execution in executions:
                    name = f"{region}/executions/{execution.pipeline_name}/{execution.id}"
                    names.add(name)
                    live = execution.status in RUNNING
                    running |= live
                    fingerprint = self._fingerprint(execution)
                    if live or fingerprints.get(name) != fingerprint:
                        batch.puts[(self.name, name)] = _dumps(execution, batch, caches)
                        fingerprints[name] = fingerprint
            for name in [n for n in fingerprints if n.startswith(f"{region}/executions/")]:
                if name not in names:
                    batch.deletes.add((self.name, name))
                    del fingerprints[name]

        def saved() -> None:
            self._fingerprints = fingerprints
            self._running_saved = running

        batch.on_commit.append(saved)

    @staticmethod
    def load(rows: dict[str, bytes], loader: Loader) -> dict[str, Any]:
        """The rows loaded: the engines' records, for ``restore``."""
        return {name: loader.loads(data) for name, data in rows.items()}

    def restore(self, loaded: dict[str, Any]) -> int:
        """Give each region's engine its pipelines and executions back; how many executions."""
        regions: dict[str, tuple[dict | None, list]] = {}
        for name, record in loaded.items():
            region, kind = name.split("/", 2)[:2]
            top, executions = regions.setdefault(region, (None, []))
            if kind == "pipelines":
                regions[region] = (record, executions)
            else:
                self._fingerprints[name] = self._fingerprint(record)
                executions.append(record)
        for region, (top, executions) in regions.items():
            self._engines(region).restore_state(top or {}, executions)
        return sum(len(executions) for _, executions in regions.values())


def _lock(directory: Path):
    """Hold the state directory for this process (released when it exits, even killed)."""
    handle = open(directory / "lock", "a+")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StateDirectoryInUse(
            f"Another local cloud is using the state directory {directory}: stop it first "
            "(python -m helpers.localcloud --stop, or make stop)."
        ) from None
    return handle


class Persistence:
    """Saves the local cloud's state as it changes and loads it back at start-up."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # keys and tokens are in it
        self._lock_handle = _lock(self.directory)
        self.store: StateStore | None = None
        self._loader: Loader | None = None
        self.units: dict[str, MotoUnit | EngineUnit] = {
            name: MotoUnit(name, *where) for name, where in MOTO_UNITS.items()
        }
        self.caches = Caches()
        self._marks: dict[str, int] = {}
        self._saved: dict[str, int] = {}
        self._generation = 0
        self._mark_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._closing = threading.Event()
        self._flusher: threading.Thread | None = None
        self._engine_records: dict[str, Any] | None = None  # loaded by restore, for the engines
        self._awaiting = set(LAZY_UNITS)  # restored later; not saved until then
        self._written_blobs: set[str] | None = set()  # until garbage is collected
        self._written_streams: set[str] | None = set()
        self.save_seconds: list[float] = []  # each synchronous save, for `make bench`
        self.flush_seconds: list[float] = []  # each flusher round that wrote something
        self._open()

    # -- loading ----------------------------------------------------------------------------
    def _open(self) -> None:
        """Open the store; set it aside if it isn't a database, or if another moto, workbook
        or store format saved it. One saved before versions were recorded is adopted."""
        try:
            self.store = StateStore(self.directory)
        except sqlite3.DatabaseError as error:
            self._set_aside(f"could not be read ({error!r})")
            return
        saved = self.store.saved_versions
        if saved is None:
            now = current_versions()
            log(
                f"the saved state in {self.directory} was saved before versions were recorded: "
                f"adopted as moto {now['moto']}'s and the workbook {now['workbook']}'s"
            )
            return
        mismatch = version_mismatch(saved, current_versions())
        if mismatch is not None:
            self._set_aside(f"was {mismatch}", "outdated")

    def restore(self) -> dict[str, int]:
        """Load every unit but the lazy ones, and the engines' records for
        ``restore_engines``. On a store that can't be read, or that names what the local cloud
        never saves, set it aside, say so in the log, and start empty."""
        events: dict[str, list[tuple[int, bytes]]] = {}
        for name, data in self.store.rows(EVENTS_UNIT).items():
            sid, first = name.split("/", 1)
            events.setdefault(sid, []).append((int(first), data))
        self._loader = Loader(self.store.blob, events)
        counts: dict[str, int] = {}
        installed: list = []
        name = ""
        try:
            for name, unit in self.units.items():
                if name in LAZY_UNITS:
                    continue
                rows = self.store.rows(name)
                if rows:
                    installed += unit.restore(rows, self._loader)
                    counts[name] = len(rows)
            name = ENGINE_UNIT
            self._engine_records = EngineUnit.load(self.store.rows(name), self._loader)
        except Exception as error:
            for account_backends, region in installed:  # moto makes them afresh when used
                dict.__delitem__(account_backends, region)
            if isinstance(error, RefusedState):
                self._set_aside(f"was refused: its {name} state {error}", "refused")
            else:
                self._set_aside(f"could not be read ({error!r})")
            return {}
        return counts

    def restore_engines(self, engines) -> int:
        """Register the CodePipeline engines and give them their pipelines and history back
        (loaded by ``restore``)."""
        unit = self.units[ENGINE_UNIT] = EngineUnit(engines)
        loaded, self._engine_records = self._engine_records, None
        try:
            if loaded is None:  # not restored: nothing else was loaded either
                rows = self.store.rows(ENGINE_UNIT)
                loaded = EngineUnit.load(rows, self._loader or Loader(self.store.blob, {}))
            restored = unit.restore(loaded) if loaded else 0
        except Exception as error:
            log(f"could not restore the pipelines ({error!r}); they start empty")
            self.store.delete(ENGINE_UNIT, self.store.names(ENGINE_UNIT))
            return 0
        if loaded:
            self.changed(ENGINE_UNIT)  # executions a restart ended: keep their new status
        return restored

    def restore_lazy(self, name: str) -> None:
        """Load a unit restored on first use (CloudFormation), then collect garbage. Rows that
        name what the local cloud never saves: a copy of the store is set aside
        (``state.sqlite3.refused-…``), and the unit starts empty."""
        if name not in self._awaiting:
            return
        rows = self.store.rows(name)
        try:
            if rows:
                self.units[name].restore(rows, self._loader or Loader(self.store.blob, {}))
        except RefusedState as error:
            copy = self._aside_path("refused")
            self.store.copy_to(copy)
            log(
                f"the saved {name} state in {self.directory} was refused: it {error}; the "
                f"store as it was is set aside at {copy}, and {name} starts empty"
            )
            self.store.delete(name, list(rows))
        except Exception as error:
            log(f"could not restore {name} ({error!r}); it starts empty")
            self.store.delete(name, list(rows))
        self._awaiting.discard(name)
        if not self._awaiting:
            self._collect_garbage()

    def _aside_path(self, label: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.directory / f"{FILE_NAME}.{label}-{stamp}"
        count = 1
        while path.exists():
            count += 1
            path = self.directory / f"{FILE_NAME}.{label}-{stamp}-{count}"
        return path

    def _set_aside(self, reason: str, label: str = "unreadable") -> None:
        """Move the store aside (``state.sqlite3.<label>-<time>``), say why, and start on an
        empty one."""
        if self.store is not None:
            self.store.close()
        aside = self._aside_path(label)
        for suffix in ("", "-wal", "-shm"):
            path = self.directory / (FILE_NAME + suffix)
            if path.exists():
                path.rename(path.with_name(aside.name + suffix))
        log(
            f"the saved state in {self.directory} {reason}: it was set aside at {aside} and "
            "the local cloud starts empty"
        )
        self.store = StateStore(self.directory)
        self._loader = Loader(self.store.blob, {})

    def _collect_garbage(self) -> None:
        """Drop bodies and log rows no saved state refers to (deleted objects, streams)."""
        loader, written_blobs, written_streams = (
            self._loader,
            self._written_blobs,
            self._written_streams,
        )
        if loader is None or written_blobs is None or written_streams is None:
            return
        with self._save_lock:  # no save adds rows meanwhile
            self.store.keep_only_blobs(loader.blobs_used | written_blobs)
            used = loader.streams_used | written_streams
            stale = [n for n in self.store.names(EVENTS_UNIT) if n.split("/", 1)[0] not in used]
            if stale:
                self.store.delete(EVENTS_UNIT, stale)
            self._written_blobs = self._written_streams = None
            self._loader = None

    # -- saving -----------------------------------------------------------------------------
    def changed(self, *names: str) -> None:
        """Something in these units changed: the flusher saves them within FLUSH_S."""
        with self._mark_lock:
            self._generation += 1
            for name in names:
                self._marks[name] = self._generation

    def on_change(self, unit: str, now: bool = False) -> None:
        """``backends.on_change``: the local cloud changed ``unit`` without a request. ``now``
        (an execution ended): write it, with whatever else is waiting for the flusher (the
        artifacts it wrote, its functions' logs), before returning."""
        self.changed(unit)
        if now:
            self.flush()

    def save(self, *names: str) -> None:
        """Save these units now (a request changed them): on return, what had changed before
        the call is on disk. Concurrent callers share one save (group commit)."""
        if not names:
            return
        self.changed(*names)
        with self._mark_lock:
            wanted = {name: self._marks[name] for name in names}
        started = time.perf_counter()
        with self._save_lock:
            todo = [n for n, mark in wanted.items() if self._saved.get(n, 0) < mark]
            if todo:
                self._save_locked(todo)
        self.save_seconds.append(time.perf_counter() - started)
        del self.save_seconds[:-10000]

    def _save_locked(self, names: list[str]) -> None:
        with self._mark_lock:
            generation = self._generation
        batch = Batch()
        saved = []
        for name in names:
            unit = self.units.get(name)
            if unit is None or name in self._awaiting:
                continue
            try:
                unit.save(batch, self.caches)
                saved.append(name)
            except Exception as error:
                log(f"could not save {name}: {error!r}")
        try:
            if batch:
                self.store.commit(batch)
        except Exception as error:
            self.caches.clear()
            log(f"could not write the state store: {error!r}")
            return
        if self._written_blobs is not None and self._written_streams is not None:
            self._written_blobs |= batch.blobs.keys()
            self._written_streams |= {
                name.split("/", 1)[0] for unit, name in batch.puts if unit == EVENTS_UNIT
            }
        for callback in batch.on_commit:
            callback()
        for name in saved:
            self._saved[name] = generation

    def flush(self) -> None:
        """Save whatever changed without a request (the flusher's round; and at close)."""
        with self._mark_lock:
            dirty = [n for n, mark in self._marks.items() if self._saved.get(n, 0) < mark]
        engine = self.units.get(ENGINE_UNIT)
        if isinstance(engine, EngineUnit) and ENGINE_UNIT not in dirty and engine.pending():
            dirty.append(ENGINE_UNIT)
        if dirty:
            started = time.perf_counter()
            with self._save_lock:
                self._save_locked(dirty)
            self.flush_seconds.append(time.perf_counter() - started)
            del self.flush_seconds[:-10000]

    def figures(self) -> dict:
        """What saving costs, for the health check and `make bench`: how many synchronous
        saves and flusher rounds, their median and 99th percentile in ms, the store's size."""

        def summary(samples: list[float]) -> dict:
            recent = sorted(samples[-2000:])
            if not recent:
                return {"count": 0}
            at = lambda q: round(recent[min(len(recent) - 1, int(q * len(recent)))] * 1000, 3)  # noqa: E731
            return {"count": len(samples), "p50Ms": at(0.5), "p99Ms": at(0.99)}

        return {
            "saves": summary(self.save_seconds),
            "flushes": summary(self.flush_seconds),
            "flushEveryMs": FLUSH_S * 1000,
            "storeBytes": self.store.size_bytes(),
        }

    def start(self) -> None:
        """Start the background flusher."""

        def run() -> None:
            while not self._closing.wait(FLUSH_S):
                try:
                    self.flush()
                except Exception as error:  # never let the flusher die
                    log(f"the state flusher failed: {error!r}")

        self._flusher = threading.Thread(target=run, daemon=True, name="state-flusher")
        self._flusher.start()
        if not (self._awaiting & self.store.units()):
            self._awaiting.clear()  # nothing waits to be restored later
            self._collect_garbage()

    def close(self) -> None:
        """Write what is still unsaved and release the state directory."""
        self._closing.set()
        if self._flusher is not None:
            self._flusher.join(5)
        self.flush()
        log(f"state saved in {self.directory}: {self.figures()}")
        self.store.close()
        self._lock_handle.close()
