"""Where the workbook runs and what it calls things.

One switch, ``WORKBOOK_TARGET``: ``local`` (default) uses the local cloud on 127.0.0.1;
``aws`` uses your AWS account through the standard credential chain (profile, region,
environment). Everything else — the notebooks, the functions — is the same code on both.
"""

from __future__ import annotations

import getpass
import inspect
import json
import math
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
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


# -- How long the workbook takes ------------------------------------------------------------
# One table of times, shown in notebook 00 (`plan_table`), contents.md, the README and the
# facilitator's guide; tests/test_plan.py checks that each of them, and each notebook's "Time to
# learn", says what this table says. A part's minutes are its reading, its exercises and its
# cells' running time, rounded to 5 minutes:
# - reading: prose at 200 words a minute, code at 100 (it is read more slowly), hidden solutions
#   and the navigation lines left out (`measure_reading`, which tests/test_plan.py re-runs on
#   the notebooks as they are now);
# - 5 minutes per exercise;
# - running: the seconds its cells took on a fresh local cloud, 00 -> 08 in order, on a 2-core
#   Linux machine (`tools/time_notebooks.py`; 05 waits 60 s for its job time-out, 03's Node.js
#   section runs npm, which fetches about 100 MB the first time: 2 minutes allowed for it).
PROSE_WORDS_PER_MINUTE = 200
CODE_WORDS_PER_MINUTE = 100
EXERCISE_MINUTES = 5
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@dataclass(frozen=True)
class Part:
    """A notebook, or an optional section of one, in the time plan."""

    notebook: str  # "03"
    title: str
    reading: float  # minutes, as measure_reading() found them
    exercises: int
    running: float  # minutes its cells take on the local cloud, measured
    on_aws: int  # minutes more on AWS: waiting for releases, stacks and logs
    checkpoint: str  # what everyone has done at its end: the agenda's checkpoint
    optional: bool = False
    section: str | None = None  # the heading of an optional section; None: the notebook

    @property
    def minutes(self) -> int:
        exact = self.reading + self.exercises * EXERCISE_MINUTES + self.running
        return max(5, 5 * math.floor(exact / 5 + 0.5))  # to the nearest 5, halves up

    @property
    def minutes_on_aws(self) -> int:
        return self.minutes + self.on_aws

    @property
    def name(self) -> str:
        return f"{self.notebook} {self.title}"


NODE_SECTION = "Optional: the page's own Node.js function"

PLAN: tuple[Part, ...] = (
    Part("00", "Welcome and set-up", 14.7, 0, 0.1, 0, "the environment check all ✓"),
    Part(
        "01", "Create the pipeline", 13.1, 0, 0.1, 5, "the first release Succeeded: the site is up"
    ),
    Part("02", "Execution role", 10.1, 1, 0.0, 0, "the function's role; the reporting statement ✓"),
    Part(
        "03",
        "Health-check function",
        19.9,
        1,
        0.1,
        5,
        "the function invoked by hand: the check passed, the report JobNotFoundException",
    ),
    Part(
        "03",
        "Health-check function: the page's Node.js sample",
        7.2,
        0,
        2.0,
        0,
        "the page's Node.js sample, as printed and bundled",
        optional=True,
        section=NODE_SECTION,
    ),
    Part("04", "Add the Lambda action", 8.0, 1, 0.0, 0, "LambdaStage in the pipeline"),
    Part(
        "05",
        "Release and watch",
        24.1,
        2,
        1.4,
        30,
        "a release passed, one failed on a broken page, a retry and an abandon",
    ),
    Part("06", "CloudFormation function", 22.4, 1, 0.4, 15, "the stack, created and updated"),
    Part(
        "07",
        "Execution timings",
        35.8,
        2,
        1.3,
        25,
        "the batch's tables: p50/p90 per stage, cold starts, cost per release",
        optional=True,
    ),
    Part("08", "Clean up", 9.4, 1, 0.1, 5, "nothing of the workbook left"),
)


def measure_reading(notebook: str, section: str | None = None) -> tuple[float, int]:
    """Minutes to read a notebook (prose at PROSE_WORDS_PER_MINUTE, code at
    CODE_WORDS_PER_MINUTE) and how many exercises it has: of its ``section`` (a ``##``
    heading starting "Optional"), or of the rest of it with ``section=None``. Hidden solutions
    (``<details>``) and the navigation lines aren't read."""
    import nbformat

    (path,) = NOTEBOOKS.glob(f"{notebook}_*.ipynb")
    cells = nbformat.read(path, as_version=4).cells[1:-1]  # the navigation, first and last
    prose = code = exercises = 0
    heading = None
    for cell in cells:
        first = cell.source.split("\n", 1)[0]
        if cell.cell_type == "markdown" and first.startswith("## "):
            heading = first[3:]
        optional = heading is not None and heading.startswith("Optional")
        if (heading if optional else None) != section:
            continue
        if cell.cell_type == "markdown":
            if "<details>" in cell.source:
                continue
            prose += len(cell.source.split())
            exercises += sum(line.startswith("## Exercise") for line in cell.source.splitlines())
        else:
            code += len(cell.source.split())
    minutes = prose / PROSE_WORDS_PER_MINUTE + code / CODE_WORDS_PER_MINUTE
    return round(minutes, 1), exercises


def plan_minutes(optional: bool = False, aws: bool = False) -> int:
    """The plan's minutes in all: without the optional parts, or with them."""
    return sum(p.minutes_on_aws if aws else p.minutes for p in PLAN if optional or not p.optional)


def notebook_minutes(notebook: str) -> tuple[int, int]:
    """A notebook's minutes: (its own parts, its optional parts)."""
    parts = [p for p in PLAN if p.notebook == notebook]
    main = sum(p.minutes for p in parts if p.section is None)
    extra = sum(p.minutes for p in parts if p.section is not None)
    return main, extra


def plan_table():
    """The time plan as a table: minutes on the local cloud and on AWS, optional parts marked."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "notebook": p.notebook,
                "what": p.title,
                "minutes": p.minutes,
                "on AWS": p.minutes_on_aws,
                "optional": "optional" if p.optional else "",
            }
            for p in PLAN
        ]
    ).set_index("notebook")


@dataclass(frozen=True)
class Slot:
    """One line of a workshop's agenda: from, to, what, and what everyone has done by then."""

    start: str
    end: str
    what: str
    minutes: int
    checkpoint: str


def agenda(
    start: str = "09:00", break_after: str = "03", break_minutes: int = 15, aws: bool = False
) -> list[Slot]:
    """A workshop's agenda from PLAN: the parts that aren't optional, in order, one break; the
    optional parts are the stretch goals of those who are ahead."""
    hours, minutes = map(int, start.split(":"))
    now = hours * 60 + minutes
    slots = []

    def add(what: str, length: int, checkpoint: str) -> None:
        nonlocal now
        slots.append(Slot(_clock(now), _clock(now + length), what, length, checkpoint))
        now += length

    for part in PLAN:
        if part.optional:
            continue
        add(part.name, part.minutes_on_aws if aws else part.minutes, part.checkpoint)
        if part.notebook == break_after:
            add("break", break_minutes, "")
    return slots


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# -- What it costs on AWS -------------------------------------------------------------------
@dataclass(frozen=True)
class BilledRuns:
    """Pipeline runs or Lambda invocations a notebook makes on AWS, and what each bills."""

    notebook: str
    what: str
    times: int
    action_minutes: int  # per run: each action execution is billed in whole minutes, rounded up
    invocations: int  # Lambda invocations per run
    is_release: bool = True
    memory_mb: int = 128
    billed_s: float = 1.0  # per invocation; generous: a health check bills ~0.1-0.5 s
    optional: bool = False  # in an optional part of the plan (03's Node.js section, 07)


# What one learner runs on AWS, notebook by notebook; 00, 02, 04 and 08 start no release and
# invoke nothing (tests/test_plan.py checks 04's and 08's code for releases). The pipeline grows:
# Source and Deploy (01); LambdaStage with MyLambdaAction (04), plus a second Lambda action in
# 04's exercise; a second source action and StackStage (06). So a release runs 2 actions in 01,
# 4 in 05 and 6 in 06 and 07. 07's counts are those its cells use on AWS (tests/test_plan.py
# reads them from the notebook): a batch of 5 releases, of which two update the stack.
# Assumptions where AWS publishes no figure: an abandoned action is billed until it is
# abandoned, a minute or two after it started; a StackStage that creates or updates the stack
# takes about 2 minutes with its continuations.
SWEEP_BILLED_S = {128: 1.8, 256: 1.0, 512: 0.5, 1024: 0.3, 1769: 0.2}  # rounded up from the
# example AWS sweep (data/timings/aws_memory_sweep.csv): busy-work's fixed CPU work takes about
# the same GB-seconds at every size
RUN_THROUGH: tuple[BilledRuns, ...] = (
    BilledRuns("01", "creating the pipeline runs it: Source, Deploy", 1, 2, 0),
    BilledRuns(
        "03",
        "invoking the function by hand: three synchronous invocations and one asynchronous, "
        "which ends in an error (JobNotFoundException), so Lambda retries it twice",
        1,
        0,
        6,
        is_release=False,
    ),
    BilledRuns(
        "03",
        "the page's Node.js sample: as printed, then bundled with its SDK on two pages, and the "
        "Python port on the same two (a bundled SDK loads for a second or two at 128 MB)",
        1,
        0,
        5,
        is_release=False,
        billed_s=2.0,
        optional=True,
    ),
    BilledRuns(
        "05",
        "release, break, fix, release on upload (polling), lock, forget to report, the real "
        "function back, the IAM exercise, the second exercise's two texts: Source, Deploy, two "
        "Lambda actions",
        10,
        4,
        2,
    ),
    BilledRuns("05", "the stage retry: the two failed Lambda actions again", 1, 2, 2, False),
    BilledRuns(
        "05",
        "the function that never reports: its two actions wait until you abandon the release",
        1,
        2,
        0,
        False,
    ),
    BilledRuns(
        "05",
        "the IAM exercise: both reports are refused, so both actions wait until you abandon the "
        "release, and Lambda retries each failed invocation twice",
        1,
        4,
        4,
        False,
    ),
    BilledRuns(
        "06",
        "create, then update the stack (the exercise): two sources, Deploy, two Lambda actions, "
        "and StackStage, about 2 minutes with its continuations",
        2,
        7,
        5,
    ),
    BilledRuns("06", "the release with no stack updates: six one-minute actions", 1, 6, 3),
    BilledRuns("07", "the batch's three releases with no stack updates", 3, 6, 3, optional=True),
    BilledRuns("07", "the batch's two releases that update the stack", 2, 7, 5, optional=True),
    BilledRuns(
        "07",
        "four experiment functions, twenty configuration updates each and two invocations "
        "after each (a cold start bills its init; a heavy import at 128 MB takes seconds)",
        1,
        0,
        160,
        is_release=False,
        billed_s=2.0,
        optional=True,
    ),
    BilledRuns(
        "07",
        "two bursts of five invocations at once, each held for a second",
        1,
        0,
        10,
        is_release=False,
        billed_s=3.0,
        optional=True,
    ),
    BilledRuns(
        "07", "the JSON log format: two invocations", 1, 0, 2, is_release=False, optional=True
    ),
    *(
        BilledRuns(
            "07",
            f"the memory sweep at {size} MB: one cold and twenty warm invocations of busy-work",
            1,
            0,
            21,
            is_release=False,
            memory_mb=size,
            billed_s=seconds,
            optional=True,
        )
        for size, seconds in SWEEP_BILLED_S.items()
    ),
)


@dataclass(frozen=True)
class CostEstimate:
    """What ``learners`` working through the workbook once cost together on AWS, in one account
    and one month."""

    learners: int
    releases: int
    action_minutes: int
    billed_minutes: int  # V2: the action minutes beyond the account's free ones
    invocations: int
    gb_seconds: float
    codepipeline_usd: float  # V2, after the account's free minutes
    codepipeline_before_free_usd: float  # V2
    codepipeline_v1_usd: float  # V1 pipelines deleted within their first 30 days
    codepipeline_v1_kept_usd: float  # V1, a month in which every pipeline is active
    lambda_usd: float  # without Lambda's free tier
    lambda_after_free_tier_usd: float

    @property
    def per_learner_usd(self) -> float:
        """V2 and Lambda (without its free tier), per learner."""
        return (self.codepipeline_usd + self.lambda_usd) / self.learners


def v1_month_usd(active_pipelines: int) -> float:
    """A month of V1 pipelines: $1 for each active one (older than 30 days, and a change ran
    through it that month), less the account's free active pipeline."""
    billed = max(0, active_pipelines - prices.CODEPIPELINE_V1_FREE_ACTIVE_PIPELINES)
    return billed * prices.CODEPIPELINE_V1_PIPELINE_MONTH


def estimate(
    learners: int = 1, runs: tuple[BilledRuns, ...] = RUN_THROUGH, optional: bool = True
) -> CostEstimate:
    """The run-through's cost for ``learners`` sharing one account and month, with the optional
    parts (07, 03's Node.js section) or without: V2 action minutes at the published price less
    the account's free minutes; V1 by active pipeline; Lambda per GB-s and per request, with and
    without its free tier. S3, CloudWatch Logs and CloudFormation cost well under a cent and are
    left out."""
    runs = tuple(r for r in runs if optional or not r.optional)
    minutes = sum(r.times * r.action_minutes for r in runs) * learners
    invocations = sum(r.times * r.invocations for r in runs) * learners
    gb_seconds = sum(r.times * r.invocations * r.memory_mb / 1024 * r.billed_s for r in runs)
    gb_seconds *= learners
    releases = sum(r.times for r in runs if r.is_release) * learners
    billable = max(0, minutes - prices.CODEPIPELINE_V2_FREE_MINUTES)

    def lambda_cost(requests: float, compute: float) -> float:
        return (
            compute * prices.LAMBDA_GB_SECOND["x86_64"]
            + requests / 1e6 * prices.LAMBDA_PER_MILLION_REQUESTS
        )

    return CostEstimate(
        learners=learners,
        releases=releases,
        action_minutes=minutes,
        billed_minutes=billable,
        invocations=invocations,
        gb_seconds=gb_seconds,
        codepipeline_usd=billable * prices.CODEPIPELINE_V2_ACTION_MINUTE,
        codepipeline_before_free_usd=minutes * prices.CODEPIPELINE_V2_ACTION_MINUTE,
        # 08 deletes the pipeline the day it is made: never older than 30 days, never active
        codepipeline_v1_usd=0.0,
        codepipeline_v1_kept_usd=v1_month_usd(learners),
        lambda_usd=lambda_cost(invocations, gb_seconds),
        lambda_after_free_tier_usd=lambda_cost(
            max(0, invocations - prices.LAMBDA_FREE_REQUESTS),
            max(0.0, gb_seconds - prices.LAMBDA_FREE_GB_SECONDS),
        ),
    )


def cost_estimate(room: int = 30) -> str:
    """What working through the workbook once costs on AWS, alone and as a room sharing one
    account, on a V2 pipeline (the workbook's) and a V1 one (us-east-1 prices, from
    ``helpers.prices``)."""
    one, many = estimate(1), estimate(room)
    core = estimate(1, optional=False)
    minute = prices.CODEPIPELINE_V2_ACTION_MINUTE
    free = prices.CODEPIPELINE_V2_FREE_MINUTES
    return "\n".join(
        [
            f"Estimated cost of one run through the workbook on AWS, every notebook and 07 "
            f"included ({prices.REGION} prices of {prices.AS_OF}):",
            f"- CodePipeline V2 (the workbook's pipeline): {one.releases} releases, "
            f"{one.action_minutes} action-execution minutes (each action rounded up to a "
            f"minute; {core.action_minutes} without the optional 07) at ${minute} per "
            f"action-execution minute = "
            f"${one.codepipeline_before_free_usd:.2f}; each account has {free} free minutes "
            f"a month, so alone in an account: {_dollars(one.codepipeline_usd)} "
            f"({one.billed_minutes} minutes billed).",
            f"- CodePipeline V1 (CreatePipeline without pipelineType): "
            f"${one.codepipeline_v1_usd:.2f}. A V1 pipeline costs "
            f"${prices.CODEPIPELINE_V1_PIPELINE_MONTH:.2f} in a month in which it is active "
            f"(older than {prices.CODEPIPELINE_V1_FREE_DAYS} days, and a change ran through "
            "it), one active pipeline a month is free per account, and 08 deletes it the day "
            "it was made.",
            f"- Lambda: about {one.invocations} invocations, {one.gb_seconds:.0f} GB-seconds: "
            f"${one.lambda_usd:.4f}, or ${one.lambda_after_free_tier_usd:.2f} within Lambda's "
            f"free tier ({prices.LAMBDA_FREE_REQUESTS:,} requests and "
            f"{prices.LAMBDA_FREE_GB_SECONDS:,} GB-seconds a month per account). S3, CloudWatch "
            "Logs and CloudFormation: well under $0.01.",
            f"- A room of {room} in one account: V2 {many.action_minutes} minutes, "
            f"${many.codepipeline_usd:.2f} in all (${many.per_learner_usd:.2f} each): the free "
            f"minutes cover about one learner, not a room. V1 ${many.codepipeline_v1_usd:.2f} "
            f"(${many.codepipeline_v1_kept_usd:.2f} a month if every pipeline were kept and "
            f"released after its first 30 days). Lambda ${many.lambda_usd:.2f}, "
            f"${many.lambda_after_free_tier_usd:.2f} within its free tier.",
        ]
    )


def _dollars(usd: float) -> str:
    """$0.20; under a cent but not nothing, $0.004: never a cost shown as $0.00 that isn't."""
    return f"${usd:.3f}" if 0 < usd < 0.005 else f"${usd:.2f}"


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
