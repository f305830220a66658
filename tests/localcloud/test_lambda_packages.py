"""Deployment packages that try to get out of their folder, or to fill the disk.

An entry named ``../x``, ``/abs/x`` or ``a/../../x``, or stored as a symlink, is unpacked inside
the package's own folder (the function's LAMBDA_TASK_ROOT) — nothing appears outside it. A zip
that would unzip past Lambda's 250 MB is refused at CreateFunction and UpdateFunctionCode with
AWS's InvalidParameterValueException, decided from the zip's central directory: the zip bomb
here is a quarter of a megabyte, and nothing is written.
"""

from __future__ import annotations

import functools
import io
import json
import stat
import uuid
import zipfile
from pathlib import Path

import pytest

from helpers.localcloud.awslambda import packages
from helpers.localcloud.awslambda.exceptions import InvalidZipFileException

from .conftest import create_function, unique, wait_until_updated
from .pipeline_kit import error_of

TOO_LARGE = ("InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes")

LISTS_ITS_FILES = """
import os

def handler(event, context):
    root = os.environ["LAMBDA_TASK_ROOT"]
    found = {}
    for folder, folders, files in os.walk(root):
        folders[:] = [f for f in folders if f != "__pycache__"]  # Python's, not the package's
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = {
                "symlink": os.path.islink(path),
                "text": open(path).read() if not os.path.islink(path) else None,
            }
    return {"root": root, "files": found}
"""


def symlink_entry(name: str, target: str) -> zipfile.ZipInfo:
    """A zip entry stored as a symbolic link (as `zip --symlinks` stores one)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: external_attr holds the file mode
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def escaping_package(mark: str, outside: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("app.py", LISTS_ITS_FILES)
        package.writestr(f"../{mark}-parent.txt", "up one")
        package.writestr(f"../../{mark}-grandparent.txt", "up two")
        package.writestr(f"{outside}/{mark}-absolute.txt", "absolute")
        package.writestr(f"sub/../../{mark}-sneaky.txt", "sneaky")
        package.writestr(symlink_entry("link", str(outside)), str(outside))
    return buffer.getvalue()


@functools.cache
def zip_bomb() -> bytes:
    """One member of 251 MiB of zeros, deflated to about 250 KB: over Lambda's 262,144,000."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("app.py", "def handler(event, context):\n    return 1\n")
        with package.open("padding.bin", "w", force_zip64=True) as member:
            zeros = bytes(1024 * 1024)
            for _ in range(251):
                member.write(zeros)
    return buffer.getvalue()


def test_entries_that_escape_are_unpacked_inside_the_package(aws, roles, cloud, tmp_path):
    mark = uuid.uuid4().hex[:8]
    outside = tmp_path / "outside"
    outside.mkdir()
    name = unique("escape")
    create_function(
        aws,
        FunctionName=name,
        Runtime="python3.12",
        Role=roles["lambda"],
        Handler="app.handler",
        Code={"ZipFile": escaping_package(mark, outside)},
    )
    response = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    seen = json.loads(response["Payload"].read())
    inside = str(outside).lstrip("/")
    assert seen["files"] == {
        "app.py": {"symlink": False, "text": LISTS_ITS_FILES},
        f"{mark}-parent.txt": {"symlink": False, "text": "up one"},
        f"{mark}-grandparent.txt": {"symlink": False, "text": "up two"},
        f"{inside}/{mark}-absolute.txt": {"symlink": False, "text": "absolute"},
        f"sub/{mark}-sneaky.txt": {"symlink": False, "text": "sneaky"},
        "link": {"symlink": False, "text": str(outside)},  # a plain file naming its target
    }
    assert list(outside.iterdir()) == [], "nothing was written where the entries pointed"
    root = Path(seen["root"])  # <the runtime's folder>/code/<code hash>
    for above in (root.parent, root.parent.parent, Path(cloud.state_dir)):
        assert all(path.is_relative_to(root) for path in above.rglob(f"*{mark}*"))
    assert len(list(root.rglob(f"*{mark}*"))) == 4


def test_a_symlink_used_as_a_folder_makes_the_package_unusable_not_a_way_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(symlink_entry("linked", str(outside)), str(outside))
        package.writestr("linked/through.txt", "written through the link?")
    folder = tmp_path / "code"
    folder.mkdir()
    with pytest.raises(InvalidZipFileException):
        packages.extract(buffer.getvalue(), str(folder))
    assert list(outside.iterdir()) == []


def test_a_zip_bomb_is_refused_at_create_function_without_unzipping(aws, roles):
    bomb = zip_bomb()
    assert len(bomb) < 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(bomb)) as package:
        assert packages.unzipped_size(package) > packages.MAX_UNZIPPED_BYTES
    params = {
        "FunctionName": unique("bomb"),
        "Runtime": "python3.12",
        "Role": roles["lambda"],
        "Handler": "app.handler",
    }
    lam = aws("lambda")
    assert error_of(lambda: lam.create_function(**params, Code={"ZipFile": bomb})) == {
        "Code": TOO_LARGE[0],
        "Message": TOO_LARGE[1],
    }
    bucket = unique("code")
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="bomb.zip", Body=bomb)
    from_s3 = {"S3Bucket": bucket, "S3Key": "bomb.zip"}
    assert error_of(lambda: lam.create_function(**params, Code=from_s3))["Message"] == TOO_LARGE[1]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=params["FunctionName"])  # so nothing to unpack, ever


def test_a_zip_bomb_is_refused_at_update_function_code(aws, make_function):
    name = make_function("def handler(event, context):\n    return 'v1'\n")
    lam = aws("lambda")
    found = error_of(lambda: lam.update_function_code(FunctionName=name, ZipFile=zip_bomb()))
    assert (found["Code"], found["Message"]) == TOO_LARGE
    wait_until_updated(aws, name)
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == "v1", "unchanged"


def test_the_limit_is_smaller_than_262144000_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        info = zipfile.ZipInfo("big.bin")
        package.writestr(info, b"")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as package:
        package.infolist()[0].file_size = packages.MAX_UNZIPPED_BYTES - 1
        assert not packages.too_large(package)
        package.infolist()[0].file_size = packages.MAX_UNZIPPED_BYTES
        assert packages.too_large(package), "Unzipped size must be *smaller* than the limit"


def test_a_bomb_that_reaches_the_runtime_anyway_is_not_unzipped(tmp_path):
    """CloudFormation's AWS::Lambda::Function doesn't pass the CreateFunction checks here: the
    runtime refuses the package when it would unpack it."""
    folder = tmp_path / "code"
    folder.mkdir()
    with pytest.raises(InvalidZipFileException):
        packages.extract(zip_bomb(), str(folder))
    assert list(folder.iterdir()) == []
