"""07: execution timings."""

from __future__ import annotations

import math
import numbers

import pandas as pd

from .. import timings
from ._common import say


def _as_number(answer) -> float | str:
    """The answer as a number, or why it isn't one (a verdict's hint)."""
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        if isinstance(answer, str):
            return f"answer is the text {answer!r}: write a number without quotes (answer = 12)."
        return f"answer is {type(answer).__name__} {answer!r}: set it to a number."
    if math.isnan(answer):
        return "answer is NaN (nothing divided by nothing?): set it to a number."
    return float(answer)


def check_cheapest_memory(answer, p90_under_ms: float = 300) -> None:
    """07: the cheapest memory size, in the illustrative AWS sweep (``data/timings``), whose
    warm p90 duration is under ``p90_under_ms``."""
    table = timings.memory_table(timings.read_report_lines())
    fast = table[table["p90_ms"] < p90_under_ms]
    expected = int(fast.sort_values("usd_per_million")["memory_size_mb"].iloc[0])
    if answer is None:
        return say(False, "", "set answer to a memory size in MB, e.g. answer = 512.")
    number = _as_number(answer)
    if isinstance(number, str):
        return say(False, "", number)
    if number == expected:
        small, chosen = table.iloc[0], table[table["memory_size_mb"] == expected].iloc[0]
        faster = small["p90_ms"] / chosen["p90_ms"]
        dearer = chosen["usd_per_million"] / small["usd_per_million"] - 1
        return say(
            True,
            f"{expected} MB: the cheapest size with p90 under {p90_under_ms:g} ms — "
            f"{faster:.0f}x faster than {int(small['memory_size_mb'])} MB for {dearer:.0%} more "
            "per call (memory buys CPU).",
            "",
        )
    if number not in set(table["memory_size_mb"]):
        sizes = ", ".join(str(int(s)) for s in table["memory_size_mb"])
        return say(False, "", f"{answer} MB isn't one of the sweep's sizes ({sizes}).")
    row = table[table["memory_size_mb"] == number].iloc[0]
    if row["p90_ms"] >= p90_under_ms:
        return say(False, "", f"at {answer} MB the p90 is {row['p90_ms']:.0f} ms: too slow.")
    return say(False, "", f"{answer} MB is fast enough, but another size costs less per call.")


def check_payback(answer, variants: pd.DataFrame) -> None:
    """07: how many warm invocations of the module-level client pay back its longer init,
    from this notebook's measurements (``variants``). The answer is a whole number of
    invocations, 0 or more, or ``math.inf`` when warm calls of the per-call client weren't
    slower (nothing pays back)."""
    expected = timings.payback_invocations(variants, "client-module", "client-per-call")
    if answer is None:
        return say(False, "", "set answer to a number of warm invocations.")
    number = _as_number(answer)
    if isinstance(number, str):
        return say(False, "", number)
    if math.isinf(expected):
        return say(
            number == math.inf,
            "never, in this run: the per-call client wasn't slower when warm.",
            "in this run, warm calls of the per-call client weren't slower, so no number of "
            "them pays back a longer init: answer = math.inf.",
        )
    if math.isinf(number):
        return say(
            False,
            "",
            "in this run the module-level client's warm calls were faster, so some number of "
            "them does pay back its init: math.inf is the answer only when they aren't.",
        )
    if number < 0:
        return say(
            False,
            "",
            "a number of invocations can't be negative: if the module-level client's init was "
            "no longer, 0 invocations pay it back (max(0, …)).",
        )
    if number != int(number):
        return say(
            False, "", f"{answer} isn't a whole number of invocations: round up (math.ceil)."
        )
    return say(
        number == expected,
        f"{int(expected)} warm invocations pay back one cold start's longer init.",
        "divide the extra median Init Duration by what each warm call saves (medians), and "
        "round up.",
    )
