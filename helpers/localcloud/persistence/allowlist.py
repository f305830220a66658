"""What saved state may name when it is loaded: only what the local cloud saves.

A pickle names the classes and functions that rebuild it, and loading it calls them. So left
unchecked, a store rewritten by anyone who can write the file (a Lambda function runs as the
same user) could name ``os.system`` and run a command when the local cloud starts. The
``RestrictedUnpickler`` resolves a name only if it is allowed here, and refuses everything else
(``RefusedState``, saying what was named):

- the local cloud's own records: dataclasses and named tuples of ``helpers.localcloud`` (the
  engine's pipelines, executions and jobs; the references to blobs and log rows), and the
  functions of ``pickling.py`` that rebuild what its ``Snapshotter`` wrote (``FUNCTIONS``);
- moto's models: classes of moto's modules, except its server, mocking and admin machinery
  (``MOTO_MACHINERY``);
- the few other data types the state holds (``DATA_TYPES``), found by saving and loading all
  the workbook creates (tests/localcloud/test_saved_state.py): of the standard library,
  datetimes, ``OrderedDict`` and ``defaultdict`` with its factories, ``uuid.UUID``, compiled
  patterns (``re._compile``), weak dictionaries, re-entrant locks and conditions; of requests,
  the ``CaseInsensitiveDict`` of S3 metadata. Nothing else of ``builtins``, no ``copyreg``,
  ``codecs`` or ``functools`` (protocol 5 needs none of them).

How a name is checked, so that an allowed name can't lead anywhere else:

- the module's name is checked before it is imported (importing runs it);
- the object is looked up in that module, an attribute path (``Outer.Inner``) through classes
  only, and must be defined there under that very name (its ``__module__`` and
  ``__qualname__``), as everything pickle writes is. So ``moto.core.utils`` + ``os.system``, or a
  module of ours that did ``from subprocess import run``, reaches nothing;
- functions are allowed one by one, never a module's all; of classes, only those whose
  construction builds data and nothing else: records (their ``__init__`` assigns fields),
  moto's models (outside the machinery refused, moto starts no process; its Docker calls are
  in methods, which loading never calls), the data types above. A class whose instances can
  be called is refused: calling what the pickle built is the next thing a crafted one tries.

Loading still calls the allowed classes and functions with arguments the pickle chooses: that
builds objects of allowed types with any content, which is what state is. Saving checks every
class and function it names against the same rules (``refusal``), so the allowlist can't be
narrower than what the local cloud writes.
"""

from __future__ import annotations

import io
import pickle
import sys
import types
from typing import Any

MOTO_MACHINERY = (  # moto's own servers, decorators and admin API: never part of its state
    "moto.backends",
    "moto.core.botocore_stubber",
    "moto.core.custom_responses_mock",
    "moto.core.decorator",
    "moto.core.models",
    "moto.core.responses_custom_registry",
    "moto.moto_api",
    "moto.moto_proxy",
    "moto.moto_server",
    "moto.proxy",
    "moto.server",
)
OWN = "helpers.localcloud."
# (module, qualified name) of the other classes the state holds
DATA_TYPES = frozenset(
    {
        ("builtins", "dict"),  # with list, set and int: the factories of defaultdicts
        ("builtins", "list"),
        ("builtins", "set"),
        ("builtins", "int"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("uuid", "UUID"),
        ("weakref", "WeakValueDictionary"),
        ("_thread", "RLock"),  # a lock, condition or event is saved as a new one
        ("threading", "Condition"),
        ("requests.structures", "CaseInsensitiveDict"),  # S3's metadata (multipart uploads)
    }
)
FUNCTIONS = frozenset(
    {
        ("re", "_compile"),  # how a compiled pattern pickles (IAM's)
        *(
            ("helpers.localcloud.persistence.pickling", name)
            for name in (
                "_new",
                "_new_event",
                "_live_backend",
                "_aws_managed_policy",
                "_set_s3_object",
                "_set_function",
                "_set_record",
                "_set_moto_dict",
                "_set_log_stream",
                "_set_iam_backend",
            )
        ),
    }
)
_DATA_MODULES = frozenset(m for m, _ in DATA_TYPES | FUNCTIONS if not m.startswith(OWN))


class RefusedState(pickle.UnpicklingError):
    """Saved state named something the local cloud never saves."""

    def __init__(self, module: str, name: str, why: str):
        super().__init__(f"names {module}.{name}, {why}")
        self.module, self.name = module, name


def _module_allowed(module: str) -> bool:
    if any(part.startswith("__") for part in module.split(".")):
        return False  # __main__ runs a program when imported
    if module.startswith(OWN):
        return True
    if module == "moto" or module.startswith("moto."):
        return not any(module == m or module.startswith(m + ".") for m in MOTO_MACHINERY)
    return module in _DATA_MODULES


def _why_not(module: str, name: str, found: Any) -> str | None:
    """Why ``found``, at ``module.name``, may not be loaded; None if it may."""
    if getattr(found, "__module__", None) != module or getattr(found, "__qualname__", None) != (
        name
    ):
        where = f"{getattr(found, '__module__', '?')}.{getattr(found, '__qualname__', '?')}"
        return f"which is {where} under another name"
    if (module, name) in FUNCTIONS:
        return None if isinstance(found, types.FunctionType) else "which isn't a function"
    if not isinstance(found, type):
        return "which isn't a class the local cloud saves"
    if (module, name) in DATA_TYPES:
        return None
    if module in _DATA_MODULES:
        return "which the local cloud never saves"
    if any("__call__" in vars(base) for base in found.__mro__):
        return "a class whose instances can be called"
    if module.startswith(OWN) and not _is_record(found):
        return "which is no record of the local cloud's"
    return None


def _is_record(kind: type) -> bool:
    fields = getattr(kind, "__dataclass_fields__", None)
    named_tuple = issubclass(kind, tuple) and isinstance(getattr(kind, "_fields", None), tuple)
    return isinstance(fields, dict) or named_tuple


_allowed: dict[tuple[str, str], Any] = {}  # what was checked and allowed, for every load


def resolve(module: str, name: str) -> Any:
    """What a pickle naming ``module.name`` gets: the object, if the allowlist allows it."""
    found = _allowed.get((module, name))
    if found is not None:
        return found
    if not isinstance(module, str) or not isinstance(name, str):
        raise RefusedState(str(module), str(name), "which isn't a name")
    if not _module_allowed(module):
        raise RefusedState(module, name, "from a module the local cloud never saves from")
    parts = name.split(".")
    if any(part.startswith("__") for part in parts):
        raise RefusedState(module, name, "a special attribute")
    try:
        __import__(module)
        found = sys.modules[module]
        for index, part in enumerate(parts):
            if index and not isinstance(found, type):
                raise RefusedState(module, name, "reached through something not a class")
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        raise pickle.UnpicklingError(f"{module}.{name} is gone: {error}") from error
    why = _why_not(module, name, found)
    if why is not None:
        raise RefusedState(module, name, why)
    _allowed[(module, name)] = found
    return found


def refusal(saved: Any) -> str | None:
    """Why loading would refuse a pickle that names ``saved`` (a class or function being
    saved); None if it loads. Saving checks it: a store is never written with what it can't
    load back."""
    module, name = getattr(saved, "__module__", None), getattr(saved, "__qualname__", None)
    try:
        if resolve(module, name) is saved:
            return None
    except pickle.UnpicklingError as error:  # RefusedState, or gone
        return str(error)
    return f"names {module}.{name}, which is another object when loaded"


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that loads only what the allowlist above allows."""

    def find_class(self, module: str, name: str) -> Any:
        return resolve(module, name)


def loads(data: bytes) -> Any:
    """``pickle.loads``, through the allowlist."""
    return RestrictedUnpickler(io.BytesIO(data)).load()
