"""A stand-in for a heavy dependency: importing it takes a few hundred milliseconds of CPU, as
a library does that loads data files, builds lookup tables or compiles patterns on import.

The work is real (no sleep), so on AWS it takes longer with less memory (less CPU)."""

import hashlib

WORK = 500_000  # about 0.25 s on a laptop core

_TABLE = [hashlib.sha256(str(i).encode()).digest() for i in range(WORK)]


def fingerprint() -> str:
    """Something computed from the table, so the import can't be skipped."""
    return hashlib.sha256(b"".join(_TABLE[:16])).hexdigest()[:12]
