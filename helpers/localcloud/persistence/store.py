"""The state store: one SQLite database in the state directory, written in transactions.

SQLite (in the standard library) commits a transaction whole or not at all, even when the
process is killed or the machine loses power mid-write (write-ahead log, ``synchronous=FULL``:
a commit is on disk before the request it saves is answered). So a crash loses at most what
was not yet committed, never the store.

Three tables: ``items`` (unit, name) -> a pickle, ``blobs`` (content hash) -> bytes, the S3
object bodies and Lambda packages the pickles refer to, and ``meta``: what wrote them, the
store's format (``SCHEMA_VERSION``), moto's version and the workbook's. Pickles of moto's
objects are loaded by the moto that saved them only: a store saved by another version is set
aside when it is opened (``Persistence``), rather than failing at some later request. A store
without ``meta`` was written before versions were recorded, in this same format (``items`` and
``blobs``, unchanged since): it is adopted, stamped with the versions at hand, and loaded as
any store is; if it can't be, it is set aside then.
"""

from __future__ import annotations

import importlib.metadata
import os
import sqlite3
import threading
import tomllib
from pathlib import Path

from .pickling import Batch

FILE_NAME = "state.sqlite3"
SCHEMA_VERSION = "1"  # the tables below, and how their rows are written
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS items (unit TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (unit, name)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
)
PROJECT = "lambda-in-codepipeline-workbook"
PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"
# What each version is called in a message: "saved by moto 5.0.1, this is moto 5.2.5".
VERSION_NAMES = {"schema": "store format", "moto": "moto", "workbook": "the workbook"}


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def workbook_version() -> str:
    """The workbook's version: as installed (make setup), or its checkout's pyproject.toml."""
    version = _installed(PROJECT)
    if version is None and PYPROJECT.exists():
        version = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    return version or "unknown"


def current_versions() -> dict[str, str]:
    """What this local cloud writes into a store's ``meta``."""
    return {
        "schema": SCHEMA_VERSION,
        "moto": _installed("moto") or "unknown",
        "workbook": workbook_version(),
    }


def version_mismatch(saved: dict[str, str], current: dict[str, str]) -> str | None:
    """What differs, as the log says it ("saved by moto 5.0.1, this is moto 5.2.5"); None if
    nothing does."""
    differ = [key for key in VERSION_NAMES if saved.get(key) != current.get(key)]

    def said(versions: dict[str, str]) -> str:
        return " and ".join(f"{VERSION_NAMES[k]} {versions.get(k) or '(none)'}" for k in differ)

    return f"saved by {said(saved)}, this is {said(current)}" if differ else None


class StateStore:
    """The rows of every unit of state, and the blobs they refer to."""

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / FILE_NAME
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # private from the start
        os.close(descriptor)
        os.chmod(self.path, 0o600)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            tables = {n for (n,) in self._db.execute("SELECT name FROM sqlite_master")}
            for statement in SCHEMA:
                self._db.execute(statement)
            # what wrote it; None: a store of the format before versions were recorded
            self.saved_versions: dict[str, str] | None
            if "meta" in tables:
                self.saved_versions = dict(self._db.execute("SELECT key, value FROM meta"))
            else:  # made just now, or adopted
                self.saved_versions = None if "items" in tables else current_versions()
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", current_versions().items()
                )

    def units(self) -> set[str]:
        with self._lock:
            return {unit for (unit,) in self._db.execute("SELECT DISTINCT unit FROM items")}

    def rows(self, unit: str) -> dict[str, bytes]:
        with self._lock:
            cursor = self._db.execute("SELECT name, data FROM items WHERE unit = ?", (unit,))
            return {name: bytes(data) for name, data in cursor}

    def blob(self, blob_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM blobs WHERE id = ?", (blob_id,)).fetchone()
        return bytes(row[0]) if row else None

    def commit(self, batch: Batch) -> None:
        """Write a batch in one transaction: all of it, or (on any error) none of it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO blobs (id, data) VALUES (?, ?)", batch.blobs.items()
                )
                for unit, prefix in batch.delete_prefixes:
                    self._db.execute(
                        "DELETE FROM items WHERE unit = ? AND name >= ? AND name < ?",
                        (unit, prefix, prefix + "\uffff"),
                    )
                self._db.executemany(
                    "DELETE FROM items WHERE unit = ? AND name = ?", list(batch.deletes)
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO items (unit, name, data) VALUES (?, ?, ?)",
                    [(unit, name, data) for (unit, name), data in batch.puts.items()],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def names(self, unit: str) -> list[str]:
        with self._lock:
            cursor = self._db.execute("SELECT name FROM items WHERE unit = ?", (unit,))
            return [name for (name,) in cursor]

    def delete(self, unit: str, names: list[str]) -> None:
        with self._lock:
            self._db.executemany(
                "DELETE FROM items WHERE unit = ? AND name = ?", [(unit, n) for n in names]
            )

    def keep_only_blobs(self, used: set[str]) -> None:
        """Drop the blobs no saved state refers to any more (deleted objects, old packages)."""
        with self._lock:
            ids = [i for (i,) in self._db.execute("SELECT id FROM blobs")]
            stale = [(i,) for i in ids if i not in used]
            if stale:
                self._db.executemany("DELETE FROM blobs WHERE id = ?", stale)

    def copy_to(self, path: Path) -> None:
        """A copy of the whole store as it is now, private as the store is."""
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        copy = sqlite3.connect(path)
        try:
            with self._lock:
                self._db.backup(copy)
        finally:
            copy.close()

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

    def close(self) -> None:
        with self._lock:
            self._db.close()
