"""Remove every participant's workbook resources from a shared AWS account.

After a workshop where each participant used a WORKBOOK_PREFIX that starts with the workshop's
prefix (``ws-ada``, ``ws-bob``, ...), this finds every participant's resources by their names —
pipeline, stack, functions and their log groups, roles, policy, buckets — and runs notebook 08's
clean-up (``helpers.cleanup``) for each participant, then lists whatever is left.

    python tools/sweep_workshop.py --prefix ws-            # list participants and resources
    python tools/sweep_workshop.py --prefix ws- --delete   # delete them

It uses the standard AWS credential chain (AWS_PROFILE, AWS_REGION, environment), one Region
per run; with AWS_ENDPOINT_URL set (``eval "$(python -m helpers.localcloud --env)"``) it sweeps
a local cloud instead. Only names of the workbook's own shapes are touched: ``<p>-MyTestStack``,
``<p>-source-<account>-<region>``, ... where ``<p>`` starts with the prefix given.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable

import boto3

from helpers import cleanup
from helpers.workbook import Names, Workbook

KINDS = (
    "source_bucket",
    "artifact_bucket",
    "site_bucket",
    "pipeline_role",
    "pipeline",
    "lambda_role",
    "lambda_policy",
    "health_function",
    "deployer_function",
    "stack",
)
LOG_GROUP = "/aws/lambda/"


def suffixes(account: str, region: str) -> dict[str, str]:
    """What follows a participant's prefix in each name the workbook gives: ``-StackDeployer``."""
    blank = Names("", account, region)
    return {kind: getattr(blank, kind) for kind in KINDS}


def participants_from_names(
    names: Iterable[str], workshop_prefix: str, account: str, region: str
) -> set[str]:
    """The participants' prefixes: every ``<p>`` with ``<p><suffix>`` among ``names`` and ``<p>``
    starting with the workshop's prefix."""
    endings = list(suffixes(account, region).values())
    found = set()
    for name in names:
        name = name.removeprefix(LOG_GROUP)
        for ending in endings:
            if name.endswith(ending) and name.startswith(workshop_prefix):
                candidate = name[: -len(ending)]
                if candidate.startswith(workshop_prefix) and re.fullmatch(
                    r"[a-z0-9][a-z0-9-]{0,19}", candidate
                ):
                    found.add(candidate)
    return found


def names_in_account(session: boto3.Session, workshop_prefix: str) -> list[str]:
    """Every name starting with the workshop's prefix, asked of each service the workbook uses."""
    names: list[str] = []
    codepipeline = session.client("codepipeline")
    for page in codepipeline.get_paginator("list_pipelines").paginate():
        names += [p["name"] for p in page["pipelines"]]
    lam = session.client("lambda")
    for page in lam.get_paginator("list_functions").paginate():
        names += [f["FunctionName"] for f in page["Functions"]]
    iam = session.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        names += [r["RoleName"] for r in page["Roles"]]
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        names += [p["PolicyName"] for p in page["Policies"]]
    names += [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    cloudformation = session.client("cloudformation")
    for page in cloudformation.get_paginator("list_stacks").paginate():
        names += [
            s["StackName"] for s in page["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
        ]
    logs = session.client("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=LOG_GROUP + workshop_prefix
    ):
        names += [g["logGroupName"] for g in page["logGroups"]]
    return sorted(n for n in names if n.removeprefix(LOG_GROUP).startswith(workshop_prefix))


def book_for(session: boto3.Session, account: str, participant: str) -> Workbook:
    """A connection whose names are one participant's (as their own notebooks had them)."""
    target = "local" if os.environ.get("AWS_ENDPOINT_URL") else "aws"
    book = Workbook(session, account, target)
    book.names = Names(participant, account, session.region_name)
    return book


def sweep(workshop_prefix: str, delete: bool, out=sys.stdout) -> dict[str, list[str]]:
    """List (or delete) every participant's resources; returns what is left per participant."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,19}", workshop_prefix):
        raise ValueError(
            "--prefix must be the start every participant's WORKBOOK_PREFIX shares: 2-20 "
            f"lower-case letters, digits and '-' (e.g. ws-); got {workshop_prefix!r}"
        )
    session = boto3.Session()
    if not session.region_name:
        raise RuntimeError("No AWS region is configured: set AWS_REGION or a region in a profile.")
    account = session.client("sts").get_caller_identity()["Account"]
    names = names_in_account(session, workshop_prefix)
    participants = sorted(
        participants_from_names(names, workshop_prefix, account, session.region_name)
    )
    print(
        f"Account {account}, region {session.region_name}: {len(participants)} participant(s) "
        f"with prefix {workshop_prefix!r}: {', '.join(participants) or 'none'}",
        file=out,
    )
    left = {}
    for participant in participants:
        book = book_for(session, account, participant)
        if delete:
            for label in cleanup.clean_up(book):
                print(f"  deleted {label}", file=out)
        left[participant] = cleanup.remaining(book)
        verb = "left" if delete else "found"
        for label in left[participant]:
            print(f"  {participant}: {verb} {label}", file=out)
    unclaimed = [
        n
        for n in names
        if not any(n.removeprefix(LOG_GROUP).startswith(p + "-") for p in participants)
    ]
    for name in unclaimed:
        print(f"  not a workbook name, left alone: {name}", file=out)
    if not delete:
        print("Nothing deleted: run again with --delete to delete the above.", file=out)
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--prefix", required=True, help="what every participant's prefix starts with"
    )
    parser.add_argument("--delete", action="store_true", help="delete (default: only list)")
    args = parser.parse_args(argv)
    left = sweep(args.prefix, args.delete)
    return 1 if args.delete and any(left.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
