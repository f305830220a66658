"""Deployment packages: Lambda's size limit, checked without unzipping, and unpacking safely.

A .zip package may be at most 250 MB unzipped; CreateFunction and UpdateFunctionCode refuse a
larger one with ``InvalidParameterValueException: Unzipped size must be smaller than 262144000
bytes``. The size is read from the zip's central directory, so a zip bomb (a few hundred KB
that would unzip to gigabytes) is refused without writing a byte. Extracting stays inside the
code folder: ``zipfile`` drops ``..`` and leading ``/`` from entry names, and writes a symlink
entry as a plain file holding the link's target, never as a link.
"""

from __future__ import annotations

import io
import zipfile

from .exceptions import InvalidZipFileException

MAX_UNZIPPED_BYTES = 262_144_000  # "250 MB" in Lambda's quotas, and in its error message


def unzipped_size(archive: zipfile.ZipFile) -> int:
    """The bytes the archive's entries would take unzipped, as its central directory declares
    them (zipfile never inflates an entry past its declared size)."""
    return sum(info.file_size for info in archive.infolist())


def too_large(archive: zipfile.ZipFile) -> bool:
    return unzipped_size(archive) >= MAX_UNZIPPED_BYTES


def extract(package: bytes, folder: str) -> None:
    """Unzip a deployment package into ``folder``, every entry inside it; a package that can't
    be unzipped there (corrupt, over the limit, entries that collide) is Lambda's
    InvalidZipFileException, which Invoke answers."""
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            if too_large(archive):
                raise InvalidZipFileException.package()
            archive.extractall(folder)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise InvalidZipFileException.package() from error
