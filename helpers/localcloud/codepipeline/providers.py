"""The action providers the local cloud runs: S3 source, S3 deploy and Lambda invoke.

Each gets its action run and the action's configuration with every variable resolved, does the
provider's work with the pipeline's service role (``services.require`` checks its policies) and
records what AWS shows of it: summary, external execution id and links, output variables.
A failure is ``ActionFailed``: it becomes the action's errorDetails.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from .. import arns, backends
from ..backends import ArtifactError
from ..errors import AwsError
from .executions import ActionRun
from .jobs import NO_RESULT_MESSAGE, Job, JobBoard

REVISION_SUMMARY_METADATA = "x-amz-meta-codepipeline-artifact-revision-summary"
MAX_ACTION_DURATION = timedelta(hours=24)  # a Lambda action's total, continuations included
AWS_JOB_TIMEOUT = timedelta(minutes=20)  # a job without a result times out (CodePipeline quotas)
# CodePipeline contacts a continuing function again "periodically" and publishes no interval.
# The local cloud waits this long between a continuation and the next job
# (LOCALCLOUD_CONTINUATION_DELAY_S), so a function that continues for ever costs a laptop a
# warm invocation every few seconds, not a core.
DEFAULT_CONTINUATION_DELAY_S = 2.0
CONSOLE = "https://console.aws.amazon.com"
LOG_SLACK_MS = 10_000  # log events may be stamped a little before the job opened
# The most an S3 deploy action with Extract unzips: AWS publishes no such quota (only 5 GB for
# an S3 source artifact), but the local cloud keeps objects in memory, so a zip bomb (a small
# artifact that declares gigabytes) is refused from its central directory before anything is
# written.
MAX_EXTRACTED_BYTES = 1024**3


class ActionFailed(Exception):
    """An action's failure, shown as its errorDetails."""

    def __init__(self, message: str, code: str = "JobFailed", external_id: str | None = None):
        super().__init__(message)
        self.message, self.code, self.external_id = message, code, external_id


@dataclass
class ActionServices:
    """What providers use of the engine."""

    region: str
    account_id: str
    runtime: Any  # invoke_async(region, function, payload) -> request id
    jobs: JobBoard
    job_timeout_s: float
    lock: threading.RLock
    require: Callable[[ActionRun, str, str], None]  # (run, IAM action, resource ARN)
    artifact_credentials: Callable[[ActionRun], dict]

    @property
    def continuation_delay_s(self) -> float:
        value = os.environ.get("LOCALCLOUD_CONTINUATION_DELAY_S", "").strip()
        return float(value) if value else DEFAULT_CONTINUATION_DELAY_S

    @property
    def max_action_s(self) -> float:
        """24 hours, scaled as the job time-out is (72 minutes beside its 60 s), unless
        LOCALCLOUD_MAX_ACTION_S says otherwise."""
        value = os.environ.get("LOCALCLOUD_MAX_ACTION_S", "").strip()
        if value:
            return float(value)
        return self.job_timeout_s * (MAX_ACTION_DURATION / AWS_JOB_TIMEOUT)


def artifact_key_id(run: ActionRun) -> str | None:
    """The KMS key of the artifact store the run's artifacts go to, if it declares one."""
    declaration = run.execution.declaration
    store = declaration.get("artifactStore") or (declaration.get("artifactStores") or {}).get(
        run.region
    )
    return ((store or {}).get("encryptionKey") or {}).get("id")


class S3Source:
    """Copies the latest version of the object into the artifact store (versioned bucket)."""

    kind = ("Source", "AWS", "S3")

    def __init__(self, services: ActionServices):
        self.services = services

    def entity_url(self, configuration: dict) -> str:
        return f"{CONSOLE}/s3/home?#"

    def run(self, run: ActionRun, config: dict) -> None:
        bucket, key = config["S3Bucket"], config["S3ObjectKey"]
        require = self.services.require
        for action in ("s3:GetObject", "s3:GetObjectVersion"):
            require(run, action, arns.s3_arn(bucket, key))
        require(run, "s3:GetBucketVersioning", arns.s3_arn(bucket))
        try:
            if not backends.versioning_enabled(bucket):
                raise ActionFailed(
                    f"Bucket {bucket} is not versioned: an S3 source action needs a bucket "
                    "with versioning enabled.",
                    "ConfigurationError",
                )
            source = backends.read_object(bucket, key)
            for artifact in run.outputs:
                backends.write_object(
                    artifact.bucket,
                    artifact.key,
                    source.body,
                    "application/zip",
                    kms_key_id=artifact_key_id(run),
                )
                artifact.revision = source.version_id
        except ArtifactError as error:
            raise ActionFailed(str(error), "RevisionUnavailable") from error
        summary = f"Amazon S3 version id: {source.version_id}"
        with self.services.lock:
            run.execution.revisions.append(
                {
                    "name": run.outputs[0].name if run.outputs else run.name,
                    "actionName": run.name,
                    "revisionId": source.version_id,
                    "revisionSummary": source.metadata.get(REVISION_SUMMARY_METADATA, summary),
                    "created": source.last_modified,
                }
            )
            run.touch(
                summary=summary,
                external_id=source.version_id,
                output_variables={"ETag": source.etag, "VersionId": source.version_id},
            )


class S3Deploy:
    """Writes the input artifact (or, with Extract, its files) into a bucket, with the
    configuration's CacheControl, CannedACL and KMSEncryptionKeyARN."""

    kind = ("Deploy", "AWS", "S3")

    def __init__(self, services: ActionServices):
        self.services = services

    def entity_url(self, configuration: dict) -> str:
        return f"{CONSOLE}/s3/home?#"

    def run(self, run: ActionRun, config: dict) -> None:
        bucket = config["BucketName"]
        extract = str(config.get("Extract", "false")).lower() == "true"
        object_key = config.get("ObjectKey", "")
        target = object_key.strip("/")
        written = arns.s3_arn(bucket, target if not extract else f"{target}*")
        self.services.require(run, "s3:PutObject", written)
        if config.get("CannedACL"):
            self.services.require(run, "s3:PutObjectAcl", written)
        options = {
            "cache_control": config.get("CacheControl"),
            "canned_acl": config.get("CannedACL"),
            "kms_key_id": config.get("KMSEncryptionKeyARN"),
        }
        (artifact_in,) = run.inputs
        try:
            artifact = backends.read_object(artifact_in.bucket, artifact_in.key)
            if not extract:
                backends.write_object(bucket, object_key, artifact.body, **options)
                deployed = 1
            else:
                deployed = self._extract(artifact.body, artifact_in.name, bucket, target, options)
        except ArtifactError as error:
            raise ActionFailed(str(error), "JobFailed") from error
        run.touch(summary=f"Deployed {deployed} object(s) to s3://{bucket}/{object_key}")

    @staticmethod
    def _extract(body: bytes, name: str, bucket: str, prefix: str, options: dict) -> int:
        try:
            package = zipfile.ZipFile(io.BytesIO(body))
        except zipfile.BadZipFile as error:
            raise ActionFailed(
                f"The input artifact {name} is not a zip file, so it can't be extracted",
                "JobFailed",
            ) from error
        deployed = 0
        with package:
            files = [info for info in package.infolist() if not info.is_dir()]
            size = sum(info.file_size for info in files)  # as declared: nothing unzipped yet
            if size > MAX_EXTRACTED_BYTES:
                raise ActionFailed(
                    f"The input artifact {name} unzips to {size} bytes, more than the "
                    f"{MAX_EXTRACTED_BYTES} bytes the local cloud extracts in an S3 deploy "
                    "action. Deploy it without Extract, or in smaller artifacts.",
                    "JobFailed",
                )
            for info in files:
                target = f"{prefix}/{info.filename}" if prefix else info.filename
                try:
                    body = package.read(info)
                except (zipfile.BadZipFile, EOFError, ValueError) as error:
                    raise ActionFailed(
                        f"The input artifact {name} is a damaged zip file: {info.filename} "
                        f"can't be extracted ({error})",
                        "JobFailed",
                    ) from error
                backends.write_object(bucket, target, body, **options)
                deployed += 1
        return deployed


class LambdaInvoke:
    """Invokes the function asynchronously with a job; the job's result ends the action, or
    a continuation token asks for another job (24 hours in all)."""

    kind = ("Invoke", "AWS", "Lambda")

    def __init__(self, services: ActionServices):
        self.services = services

    def entity_url(self, configuration: dict) -> str:
        name = function_name(configuration.get("FunctionName", ""))
        return f"{CONSOLE}/lambda/home?region={self.services.region}#/functions/{quote(name)}"

    def run(self, run: ActionRun, config: dict) -> None:
        services = self.services
        function = config["FunctionName"]
        services.require(
            run,
            "lambda:InvokeFunction",
            arns.function_arn(services.region, services.account_id, function),
        )
        token: str | None = None
        reported_id: str | None = None  # the externalExecutionId the function last reported
        started = time.monotonic()
        while True:
            with services.lock:
                if run.status != "InProgress":
                    return
            job = services.jobs.open(run, function, token)
            payload = json.dumps(self._event(job, config)).encode()
            try:
                job.request_id = services.runtime.invoke_async(services.region, function, payload)
            except AwsError as error:  # no such function, or a runtime the local cloud can't run
                services.jobs.end(job, "Failed")
                raise ActionFailed(error.message, "ConfigurationError") from error
            with services.lock:
                run.touch(external_id=reported_id or job.request_id)
            reported = job.done.wait(services.job_timeout_s)
            self._link_logs(run, job)
            if not reported and services.jobs.end(job, "TimedOut"):
                raise ActionFailed(NO_RESULT_MESSAGE.format(name=function))
            with services.lock:
                if job.status == "Abandoned" or run.status != "InProgress":
                    return
                if job.failure is not None:
                    failure = job.failure
                    raise ActionFailed(
                        failure["message"],
                        failure["type"],
                        failure.get("externalExecutionId") or reported_id or job.request_id,
                    )
                details = job.success["executionDetails"]
                reported_id = details.get("externalExecutionId") or reported_id
                run.touch(
                    summary=details.get("summary", run.summary),
                    external_id=reported_id or job.request_id,
                    percent_complete=details.get("percentComplete", run.percent_complete),
                )
                token = job.success["continuationToken"]
                if not token:
                    run.output_variables = job.success["outputVariables"]
                    return
            limit = services.max_action_s
            if time.monotonic() - started + services.continuation_delay_s > limit:
                raise ActionFailed(
                    f"The AWS Lambda function {function} did not finish within 24 hours, the "
                    "most an AWS Lambda invoke action may run, continuations included "
                    f"(on the local cloud: {_duration(limit)}). Make the function report "
                    "success or failure without a continuation token sooner."
                )
            if not self._pause(run, services.continuation_delay_s):
                return

    def _pause(self, run: ActionRun, seconds: float) -> bool:
        """Wait before the next job of a continuing action; False if the action ended
        meanwhile (stopped, or its execution superseded)."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            time.sleep(min(left, 0.25))
            with self.services.lock:
                if run.status != "InProgress":
                    return False
        return True

    def _event(self, job: Job, config: dict) -> dict:
        """The event the function gets (the page's "Example JSON event")."""
        run = job.action
        data: dict[str, Any] = {
            "actionConfiguration": {
                "configuration": {
                    k: v for k, v in config.items() if k in ("FunctionName", "UserParameters")
                }
            },
            "inputArtifacts": [
                {"name": a.name, "revision": a.revision, "location": a.location()}
                for a in run.inputs
            ],
            "outputArtifacts": [
                {"name": a.name, "revision": None, "location": a.location()} for a in run.outputs
            ],
            "artifactCredentials": self.services.artifact_credentials(run),
        }
        if job.continuation_token:
            data["continuationToken"] = job.continuation_token
        store = run.execution.declaration.get("artifactStore") or {}
        if store.get("encryptionKey"):
            data["encryptionKey"] = store["encryptionKey"]
        job.data = data
        return {
            "CodePipeline.job": {"id": job.id, "accountId": self.services.account_id, "data": data}
        }

    def _link_logs(self, run: ActionRun, job: Job) -> None:
        """The Details link: the CloudWatch log stream the job's invocation wrote to."""
        name = function_name(job.function_name)
        group = f"/aws/lambda/{name}"
        stream = invocation_log_stream(self.services.region, group, job)
        if stream is None:
            return
        url = (
            f"{CONSOLE}/cloudwatch/home?region={self.services.region}#logEventViewer:"
            f"group={group};stream={quote(stream, safe='/$')}"
        )
        with self.services.lock:
            run.touch(external_url=url)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


def function_name(reference: str) -> str:
    """A function's name from its name, partial ARN or ARN (the log group is named after it)."""
    if ":function:" in reference:
        return reference.split(":function:", 1)[1].split(":", 1)[0]
    return reference


def invocation_log_stream(region: str, group_name: str, job: Job) -> str | None:
    """The stream where the job's invocation wrote ``START RequestId: <id>``, if any (a role
    without logging permissions leaves none). Only events since the job opened are read."""
    if job.request_id is None:
        return None
    group = backends.logs(region).groups.get(group_name)
    if group is None:
        return None
    start = f"START RequestId: {job.request_id} "
    since_ms = int(job.created.timestamp() * 1000) - LOG_SLACK_MS
    for stream in list(group.streams.values()):
        events = stream.events
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if event.timestamp < since_ms:
                break
            if event.message.startswith(start):
                return stream.log_stream_name
    return None


PROVIDERS = (S3Source, S3Deploy, LambdaInvoke)
