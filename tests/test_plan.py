"""One time plan and one cost estimate, everywhere.

`PLAN` and `estimate()` in helpers/workbook.py are the workbook's only source of how long it takes
and what it costs on AWS. Every page that states either — each notebook's "Time to learn", the
contents page, the README, the facilitator's guide — is checked against them here, and they are
checked against the notebooks (their reading, their exercises, what 07 runs on AWS), so that none
of them can drift again.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import botocore.session
import nbformat
import pytest
from botocore.validate import ParamValidator

from helpers import prices, timings
from helpers import workbook as wb

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONTENTS = ROOT / "notebooks" / "contents.md"
GUIDE = ROOT / "docs" / "facilitator.md"
NOTEBOOK_NUMBERS = sorted({p.notebook for p in wb.PLAN})


def flat(path: Path) -> str:
    """A page's text with its line breaks and runs of spaces as single spaces."""
    return re.sub(r"\s+", " ", path.read_text())


def notebook(number: str) -> nbformat.NotebookNode:
    (path,) = (ROOT / "notebooks").glob(f"{number}_*.ipynb")
    return nbformat.read(path, as_version=4)


def code_of(number: str) -> str:
    """A notebook's code: its code cells and the code of its hidden solutions."""
    cells = notebook(number).cells
    code = [c.source for c in cells if c.cell_type == "code"]
    code += [c.source for c in cells if c.cell_type == "markdown" and "<details>" in c.source]
    return "\n".join(code)


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    """The cells of each Markdown table row whose first cell matches ``first_cell``."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows.append(cells)
    return rows


def minutes_cell(number: str) -> str:
    """How the tables write a notebook's minutes: "25 + 10 optional", "40, optional"."""
    main, extra = wb.notebook_minutes(number)
    if main == 0:
        return f"{extra}, optional"
    if all(p.optional for p in wb.PLAN if p.notebook == number):
        return f"{main}, optional"
    return f"{main} + {extra} optional" if extra else f"{main}"


def section(text: str, heading: str) -> str:
    """A Markdown section, from its heading to the next heading of the same level or higher."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n") if heading + "\n" in text else text.index(heading)
    rest = text[start + len(heading) :]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)]
    return text[start : start + len(heading) + (ends[0] if ends else len(rest))]


# -- the plan, against the notebooks ---------------------------------------------------------
@pytest.mark.parametrize("part", wb.PLAN, ids=lambda p: f"{p.notebook}-{p.section or 'main'}")
def test_each_part_of_the_plan_reads_as_the_notebook_does_now(part):
    """Reading is measured from the notebook's words; a notebook that grew or shrank by more than
    2.5 minutes of reading, or gained an exercise, needs its plan updated (and so every page)."""
    reading, exercises = wb.measure_reading(part.notebook, part.section)
    assert abs(reading - part.reading) <= 2.5, f"measured {reading} minutes of reading"
    assert exercises == part.exercises


def test_every_notebook_is_in_the_plan_in_order_and_the_optional_parts_are_marked():
    numbers = [p.stem[:2] for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    assert NOTEBOOK_NUMBERS == numbers
    assert [p.notebook for p in wb.PLAN] == sorted(p.notebook for p in wb.PLAN)
    optional = {(p.notebook, p.section) for p in wb.PLAN if p.optional}
    assert optional == {("03", wb.NODE_SECTION), ("07", None)}
    assert any(c.source.startswith(f"## {wb.NODE_SECTION}") for c in notebook("03").cells)


def test_a_parts_minutes_are_reading_exercises_and_running_rounded_to_five():
    part = wb.Part("99", "x", reading=12.5, exercises=1, running=0.2, on_aws=10, checkpoint="")
    assert part.minutes == 20  # 17.7 -> 20
    assert wb.Part("99", "x", 12.4, 0, 0.0, 0, "").minutes == 10
    assert wb.Part("99", "x", 12.5, 0, 0.0, 0, "").minutes == 15  # halves round up
    assert wb.Part("99", "x", 0.5, 0, 0.0, 0, "").minutes == 5  # never less than 5
    assert part.minutes_on_aws == 30
    assert wb.plan_minutes(optional=True) == sum(p.minutes for p in wb.PLAN)
    assert wb.plan_minutes() == sum(p.minutes for p in wb.PLAN if not p.optional)


@pytest.mark.parametrize("number", NOTEBOOK_NUMBERS)
def test_each_notebook_states_the_plans_time(number):
    prerequisites = next(c.source for c in notebook(number).cells if "Time to learn" in c.source)
    line = next(x for x in prerequisites.splitlines() if "**Time to learn**" in x)
    stated = int(re.search(r"Time to learn\*\*: (\d+) minutes", line).group(1))
    main, extra = wb.notebook_minutes(number)
    parts = [p for p in wb.PLAN if p.notebook == number]
    assert stated == (main or extra)
    if extra and main:
        assert re.search(rf"and {extra} more for the optional", line), line
    if all(p.optional for p in parts):
        assert "optional" in line


@pytest.mark.parametrize(
    ("page", "first_cell"),
    [(CONTENTS, r"0\d"), (README, r"\[0\d .*\]\(notebooks/.*\)")],
    ids=["contents", "README"],
)
def test_the_contents_page_and_the_readme_give_the_plans_minutes(page, first_cell):
    rows = table_rows(page.read_text(), first_cell)
    numbers = [re.search(r"0\d", row[0]).group(0) for row in rows]
    assert numbers == NOTEBOOK_NUMBERS
    for number, row in zip(numbers, rows, strict=True):
        assert row[-1] == minutes_cell(number), number
    text = flat(page)
    node = next(p for p in wb.PLAN if p.section == wb.NODE_SECTION)
    timings_part = next(p for p in wb.PLAN if p.notebook == "07")
    assert f"About {wb.plan_minutes()} minutes in all, without the optional parts" in text
    assert f"03's Node.js section ({node.minutes} minutes) and 07 ({timings_part.minutes})" in text
    assert f"{wb.plan_minutes(optional=True)} minutes with them" in text
    assert f"{wb.plan_minutes(aws=True)} and {wb.plan_minutes(optional=True, aws=True)}." in text
    assert (
        f"prose at {wb.PROSE_WORDS_PER_MINUTE} words a minute, code at "
        f"{wb.CODE_WORDS_PER_MINUTE}), {wb.EXERCISE_MINUTES} minutes an exercise" in text
    )


# -- the facilitator's agenda and its time on AWS --------------------------------------------
def test_the_agenda_follows_the_plan_with_one_break():
    slots = wb.agenda("09:00")
    parts = [p for p in wb.PLAN if not p.optional]
    assert [s.what for s in slots if s.what != "break"] == [p.name for p in parts]
    assert [s.what for s in slots].index("break") == [p.notebook for p in parts].index("03") + 1
    for before, after in zip(slots, slots[1:], strict=False):
        assert before.end == after.start
    hours, minutes = map(int, slots[-1].end.split(":"))
    assert hours * 60 + minutes == 9 * 60 + wb.plan_minutes() + 15
    on_aws = wb.agenda("09:00", aws=True)
    assert sum(s.minutes for s in on_aws) == wb.plan_minutes(aws=True) + 15


def quarter_hours(minutes: int) -> str:
    whole, quarter = divmod(round(minutes / 15), 4)
    return f"{whole}{['', '¼', '½', '¾'][quarter]}"


def test_the_facilitators_agenda_is_the_plans():
    text = GUIDE.read_text()
    slots = wb.agenda("09:00")
    total = sum(s.minutes for s in slots)
    agenda = section(text, f"## Agenda on the local cloud (about {quarter_hours(total)} hours)")
    assert "From 09:00, with one break" in agenda
    rows = table_rows(agenda, r"\d\d:\d\d")
    assert [(r[0], r[1], int(r[2]), r[3]) for r in rows] == [
        (s.end, s.what, s.minutes, s.checkpoint) for s in slots
    ]
    goals = flat(GUIDE).split("**Stretch goals**", 1)[1]
    for part in (p for p in wb.PLAN if p.optional):
        if part.section is None:
            assert f"**{part.name}** ({part.minutes} minutes; {part.minutes_on_aws} on AWS)" in (
                goals
            )
        else:
            assert f"**{part.notebook}'s Node.js section** ({part.minutes} minutes)" in goals


def test_the_guides_time_on_aws_is_the_plans():
    text = section(GUIDE.read_text(), "### Time on AWS")
    rows = table_rows(text, r"0\d .*")
    assert len(rows) == len(wb.PLAN)
    for part, row in zip(wb.PLAN, rows, strict=True):
        assert row[0].startswith(part.notebook)
        assert ("optional" in row[0].lower()) == part.optional, row[0]
        assert (int(row[1]), int(row[2])) == (part.minutes, part.minutes_on_aws), row[0]
    said = re.sub(r"\s+", " ", text)
    assert (
        f"Without the optional parts: {wb.plan_minutes()} minutes on the local cloud, "
        f"{wb.plan_minutes(aws=True)} on AWS; with them, {wb.plan_minutes(optional=True)} and "
        f"{wb.plan_minutes(optional=True, aws=True)}." in said
    )
    local, aws = wb.agenda("09:00")[-1].end, wb.agenda("09:00", aws=True)[-1].end
    assert f"ends at {aws} instead of {local}" in said


# -- the estimate, against what the notebooks run --------------------------------------------
def runs_of(number: str, *, release: bool | None = None) -> list[wb.BilledRuns]:
    return [
        r
        for r in wb.RUN_THROUGH
        if r.notebook == number and (release is None or r.is_release == release)
    ]


def test_the_estimate_counts_what_07_runs_on_aws():
    """07 runs a smaller batch on AWS than locally: the estimate must count the AWS numbers,
    read from the notebook's cells, so a change there shows here."""
    code = code_of("07")
    batch = int(re.search(r"releases = \d+ if book\.target == \"local\" else (\d+)", code)[1])
    releases = runs_of("07", release=True)
    assert sum(r.times for r in releases) == batch
    # the batch updates the stack at release batch // 2 and at the last one
    assert "number == releases // 2" in code and "number == releases:" in code
    assert [r.times for r in releases if r.action_minutes == 7] == [2]
    assert all(r.optional for r in runs_of("07"))

    variants = re.search(r"variants = \[([^\]]*)\]", code)[1].count('"') // 2
    updates, after = re.search(r"updates, invokes_after = ([\w.]+), (\d+)", code).groups()
    updates = timings.MIN_RUNS if updates == "timings.MIN_RUNS" else int(updates)
    after = int(after)
    bursts = sum(map(int, re.findall(r"invoke_concurrently\(lam, burst_function, (\d+),", code)))
    json_calls = int(
        re.search(r"for _ in range\((\d+)\):\n\s+lam\.invoke\(FunctionName=json", code)[1]
    )
    sizes = json.loads(re.search(r"sizes = (\[[\d, ]+\]) if book\.target == \"aws\"", code)[1])
    warm = re.search(r"warm_per_size = ([\w.]+)", code)[1]
    warm = timings.MIN_RUNS if warm == "timings.MIN_RUNS" else int(warm)
    counted = {r.what: r.invocations for r in runs_of("07", release=False)}
    experiments = next(n for what, n in counted.items() if what.startswith("four experiment"))
    assert experiments == variants * updates * after
    assert next(n for what, n in counted.items() if "bursts" in what) == bursts
    assert next(n for what, n in counted.items() if "JSON" in what) == json_calls
    sweep = [r for r in runs_of("07", release=False) if "memory sweep" in r.what]
    assert [r.memory_mb for r in sweep] == sizes == list(wb.SWEEP_BILLED_S)
    assert all(r.invocations == 1 + warm for r in sweep)


def test_the_sweeps_billed_seconds_cover_the_example_aws_sweep():
    calls = timings.read_report_lines()
    billed_s = calls.groupby("memory_size_mb")["billed_ms"].mean() / 1000
    for size, seconds in wb.SWEEP_BILLED_S.items():
        assert seconds >= billed_s[size], size


@pytest.mark.parametrize("number", ["00", "02", "04", "08"])
def test_the_notebooks_the_estimate_leaves_out_release_and_invoke_nothing(number):
    code = code_of(number)
    assert "start_pipeline_execution" not in code and ".invoke(" not in code
    assert not runs_of(number)


def test_the_estimate_with_and_without_the_optional_parts_and_the_free_tiers():
    everything, core = wb.estimate(), wb.estimate(optional=False)
    assert everything.action_minutes > core.action_minutes and everything.releases > core.releases
    assert core.action_minutes == sum(
        r.times * r.action_minutes for r in wb.RUN_THROUGH if not r.optional
    )
    assert core.codepipeline_usd == 0, "alone, the core fits in the free minutes"
    assert everything.billed_minutes == max(0, everything.action_minutes - 100)
    room = wb.estimate(30)
    assert room.billed_minutes == 30 * everything.action_minutes - 100
    assert room.codepipeline_usd == pytest.approx(room.billed_minutes * 0.002)
    # V1: deleted within its first 30 days a pipeline is never active; kept, one is free
    assert room.codepipeline_v1_usd == 0
    assert room.codepipeline_v1_kept_usd == 29 * prices.CODEPIPELINE_V1_PIPELINE_MONTH
    assert wb.v1_month_usd(1) == 0 and wb.v1_month_usd(3) == 2
    # Lambda: GB-seconds by each run's memory; the free tier covers a room, not a million
    gb_s = sum(r.times * r.invocations * r.memory_mb / 1024 * r.billed_s for r in wb.RUN_THROUGH)
    assert everything.gb_seconds == pytest.approx(gb_s)
    assert everything.lambda_usd == pytest.approx(
        gb_s * prices.LAMBDA_GB_SECOND["x86_64"] + everything.invocations * 0.20 / 1e6
    )
    assert room.lambda_usd > 0 and room.lambda_after_free_tier_usd == 0
    crowd = wb.estimate(10_000)
    over = crowd.invocations - prices.LAMBDA_FREE_REQUESTS
    assert over > 0
    assert crowd.lambda_after_free_tier_usd == pytest.approx(
        over * 0.20 / 1e6
        + max(0, crowd.gb_seconds - prices.LAMBDA_FREE_GB_SECONDS)
        * prices.LAMBDA_GB_SECOND["x86_64"]
    )


def test_the_printed_estimate_says_v1_v2_and_the_free_tiers():
    text = wb.cost_estimate(30)
    one, room = wb.estimate(1), wb.estimate(30)
    assert "07 included" in text
    assert f"{one.releases} releases, {one.action_minutes} action-execution minutes" in text
    assert "CodePipeline V1 (CreatePipeline without pipelineType): $0.00" in text
    assert f"${room.codepipeline_v1_kept_usd:.2f} a month" in text
    assert "1,000,000 requests and 400,000 GB-seconds a month per account" in text
    assert f"${room.codepipeline_usd:.2f} in all" in text
    assert 0 < one.codepipeline_usd < 0.005
    assert f"alone in an account: ${one.codepipeline_usd:.3f} ({one.billed_minutes} minutes" in (
        text
    ), "a cost under a cent isn't shown as nothing"


# -- the pages quote the estimate ------------------------------------------------------------
def usd(value: float) -> str:
    return f"\\${value:.2f}"


def test_the_readme_quotes_the_estimate():
    text = flat(README)
    one, core, room = wb.estimate(), wb.estimate(optional=False), wb.estimate(30)
    for said in (
        f"about {one.releases} releases",
        f"about {one.action_minutes} action-minutes, {usd(one.codepipeline_before_free_usd)} "
        f"({core.action_minutes} without 07)",
        f"pays about {usd(room.codepipeline_usd)} ({usd(room.per_learner_usd)} each)",
        f"about {one.invocations} invocations, {one.gb_seconds:.0f} GB-seconds",
        "1 million requests and 400,000 GB-seconds a month per account",
        "`CreatePipeline` without `pipelineType`",
    ):
        assert said in text
    assert 0 < one.codepipeline_usd < 0.01, "'a few tenths of a cent'"
    assert 0.001 < one.lambda_usd < 0.002, "'about a seventh of a cent'"
    assert one.lambda_after_free_tier_usd == 0


def test_the_guide_quotes_the_estimate():
    text = flat(GUIDE)
    one, core, room = wb.estimate(), wb.estimate(optional=False), wb.estimate(30)
    room_core = wb.estimate(30, optional=False)
    for said in (
        f"{one.releases} releases, a stage retry",
        f"about **{one.action_minutes} action-minutes: {usd(one.codepipeline_before_free_usd)}**",
        f"{core.action_minutes} ({usd(core.codepipeline_before_free_usd)}) without the optional 07",
        f"{room.action_minutes} minutes, {room.billed_minutes} billed",
        f"\\${room.codepipeline_usd:.2f}, {usd(room.per_learner_usd)} per participant**",
        f"({usd(room_core.codepipeline_usd)} without 07)",
        f"would cost **{usd(room.codepipeline_v1_usd)}**",
        f"{usd(room.codepipeline_v1_kept_usd)} a month",
        f"about {one.invocations} invocations and {one.gb_seconds:.0f} GB-seconds",
        f"a room: {room.invocations} invocations, {usd(room.lambda_usd)}",
    ):
        assert said in text
    assert room.lambda_after_free_tier_usd == 0, "'nothing within Lambda's free tier'"


def json_after(text: str, name: str):
    block = text.split(f"`{name}`:", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)```", block, re.DOTALL).group(1))


def test_the_guides_budget_alarm_is_valid_createbudget_input_and_covers_the_room():
    text = section(GUIDE.read_text(), "### Cost")
    budget = json_after(text, "budget.json")
    notifications = json_after(text, "notifications.json")
    model = botocore.session.get_session().get_service_model("budgets")
    shape = model.operation_model("CreateBudget").input_shape
    params = {
        "AccountId": "111122223333",
        "Budget": budget,
        "NotificationsWithSubscribers": notifications,
    }
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()
    assert "--budget file://budget.json --notifications-with-subscribers file://" in text
    amount = float(budget["BudgetLimit"]["Amount"])
    room = wb.estimate(30)
    assert amount >= 2 * (room.codepipeline_usd + room.lambda_usd), "the estimate, twice"
    assert amount == 5 * math.ceil(2 * (room.codepipeline_usd + room.lambda_usd) / 5)
    (alert,) = notifications
    assert alert["Notification"]["Threshold"] == 80
    assert alert["Subscribers"][0]["SubscriptionType"] == "EMAIL"
    said = re.sub(r"\s+", " ", text)
    assert (
        f"\\${amount:.0f} (the estimate twice, rounded up) warns at \\${amount * 0.8:.0f}" in said
    )
