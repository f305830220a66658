"""Where the workbook runs and what it calls things.

One switch, ``WORKBOOK_TARGET``: ``local`` (default) uses the local cloud on 127.0.0.1;
``aws`` uses your AWS account through the standard credential chain (profile, region,
environment). Everything else — the notebooks, the functions — is the same code on both.
"""

from __future__ import annotations

import getpass
import inspect
import json
import os
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

from . import prices

LOCAL_REGION = "us-east-1"

# On AWS, 30 learners share one account's API rate limits: a throttled call (ThrottlingException,
# "Rate exceeded") is retried with exponential backoff and jitter instead of failing the cell.
# Standard mode retries throttling and transient errors; 5 attempts ride out a room's bursts.
AWS_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 5})

# Login names that images give everyone (Binder and Jupyter's images: jovyan; Dev Containers and
# Codespaces: vscode, codespace): a prefix derived from them is the same for every learner.
SHARED_LOGINS = frozenset({"jovyan", "vscode", "codespace"})


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
    """WORKBOOK_PREFIX, or ``wb-<user name>``: the start of every name the workbook creates."""
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
        """One client per service; on AWS with standard retries (see ``AWS_RETRIES``)."""
        if service not in self._clients:
            config = AWS_RETRIES if self.target == "aws" else None
            self._clients[service] = self.session.client(service, config=config)
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
    from . import guard

    guard.install()  # after a failed cell, the cells below it say so in one line
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
        follow_local_cloud_restarts(session, endpoint)
        account = session.client("sts").get_caller_identity()["Account"]
    else:
        check_prefix_is_yours()
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
    if chosen == "local":
        _say_when_the_local_cloud_is_gone()
    _current = book
    return book


def check_prefix_is_yours() -> None:
    """On AWS, refuse a default prefix that every learner of an image would share.

    The default prefix comes from the login name; where an image gives everyone the same one
    (JupyterHub and Binder: ``jovyan``), 30 learners would create and delete each other's
    pipeline. They must set WORKBOOK_PREFIX (a facilitator can set it per user in JupyterHub).
    """
    user = getpass.getuser()
    if not os.environ.get("WORKBOOK_PREFIX") and user in SHARED_LOGINS:
        raise ValueError(
            f"Your login name is {user!r}, as everyone's is on this kind of server, so the default "
            f"prefix {default_prefix()!r} would be shared by everyone using this AWS account. "
            "Set WORKBOOK_PREFIX to a prefix of your own (e.g. wb-yourname) before starting "
            "JupyterLab."
        )


def connection_lost(error: BaseException) -> str | None:
    """One line saying that the local cloud isn't answering and what to run, for an error that
    means it (botocore's EndpointConnectionError on a loopback endpoint); None for any other.
    Once a local cloud runs again for this state directory, the clients follow it on their own
    (``follow_local_cloud_restarts``), and it kept what you created."""
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    if not isinstance(error, EndpointConnectionError | ConnectionClosedError):
        return None
    failed = str(getattr(error, "kwargs", {}).get("endpoint_url", ""))
    host = re.match(r"https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?", failed)
    if target() != "local" or host is None:
        return None
    return (
        f"✗ The local cloud at {host.group(0)} isn't answering: `make stop` stopped it, or it "
        "ended. Start it again — run this notebook's first cell, or `make localcloud` in a "
        "terminal — then run this cell again: it kept what you created."
    )


def _say_when_the_local_cloud_is_gone() -> None:
    """In IPython (a notebook), show ``connection_lost``'s one line instead of a long
    traceback ending in EndpointConnectionError; any other error keeps its traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    def handler(shell, etype, value, tb, tb_offset=None):
        line = connection_lost(value)
        if line is None:
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return None
        shell._showtraceback(etype, value, [line])  # an error output of one line
        return [line]

    shell.set_custom_exc((EndpointConnectionError, ConnectionClosedError), handler)


class _LocalCloudFollower:
    """Keeps a kernel's clients on this state directory's local cloud across its restarts.

    Before each request is signed it looks at the state directory's endpoint.json (a stat; it
    is re-read only when it changed). When another local cloud process runs there — ``make
    stop`` then ``make lab``, or a start after a crash or a reboot, on the same port or another
    — the request goes to it, and the notebook says so in one plain line. The local cloud kept
    its state, and the owner's key is the same, so the call just works."""

    def __init__(self, state_file, endpoint: str):
        self.state_file = state_file
        self.endpoint, self.pid = endpoint.rstrip("/"), None
        self._stamp = None
        recorded = self._recorded()
        if recorded is not None and recorded[0] == self.endpoint:
            self.pid = recorded[1]

    def _recorded(self) -> tuple[str, int | None] | None:
        try:
            info = self.state_file.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            return None
        if stamp == self._stamp:
            return self.endpoint, self.pid
        try:
            recorded = json.loads(self.state_file.read_text())
            endpoint, pid = recorded["endpoint"].rstrip("/"), recorded.get("pid")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # being written: look again at the next call
        self._stamp = stamp
        return endpoint, pid

    def __call__(self, request, **kwargs) -> None:
        global _announced
        recorded = self._recorded()
        if recorded is not None and recorded != (self.endpoint, self.pid):
            self.endpoint, self.pid = recorded
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint
            if _current is not None:
                _current.__dict__.pop("endpoint", None)  # the cached_property
            if _announced != recorded:  # once per restart, whichever client notices it
                _announced = recorded
                print(f"The local cloud restarted; reconnected to {self.endpoint}")
        parts = urlsplit(request.url)
        target = urlsplit(self.endpoint)
        if parts.netloc != target.netloc and _is_loopback(parts.hostname):
            request.url = urlunsplit(parts._replace(scheme=target.scheme, netloc=target.netloc))


_announced: tuple[str, int | None] | None = None  # the local cloud last said to be reconnected to


def _is_loopback(host: str | None) -> bool:
    return host in ("localhost", "::1") or bool(host and host.startswith("127."))


def follow_local_cloud_restarts(session: boto3.Session, endpoint: str) -> None:
    """Make every client of ``session`` follow the local cloud of this state directory when it
    restarts (``_LocalCloudFollower``): a kernel connected across a restart reconnects on its
    next call."""
    from . import localcloud

    global _announced
    follower = _LocalCloudFollower(localcloud.state_dir() / "endpoint.json", endpoint)
    _announced = (follower.endpoint, follower.pid)
    session.events.register("before-sign", follower)


def _display_options() -> None:
    """Show tables whole: log lines and ids are the point, so don't cut columns short."""
    import pandas as pd

    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.width", 120)


def current() -> Workbook:
    return _current or connect(quiet=True)


@dataclass(frozen=True)
class BilledRuns:
    """Pipeline runs a notebook makes, and what each one bills on AWS."""

    notebook: str
    what: str
    times: int
    action_minutes: int  # per run: each action execution is billed in whole minutes, rounded up
    invocations: int  # Lambda invocations per run
    is_release: bool = True


# What one learner runs, notebook by notebook. The pipeline grows: Source and Deploy (01);
# LambdaStage with MyLambdaAction (04), plus a second Lambda action in 04's exercise; a second
# source action and StackStage (06). So a release runs 2 actions in 01, 4 in 05 and 6 in 06.
RUN_THROUGH: tuple[BilledRuns, ...] = (
    BilledRuns("01", "creating the pipeline runs it: Source, Deploy", 1, 2, 0),
    BilledRuns("03", "invoking the function directly (no pipeline)", 1, 0, 4, is_release=False),
    BilledRuns(
        "05",
        "release, break, fix, lock, forget to report, the IAM exercise (denied, restored), "
        "the exercise's two texts, restore: Source, Deploy, two Lambda actions",
        10,
        4,
        2,
    ),
    BilledRuns("05", "the stage retry: the two failed Lambda actions again", 1, 2, 2, False),
    BilledRuns("05", "the function that never reports, until you abandon it", 1, 1, 0, False),
    BilledRuns(
        "06",
        "create, then update the stack: two sources, Deploy, two Lambda actions, and StackStage, "
        "about 2 minutes with its continuations",
        2,
        7,
        5,
    ),
    BilledRuns("06", "the release with no stack updates: six one-minute actions", 1, 6, 3),
)

LAMBDA_MEMORY_GB = 128 / 1024
LAMBDA_BILLED_S = 1.0  # generous: a health check bills ~0.1-0.5 s, with Init on a cold start


@dataclass(frozen=True)
class CostEstimate:
    """What ``learners`` working through the workbook once cost together on AWS."""

    learners: int
    releases: int
    action_minutes: int
    invocations: int
    codepipeline_usd: float  # after the account's free minutes
    codepipeline_before_free_usd: float
    lambda_usd: float

    @property
    def per_learner_usd(self) -> float:
        return (self.codepipeline_usd + self.lambda_usd) / self.learners


def estimate(learners: int = 1, runs: tuple[BilledRuns, ...] = RUN_THROUGH) -> CostEstimate:
    """The run-through's cost on a V2 pipeline for ``learners`` sharing one account and month:
    action minutes at the published price, less the account's free minutes; Lambda per GB-s and
    per request. S3, CloudWatch Logs and CloudFormation cost well under a cent and are left out."""
    minutes = sum(r.times * r.action_minutes for r in runs) * learners
    invocations = sum(r.times * r.invocations for r in runs) * learners
    releases = sum(r.times for r in runs if r.is_release) * learners
    billable = max(0, minutes - prices.CODEPIPELINE_V2_FREE_MINUTES)
    lambda_usd = invocations * (
        LAMBDA_BILLED_S * LAMBDA_MEMORY_GB * prices.LAMBDA_GB_SECOND["x86_64"]
        + prices.LAMBDA_PER_MILLION_REQUESTS / 1e6
    )
    return CostEstimate(
        learners=learners,
        releases=releases,
        action_minutes=minutes,
        invocations=invocations,
        codepipeline_usd=billable * prices.CODEPIPELINE_V2_ACTION_MINUTE,
        codepipeline_before_free_usd=minutes * prices.CODEPIPELINE_V2_ACTION_MINUTE,
        lambda_usd=lambda_usd,
    )


def cost_estimate(room: int = 30) -> str:
    """What working through the workbook once costs on AWS, alone and as a room sharing one
    account (us-east-1 prices, from ``helpers.prices``)."""
    one, many = estimate(1), estimate(room)
    minute = prices.CODEPIPELINE_V2_ACTION_MINUTE
    free = prices.CODEPIPELINE_V2_FREE_MINUTES
    return "\n".join(
        [
            f"Estimated cost of one run through the workbook on AWS ({prices.REGION} prices of "
            f"{prices.AS_OF}):",
            f"- CodePipeline V2: {one.releases} releases, "
            f"{one.action_minutes} action-execution minutes (each action rounded up to a "
            f"minute) at ${minute} per action-execution minute = "
            f"${one.codepipeline_before_free_usd:.2f}; each account has {free} free minutes "
            f"a month, so alone in an account: ${one.codepipeline_usd:.2f}.",
            f"- Lambda: about {one.invocations} invocations (128 MB, ~1 s each): "
            f"${one.lambda_usd:.4f}. S3, CloudWatch Logs and CloudFormation: well under $0.01.",
            f"- A room of {room} in one account: {many.action_minutes} minutes, "
            f"${many.codepipeline_usd:.2f} in all (${many.per_learner_usd:.2f} each): the free "
            "minutes cover about one learner, not a room.",
            f"A V1 pipeline would be free for its first {prices.CODEPIPELINE_V1_FREE_DAYS} days "
            f"(then ${prices.CODEPIPELINE_V1_PIPELINE_MONTH:.0f} per active month); the "
            "workbook's is V2, the console's default.",
        ]
    )


def show_source(obj, title: str | None = None) -> None:
    """Display the real source of a helper or function, so notebooks never copy code; a
    ``title`` (Markdown) above it says whose code it is when two versions are shown."""
    from IPython.display import Markdown, display

    source = inspect.getsource(obj) if not isinstance(obj, str) else obj
    heading = f"{title}\n\n" if title else ""
    display(Markdown(f"{heading}```python\n{source.rstrip()}\n```"))


def print_log(log: str | list[dict]) -> None:
    """Print a log tail or log events; a multi-line event (a traceback) is one CloudWatch event
    with its lines joined by carriage returns, as Lambda's Python runtime writes it."""
    lines = log if isinstance(log, str) else "\n".join(e["message"] for e in log)
    print(lines.replace("\r", "\n").rstrip("\n"))


def checkpoint(ok: bool, message: str, cause: str | None = None) -> None:
    """Print a plain ✓ line, or raise with what is wrong and, where the caller knows it, why
    (``cause``: what was found instead — which release, which invocation, what it said)."""
    if not ok:
        raise AssertionError(f"✗ {message}" + (f"\n  {cause}" if cause else ""))
    print(f"✓ {message}")
