"""Summaries of repeated runs: the median and the range, never a single lucky number.

Every figure in BENCHMARKS.md is the median of several runs with its min–max,
so a reader sees how much a number moves on this machine from run to run.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Summary:
    """Median, minimum and maximum of one figure over `runs` repetitions."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        samples = sorted(values)
        if not samples:
            raise ValueError("a summary needs at least one run")
        return cls(statistics.median(samples), samples[0], samples[-1], len(samples))

    def scaled(self, factor: float) -> Summary:
        """The same runs multiplied by `factor` (e.g. requests/s x batch size = items/s)."""
        return Summary(self.median * factor, self.low * factor, self.high * factor, self.runs)


def number(value: float) -> str:
    """A figure with thousands separators and no false precision."""
    if value != value:  # NaN
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    if magnitude >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def spread(summary: Summary) -> str:
    """`median (min–max)`, or just the figure when there was one run."""
    if summary.runs == 1 or summary.low == summary.high:
        return number(summary.median)
    return f"{number(summary.median)} ({number(summary.low)}–{number(summary.high)})"


def ratio(numerator: float, denominator: float) -> str:
    if denominator == 0 or numerator != numerator or denominator != denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}×"
