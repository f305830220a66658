"""Where the workbook runs and what it calls things.

One switch, ``WORKBOOK_TARGET``: ``local`` (default) uses the local cloud on 127.0.0.1;
``aws`` uses your AWS account through the standard credential chain (profile, region,
environment). Everything else — the notebooks, the functions — is the same code on both.
"""

from __future__ import annotations

import getpass
import inspect
import os
import re
from dataclasses import dataclass
from functools import cached_property

import boto3

LOCAL_REGION = "us-east-1"

# us-east-1 prices (2026), from the AWS pricing pages.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_MILLION_REQUESTS = 0.20
CODEPIPELINE_V2_ACTION_MINUTE = 0.002
CODEPIPELINE_V1_PIPELINE_MONTH = 1.00


class NotConfirmed(RuntimeError):
    """Raised before anything is created on AWS without WORKBOOK_CONFIRM=yes."""


def target() -> str:
    value = os.environ.get("WORKBOOK_TARGET", "local").strip().lower()
    if value not in ("local", "aws"):
        raise ValueError(f"WORKBOOK_TARGET must be 'local' or 'aws', not {value!r}")
    return value


def default_prefix() -> str:
    """``wb-<user name>``, so 30 people can share one account without name clashes."""
    user = re.sub(r"[^a-z0-9]", "", getpass.getuser().lower())[:12] or "learner"
    return f"wb-{user}"


def prefix() -> str:
    value = os.environ.get("WORKBOOK_PREFIX") or default_prefix()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,19}", value):
        raise ValueError(
            "WORKBOOK_PREFIX must be 1-20 characters of lower-case letters, digits and '-' "
            f"(it becomes part of S3 bucket names); got {value!r}"
        )
    return value


@dataclass(frozen=True)
class Names:
    """Every resource name the workbook uses, derived from prefix, account and region."""

    prefix: str
    account: str
    region: str

    @property
    def _suffix(self) -> str:
        return f"{self.account}-{self.region}"

    # S3 bucket names are global on AWS: account and region keep them unique.
    @property
    def source_bucket(self) -> str:
        return f"{self.prefix}-source-{self._suffix}"

    @property
    def artifact_bucket(self) -> str:
        return f"{self.prefix}-artifacts-{self._suffix}"

    @property
    def site_bucket(self) -> str:
        return f"{self.prefix}-site-{self._suffix}"

    site_key = "SampleApp.zip"
    template_key = "template-package.zip"

    @property
    def pipeline_role(self) -> str:
        return f"{self.prefix}-CodePipelineServiceRole"

    @property
    def pipeline(self) -> str:
        return f"{self.prefix}-MyLambdaTestPipeline"

    @property
    def lambda_role(self) -> str:
        return f"{self.prefix}-CodePipelineLambdaExecRole"

    @property
    def lambda_policy(self) -> str:
        return f"{self.prefix}-CodePipelineLambdaExecPolicy"

    @property
    def health_function(self) -> str:
        return f"{self.prefix}-MyLambdaFunctionForAWSCodePipeline"

    @property
    def deployer_function(self) -> str:
        return f"{self.prefix}-StackDeployer"

    @property
    def stack(self) -> str:
        return f"{self.prefix}-MyTestStack"


class Workbook:
    """A connection to the target: clients, names, the site's URL."""

    def __init__(self, session: boto3.Session, account: str, target_name: str):
        self.session = session
        self.account = account
        self.target = target_name
        self.region = session.region_name
        self.names = Names(prefix(), account, self.region)
        self._clients: dict[str, object] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    @cached_property
    def endpoint(self) -> str | None:
        """The endpoint every client uses when one is set (the local cloud), else None."""
        return os.environ.get("AWS_ENDPOINT_URL") or None

    def site_url(self, key: str = "index.html") -> str:
        """The public URL of the deployed sample site: the one thing that differs by target.

        On AWS it is the bucket's virtual-hosted S3 URL; where a custom endpoint is set (the
        local cloud) it is the path-style URL on that endpoint.
        """
        bucket = self.names.site_bucket
        if self.endpoint:
            return f"{self.endpoint.rstrip('/')}/{bucket}/{key}"
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}"

    def describe(self) -> str:
        where = "the local cloud" if self.target == "local" else "AWS"
        return (
            f"target: {self.target} ({where}), account {self.account}, region {self.region}, "
            f"prefix {self.names.prefix}"
        )


_current: Workbook | None = None


def connect(quiet: bool = False) -> Workbook:
    """Connect to the target once per kernel: start or reuse the local cloud, or check AWS.

    On AWS it prints account, region and a cost estimate, and refuses to go on unless
    WORKBOOK_CONFIRM=yes is set (notebooks can't answer a prompt, and neither can a workshop
    of 30 people at once).
    """
    global _current
    chosen = target()
    if chosen == "local":
        from . import localcloud

        endpoint = localcloud.ensure_running()
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        # The local cloud serves only whoever holds its credentials: its owner's key, kept in
        # .localcloud/credentials (profile [localcloud]), readable by you alone.
        owner = localcloud.owner_credentials()
        session = boto3.Session(
            aws_access_key_id=owner.access_key_id,
            aws_secret_access_key=owner.secret_access_key,
            region_name=LOCAL_REGION,
        )
        os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)
        account = session.client("sts").get_caller_identity()["Account"]
    else:
        session = boto3.Session()
        if not session.region_name:
            raise RuntimeError(
                "No AWS region is configured: set AWS_REGION or a region in your profile."
            )
        account = session.client("sts").get_caller_identity()["Account"]
    book = Workbook(session, account, chosen)
    if chosen == "aws":
        print(book.describe())
        print(cost_estimate())
        if os.environ.get("WORKBOOK_CONFIRM", "").lower() != "yes":
            raise NotConfirmed(
                "This will create resources in your AWS account and may cost money (see the "
                "estimate above). Set WORKBOOK_CONFIRM=yes before starting JupyterLab to go on."
            )
    elif not quiet:
        print(f"✓ Connected: {book.describe()}")
    _display_options()
    _current = book
    return book


def _display_options() -> None:
    """Show tables whole: log lines and ids are the point, so don't cut columns short."""
    import pandas as pd

    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.width", 120)


def current() -> Workbook:
    return _current or connect(quiet=True)


def cost_estimate(releases: int = 12, actions_per_release: int = 3) -> str:
    """What working through the workbook once costs on AWS, roughly (us-east-1 prices)."""
    invocations = releases * 4
    lambda_cost = invocations * 1.0 * 0.128 * LAMBDA_GB_SECOND + (
        invocations / 1e6 * LAMBDA_PER_MILLION_REQUESTS
    )
    # V2 bills each action execution by the minute, rounded up.
    pipeline_cost = releases * actions_per_release * CODEPIPELINE_V2_ACTION_MINUTE
    return (
        f"Estimated cost of one run through the workbook ({releases} releases): "
        f"CodePipeline V2 ${pipeline_cost:.2f} ($0.002 per action-execution minute), "
        f"Lambda ${lambda_cost:.4f} (128 MB, ~1 s per invocation), S3 and CloudFormation "
        "well under $0.01. A V1 pipeline would instead cost $1 per active month."
    )


def show_source(obj) -> None:
    """Display the real source of a helper or function, so notebooks never copy code."""
    from IPython.display import Markdown, display

    source = inspect.getsource(obj) if not isinstance(obj, str) else obj
    display(Markdown(f"```python\n{source.rstrip()}\n```"))


def print_log(log: str | list[dict]) -> None:
    """Print a log tail or log events; a multi-line event (a traceback) is one CloudWatch event
    with its lines joined by carriage returns, as Lambda's Python runtime writes it."""
    lines = log if isinstance(log, str) else "\n".join(e["message"] for e in log)
    print(lines.replace("\r", "\n").rstrip("\n"))


def checkpoint(ok: bool, message: str) -> None:
    """Print a plain ✓ line, or raise with what is wrong."""
    if not ok:
        raise AssertionError(f"✗ {message}")
    print(f"✓ {message}")
