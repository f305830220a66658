"""In-process access to moto's backends: the state our engine and runtime read and write.

The local cloud runs moto in the same process, so the pipeline engine and the Lambda runtime
read function code, pipeline definitions and S3 objects straight from moto's models instead of
calling themselves over HTTP.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field

from moto.awslambda.models import lambda_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.logs.models import logs_backends
from moto.s3.exceptions import MissingBucket
from moto.s3.models import get_canned_acl, s3_backends

ACCOUNT_ID = DEFAULT_ACCOUNT_ID  # moto's account: 123456789012


def on_change(unit: str, now: bool = False) -> None:
    """Called when the local cloud itself changes its state, outside any request (a pipeline
    writes artifacts, Lambda writes logs, an execution ends): the server points it at its
    persistence, which writes the change within a fraction of a second — or, ``now``, before
    returning."""


def s3(account_id: str = ACCOUNT_ID):
    return s3_backends[account_id]["aws"]


def awslambda(region: str, account_id: str = ACCOUNT_ID):
    return lambda_backends[account_id][region]


def logs(region: str, account_id: str = ACCOUNT_ID):
    return logs_backends[account_id][region]


@dataclass
class S3Object:
    bucket: str
    key: str
    body: bytes
    version_id: str | None
    etag: str
    last_modified: object  # datetime
    metadata: dict = field(default_factory=dict)  # lower-case names: content-type, x-amz-meta-…


class ArtifactError(Exception):
    """An S3 problem an action reports as its failure message."""


def read_object(bucket: str, key: str) -> S3Object:
    """The latest version of an object, or ArtifactError with S3's wording."""
    backend = s3()
    try:
        backend.get_bucket(bucket)
    except MissingBucket as err:
        raise ArtifactError(f"The bucket named {bucket} does not exist.") from err
    obj = backend.get_object(bucket, key)
    if obj is None:
        raise ArtifactError(f"The object with key {key} does not exist in bucket {bucket}.")
    version = obj.version_id if obj.version_id not in (None, "null") else None
    metadata = {name.lower(): value for name, value in obj.metadata.items()}
    return S3Object(
        bucket, key, obj.value, version, obj.etag.strip('"'), obj.last_modified, metadata
    )


def latest_revision(bucket: str, key: str) -> str | None:
    """What identifies an object's latest version, without reading its body: its version id
    (in an unversioned bucket, its last-modified time); None if there is no such object."""
    try:
        obj = s3().get_object(bucket, key)
    except MissingBucket:
        return None
    if obj is None:
        return None
    if obj.version_id not in (None, "null"):
        return str(obj.version_id)
    return f"null@{obj.last_modified.isoformat()}"


def versioning_enabled(bucket: str) -> bool:
    try:
        return s3().get_bucket_versioning(bucket) == "Enabled"
    except MissingBucket as err:
        raise ArtifactError(f"The bucket named {bucket} does not exist.") from err


def write_object(
    bucket: str,
    key: str,
    body: bytes,
    content_type: str | None = None,
    *,
    cache_control: str | None = None,
    canned_acl: str | None = None,
    kms_key_id: str | None = None,
) -> None:
    """PutObject as a pipeline does it: a Cache-Control header, a canned ACL and SSE-KMS with
    ``kms_key_id`` if given."""
    backend = s3()
    try:
        backend.get_bucket(bucket)
    except MissingBucket as err:
        raise ArtifactError(f"The bucket named {bucket} does not exist.") from err
    encryption = "aws:kms" if kms_key_id else None
    obj = backend.put_object(bucket, key, body, encryption=encryption, kms_key_id=kms_key_id)
    guessed = content_type or mimetypes.guess_type(key)[0] or "binary/octet-stream"
    metadata = {"Content-Type": guessed}
    if cache_control:
        metadata["Cache-Control"] = cache_control
    obj.set_metadata(metadata)
    if canned_acl:
        obj.set_acl(get_canned_acl(canned_acl))
    on_change("s3")
