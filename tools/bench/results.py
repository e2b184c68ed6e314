"""Everything one run measured, gathered for the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.bench.http import HttpFigures
from tools.bench.inprocess import ColdFigures, InProcessFigures
from tools.bench.machine import Machine
from tools.bench.plan import Plan
from tools.bench.profiling import Profile
from tools.bench.snapshots import Decompression, SnapshotInfo


@dataclass(slots=True)
class Results:
    plan: Plan
    machine: Machine
    command: str
    started_at: str
    seconds: float = 0.0
    snapshots: dict[int, SnapshotInfo] = field(default_factory=dict)
    stats_snapshot: SnapshotInfo | None = None
    decompression: Decompression | None = None
    inprocess: dict[int, InProcessFigures] = field(default_factory=dict)
    stats_inprocess: InProcessFigures | None = None
    stats_baseline: InProcessFigures | None = None
    """The plain snapshot of the same size, measured right before the stats copy."""
    cold: ColdFigures | None = None
    inprocess_profile: Profile | None = None
    http: dict[int, HttpFigures] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    load_at_end: str = ""
    loads: list[tuple[str, str]] = field(default_factory=list)
    """(phase, load average as it started)."""
