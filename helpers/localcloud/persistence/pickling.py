"""How the local cloud's state is pickled: moto's backends and the engine's records.

Plain pickle copies everything reachable each time, and refuses some of it. The ``Snapshotter``
handles what it must not or need not copy again:

- another backend than the one being saved (a Lambda function holds moto's logs backend): a
  reference, resolved to the live backend when loaded (one of the backends kept, ``MOTO_UNITS``:
  loading resolves no other);
- S3 object bodies and Lambda deployment packages of ``BLOB_MIN`` bytes or more: stored once,
  by content hash, in the store's blobs, and referred to (an S3 object's body never changes;
  a new PutObject is a new object);
- CloudWatch log events: appended to rows of their own, only the events written since the last
  save, so saving the logs costs what was logged since, not everything ever logged;
- AWS managed IAM policies (about 1,500): moto loads them afresh at start-up; only which are
  attached, and how often, is kept;
- locks, events, conditions, weak dictionaries and defaultdicts of lambdas: recreated;
- the engine's records (dataclasses): a field added to the code since they were saved gets its
  default when they are loaded.

Loading goes through ``allowlist.py``: a pickle may name only the classes and functions it
allows, and saving checks each one it names, so that a store is never written with what it
can't load back (the unit isn't saved, and the log says what it named).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import io
import pickle
import sys
import threading
import types
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from moto.awslambda.models import LambdaFunction
from moto.core.base_backend import BackendDict, BaseBackend
from moto.iam.models import AWSManagedPolicy, IAMBackend
from moto.logs.models import LogStream
from moto.s3.models import FakeKey

from . import allowlist

PROTOCOL = 5
BLOB_MIN = 4096  # bodies this size or larger are stored once, by content, in the blobs table
EVENTS_UNIT = "logs-events"  # the rows CloudWatch log events are appended to


class BlobRef(NamedTuple):
    """A body stored in the blobs table; ``text``: it was a str (base64 of a package)."""

    id: str
    text: bool = False


class EventsRef(NamedTuple):
    """The first ``count`` events of a log stream's rows ``sid/…``."""

    sid: str
    count: int


@dataclass
class Batch:
    """What one save writes, in one transaction."""

    puts: dict[tuple[str, str], bytes] = field(default_factory=dict)
    deletes: set[tuple[str, str]] = field(default_factory=set)
    delete_prefixes: list[tuple[str, str]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    on_commit: list = field(default_factory=list)  # callables, once the transaction is in

    def __bool__(self) -> bool:
        return bool(self.puts or self.deletes or self.delete_prefixes or self.blobs)


class IdentityCache:
    """Facts about live objects, by identity, forgotten when the object goes."""

    def __init__(self):
        self._entries: dict[int, tuple[weakref.ref, Any]] = {}

    def get(self, obj) -> Any:
        entry = self._entries.get(id(obj))
        return entry[1] if entry is not None and entry[0]() is obj else None

    def put(self, obj, value) -> None:
        key = id(obj)

        def forget(ref, key=key):
            entry = self._entries.get(key)
            if entry is not None and entry[0] is ref:
                del self._entries[key]

        self._entries[key] = (weakref.ref(obj, forget), value)

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class Caches:
    """What earlier saves stored, so the next one doesn't store it again."""

    bodies: IdentityCache = field(default_factory=IdentityCache)  # FakeKey -> blob id
    packages: IdentityCache = field(default_factory=IdentityCache)  # fn -> {slot: (value, id)}
    streams: IdentityCache = field(default_factory=IdentityCache)  # LogStream -> _Appended

    def clear(self) -> None:
        """After a failed transaction: nothing cached may be trusted to be stored."""
        self.bodies.clear()
        self.packages.clear()
        self.streams.clear()


@dataclass(frozen=True)
class _Appended:
    sid: str
    events: list  # the stream's own list: a stream given a new list is written anew
    count: int


def _lock_type():
    return type(threading.Lock())


_LOCK, _RLOCK = _lock_type(), type(threading.RLock())
_UNKNOWN = object()


class Snapshotter(pickle.Pickler):
    """Pickles one root object (a backend, an execution) into ``batch``'s rows."""

    _kinds: dict[type, Any] = {}

    def __init__(self, file, root, batch: Batch, caches: Caches):
        super().__init__(file, protocol=PROTOCOL)
        self.root, self.batch, self.caches = root, batch, caches

    @classmethod
    def dumps(cls, root, batch: Batch, caches: Caches) -> bytes:
        buffer = io.BytesIO()
        cls(buffer, root, batch, caches).dump(root)
        return buffer.getvalue()

    def reducer_override(self, obj):
        kind = self._kinds.get(type(obj), _UNKNOWN)
        if kind is _UNKNOWN:
            kind = self._kinds[type(obj)] = _classify(type(obj))
        if kind is None:
            return NotImplemented
        return kind(self, obj)

    # -- the special cases ----------------------------------------------------------------
    def _backend(self, backend: BaseBackend):
        if backend is self.root:
            return self._iam_backend(backend) if isinstance(backend, IAMBackend) else NotImplemented
        module, name = _backend_dict_of(type(backend))
        if (module, name) not in _kept_backend_dicts():
            raise pickle.PicklingError(
                f"it refers to {type(backend).__qualname__}, which the local cloud doesn't keep"
            )
        return _live_backend, (module, name, backend.account_id, backend.region_name)

    def _store_blob(self, value: bytes | str) -> BlobRef:
        data = value.encode() if isinstance(value, str) else bytes(value)
        blob = hashlib.sha256(data).hexdigest()
        self.batch.blobs[blob] = data
        return BlobRef(blob, isinstance(value, str))

    def _s3_object(self, key: FakeKey):
        state = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
        ref = self.caches.bodies.get(key)
        if ref is None:
            try:
                value = key.value
            except ValueError:  # its buffer is closed: the object was deleted meanwhile
                value = b""
            if len(value) < BLOB_MIN:
                state["value"] = value
                return _new, (type(key),), state, None, None, _set_s3_object
            ref = self._store_blob(value)
            self.batch.on_commit.append(lambda: self.caches.bodies.put(key, ref))
        state["value"] = ref
        return _new, (type(key),), state, None, None, _set_s3_object

    def _function(self, fn: LambdaFunction):
        state = fn.__getstate__()  # without its Docker client
        known = self.caches.packages.get(fn) or {}
        stored = dict(known)

        def by_reference(slot: str, value):
            if not isinstance(value, bytes | str) or len(value) < BLOB_MIN:
                return value
            cached = known.get(slot)
            if cached is not None and cached[0] is value:
                return cached[1]
            ref = self._store_blob(value)
            stored[slot] = (value, ref)
            return ref

        state["code_bytes"] = by_reference("code_bytes", state.get("code_bytes"))
        code = state.get("code")
        if isinstance(code, dict) and "ZipFile" in code:
            state["code"] = {**code, "ZipFile": by_reference("ZipFile", code["ZipFile"])}
        if stored != known:
            self.batch.on_commit.append(lambda: self.caches.packages.put(fn, stored))
        return _new, (type(fn),), state, None, None, _set_function

    def _log_stream(self, stream: LogStream):
        state = dict(stream.__dict__)
        events = state.pop("events")
        count = len(events)
        known: _Appended | None = self.caches.streams.get(stream)
        if known is not None and known.events is events and known.count <= count:
            sid, start = known.sid, known.count
        else:
            sid, start = uuid.uuid4().hex, 0
            if known is not None:
                self.batch.delete_prefixes.append((EVENTS_UNIT, known.sid + "/"))
        if count > start:
            name = f"{sid}/{start:012d}"
            self.batch.puts[(EVENTS_UNIT, name)] = pickle.dumps(events[start:count], PROTOCOL)
        appended = _Appended(sid, events, count)
        self.batch.on_commit.append(lambda: self.caches.streams.put(stream, appended))
        state["events"] = EventsRef(sid, count)
        return _new, (type(stream),), state, None, None, _set_log_stream

    def _iam_backend(self, backend: IAMBackend):
        state = dict(backend.__dict__)
        aws = state.pop("aws_managed_policies")
        state["managed_policies"] = {
            arn: policy
            for arn, policy in backend.managed_policies.items()
            if not isinstance(policy, AWSManagedPolicy)
        }
        state["aws_policy_attachments"] = {
            policy.arn: policy.attachment_count for policy in aws if policy.attachment_count
        }
        return _new, (type(backend),), state, None, None, _set_iam_backend

    def _by_name(self, named):
        """A class or function: written by name, as pickle does, if loading allows it."""
        refused = allowlist.refusal(named)
        if refused is not None:
            raise pickle.PicklingError(f"the local cloud couldn't load it back: it {refused}")
        return NotImplemented

    def _aws_managed_policy(self, policy: AWSManagedPolicy):
        return _aws_managed_policy, (policy.account_id, policy.partition, policy.arn)

    def _event(self, event: threading.Event):
        return _new_event, (event.is_set(),)

    def _weak_values(self, mapping: weakref.WeakValueDictionary):
        return weakref.WeakValueDictionary, (), None, None, iter(list(mapping.items()))

    def _moto_dict(self, mapping: dict):
        """moto's dict subclasses, stored as they are inside (S3's versioned key store says
        only the latest version of each key when asked for its items)."""
        state = {"attributes": dict(mapping.__dict__), "items": list(dict.items(mapping))}
        return _new, (type(mapping),), state, None, None, _set_moto_dict

    def _record(self, record):
        if not hasattr(record, "__dict__"):
            return NotImplemented  # a dataclass with slots pickles as it is
        return _new, (type(record),), dict(record.__dict__), None, None, _set_record

    def _defaultdict(self, mapping: collections.defaultdict):
        factory = mapping.default_factory
        qualname = getattr(factory, "__qualname__", "")
        if factory is None or "<" not in qualname:
            return NotImplemented  # an importable factory pickles as it is
        made = factory()
        if type(made) not in (dict, list, set, int) or made:
            return NotImplemented  # let pickle say what it can't do
        return collections.defaultdict, (type(made),), None, None, iter(list(mapping.items()))


def _classify(kind: type):
    if issubclass(kind, type) or kind in (types.FunctionType, types.BuiltinFunctionType):
        return Snapshotter._by_name
    if issubclass(kind, BaseBackend):
        return Snapshotter._backend
    if issubclass(kind, FakeKey):
        return Snapshotter._s3_object
    if issubclass(kind, LambdaFunction):
        return Snapshotter._function
    if issubclass(kind, LogStream):
        return Snapshotter._log_stream
    if issubclass(kind, AWSManagedPolicy):
        return Snapshotter._aws_managed_policy
    if kind in (_LOCK, _RLOCK):
        return lambda self, obj: (type(obj), ())
    if issubclass(kind, threading.Condition):
        return lambda self, obj: (threading.Condition, ())
    if issubclass(kind, threading.Event):
        return Snapshotter._event
    if issubclass(kind, weakref.WeakValueDictionary):
        return Snapshotter._weak_values
    if issubclass(kind, collections.defaultdict):
        return Snapshotter._defaultdict
    if dataclasses.is_dataclass(kind) and kind.__module__.startswith("helpers.localcloud."):
        return Snapshotter._record
    if issubclass(kind, dict) and kind.__module__.startswith("moto.") and kind is not BackendDict:
        return Snapshotter._moto_dict
    return None


_backend_dicts: dict[type, tuple[str, str]] = {}


def _backend_dict_of(kind: type) -> tuple[str, str]:
    """(module, name) of the BackendDict holding backends of ``kind``."""
    if kind not in _backend_dicts:
        module = sys.modules[kind.__module__]
        for name, value in vars(module).items():
            if isinstance(value, BackendDict) and value.backend is kind:
                _backend_dicts[kind] = (kind.__module__, name)
                break
        else:
            raise pickle.PicklingError(f"no BackendDict holds {kind.__qualname__}")
    return _backend_dicts[kind]


# -- loading ------------------------------------------------------------------------------
class Loader:
    """What loading needs besides the pickle: the blobs and log-event rows of the store."""

    def __init__(self, blob, events: dict[str, list[tuple[int, bytes]]]):
        self.blob = blob  # blob id -> bytes
        self.events = events  # stream id -> [(first index, pickled events)]
        self.blobs_used: set[str] = set()
        self.streams_used: set[str] = set()

    def loads(self, data: bytes):
        _loading.loader = self
        try:
            return allowlist.loads(data)
        finally:
            _loading.loader = None

    def body(self, ref: BlobRef) -> bytes | str:
        data = self.blob(ref.id)
        if data is None:
            raise pickle.UnpicklingError(f"a stored body is missing ({ref.id})")
        self.blobs_used.add(ref.id)
        return data.decode() if ref.text else data

    def stream_events(self, ref: EventsRef) -> list:
        self.streams_used.add(ref.sid)
        events: list = []
        for first, data in sorted(self.events.get(ref.sid, [])):
            if first != len(events):
                break  # rows are contiguous; a gap can't be bridged
            events.extend(allowlist.loads(data))
        return events[: ref.count]


_loading = threading.local()


def _loader() -> Loader:
    loader = getattr(_loading, "loader", None)
    if loader is None:
        raise pickle.UnpicklingError("the local cloud's state is loaded by persistence only")
    return loader


def _new(kind: type):
    if not isinstance(kind, type):
        raise pickle.UnpicklingError(f"{kind!r} is not a class")
    return kind.__new__(kind)


def _set_s3_object(key: FakeKey, state: dict) -> None:
    if isinstance(state["value"], BlobRef):
        state["value"] = _loader().body(state["value"])
    key.__setstate__(state)


def _set_function(fn: LambdaFunction, state: dict) -> None:
    if isinstance(state.get("code_bytes"), BlobRef):
        state["code_bytes"] = _loader().body(state["code_bytes"])
    code = state.get("code")
    if isinstance(code, dict) and isinstance(code.get("ZipFile"), BlobRef):
        state["code"] = {**code, "ZipFile": _loader().body(code["ZipFile"])}
    fn.__dict__.update(state)
    fn.__dict__.setdefault("_DockerModel__docker_client", None)


def _set_record(record, state: dict) -> None:
    """A saved dataclass, with the fields the code has added since given their defaults."""
    object.__setattr__(record, "__dict__", {**record.__dict__, **state})
    for known in dataclasses.fields(record):
        if known.name in state:
            continue
        if known.default is not dataclasses.MISSING:
            object.__setattr__(record, known.name, known.default)
        elif known.default_factory is not dataclasses.MISSING:
            object.__setattr__(record, known.name, known.default_factory())


def _set_moto_dict(mapping: dict, state: dict) -> None:
    mapping.__dict__.update(state["attributes"])
    for key, value in state["items"]:
        dict.__setitem__(mapping, key, value)


def _set_log_stream(stream: LogStream, state: dict) -> None:
    state["events"] = _loader().stream_events(state["events"])
    stream.__dict__.update(state)


def _set_iam_backend(backend: IAMBackend, state: dict) -> None:
    """The saved IAM state, with the AWS managed policies of a fresh backend (moto's)."""
    fresh = _live_backend(
        "moto.iam.models", "iam_backends", state["account_id"], state["region_name"]
    )
    attachments = state.pop("aws_policy_attachments")
    customer = state.pop("managed_policies")
    backend.__dict__.update(state)
    backend.aws_managed_policies = fresh.aws_managed_policies
    backend.managed_policies = {p.arn: p for p in fresh.aws_managed_policies}
    backend.managed_policies.update(customer)
    for arn, count in attachments.items():
        if arn in backend.managed_policies:
            backend.managed_policies[arn].attachment_count = count


def pristine_iam(backend: IAMBackend) -> bool:
    """An IAM backend as moto makes it: nothing of the account's own (moto creates one per
    partition, aws-cn, aws-us-gov…, and only ``aws`` is used here)."""
    own = (
        "users",
        "roles",
        "groups",
        "instance_profiles",
        "certificates",
        "saml_providers",
        "open_id_providers",
        "virtual_mfa_devices",
        "inline_policies",
        "access_keys",
        "account_aliases",
    )
    return (
        not any(getattr(backend, name, None) for name in own)
        and getattr(backend, "account_password_policy", None) is None
        and all(
            isinstance(policy, AWSManagedPolicy) and not policy.attachment_count
            for policy in backend.managed_policies.values()
        )
    )


def _kept_backend_dicts() -> frozenset[tuple[str, str]]:
    from . import MOTO_UNITS  # the package imports this module first

    return frozenset(MOTO_UNITS.values())


def _live_backend(module: str, name: str, account: str, region: str):
    """The live backend a saved one referred to: of the backends kept, and no other."""
    if (module, name) not in _kept_backend_dicts():
        raise allowlist.RefusedState(module, name, "which is no backend the local cloud keeps")
    __import__(module)
    return getattr(sys.modules[module], name)[account][region]


def _aws_managed_policy(account: str, partition: str, arn: str):
    from moto.iam.models import iam_backends

    return iam_backends[account][partition].managed_policies[arn]


def _new_event(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event
