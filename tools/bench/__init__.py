"""`python -m tools.bench` (from a checkout): prove the speed claims, reproducibly.

One run makes or reuses synthetic snapshots (1M and 10M tracks by default),
times the tools that make them, then measures on each size: the library
in-process against the bare SQLite floor, HTTP with wrk against our server (1
and 2 workers) and Datasette on the same file, start-up and memory, and a
cold-cache pass; then writes BENCHMARKS.md with every table, the targets and
the exact commands. `--quick` does all of it on tiny data in well under a
minute, for CI, and writes elsewhere (never over BENCHMARKS.md by default).

Modules: `plan` (what a run measures), `snapshots` (synth/build/verify,
decompression), `keys` (known identifiers), `throughput` (the timing
harness), `inprocess` and `floor` (library vs bare SQLite), `wrk`, `servers`
and `http` (load over HTTP), `profiling` (py-spy), `targets` and `report`.
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import re
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from snapshot_api.identifiers import Kind
from tools.bench import http, inprocess, keys, machine, profiling, report, snapshots, wrk
from tools.bench.plan import Plan, full_plan, quick_plan
from tools.bench.processes import PYTHON, BenchError, say, sigterm_as_interrupt
from tools.bench.results import Results
from tools.bench.targets import check

DEFAULT_SIZES = (1_000_000, 10_000_000)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated track counts") from None
    if not sizes or any(size < 1_000 for size in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: each size must be at least 1000 tracks")
    return sizes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 5k and 20k-track snapshots, 1 s runs, one run each; "
        "writes DATA_DIR/BENCHMARKS-quick.md unless --output is given",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("bench-data"),
        help="where snapshots are made and reused (default ./bench-data)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="report path (default BENCHMARKS.md; quick mode: in DATA_DIR)",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="snapshot sizes in tracks, comma-separated (default 1000000,10000000)",
    )
    parser.add_argument(
        "--repeats", type=_positive, default=None, help="runs per figure (default 3; quick 1)"
    )
    parser.add_argument(
        "--wrk-seconds",
        type=_positive,
        default=None,
        help="length of each wrk run (default 5; quick 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="synth seed (default 0)")
    parser.add_argument("--no-peer", action="store_true", help="skip Datasette")
    parser.add_argument(
        "--no-cold",
        action="store_true",
        help="skip the cold-cache pass (it drops the machine's page cache)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy profiles")
    parser.add_argument(
        "--from-results",
        type=Path,
        default=None,
        metavar="PICKLE",
        help="measure nothing: render the report again from the results a "
        "run saved (DATA_DIR/results.pickle)",
    )


def make_plan(args: argparse.Namespace) -> Plan:
    data_dir: Path = args.data_dir
    if args.quick:
        if args.sizes is not None:
            raise BenchError("--quick has its own sizes; drop --sizes or --quick")
        plan = quick_plan(data_dir / "quick", args.output or data_dir / "BENCHMARKS-quick.md")
    else:
        plan = full_plan(
            data_dir,
            args.output or Path("BENCHMARKS.md"),
            args.sizes or DEFAULT_SIZES,
            cold=not args.no_cold,
        )
    changes: dict[str, object] = {"seed": args.seed, "peer": not args.no_peer}
    if args.repeats is not None:
        changes["repeats"] = args.repeats
    if args.wrk_seconds is not None:
        changes["wrk_seconds"] = args.wrk_seconds
    if args.no_profile or profiling.py_spy() is None:
        changes["profile"] = False
    from dataclasses import replace

    return replace(plan, **changes)  # type: ignore[arg-type]


def command_line(args: argparse.Namespace) -> str:
    """The exact command that reproduces this run."""
    parts = ["python", "-m", "tools.bench"]
    if args.quick:
        parts.append("--quick")
    parts += ["--data-dir", str(args.data_dir)]
    if args.output is not None:
        parts += ["--output", str(args.output)]
    if args.sizes is not None:
        parts += ["--sizes", ",".join(str(s) for s in args.sizes)]
    for flag, value in (("--repeats", args.repeats), ("--wrk-seconds", args.wrk_seconds)):
        if value is not None:
            parts += [flag, str(value)]
    if args.seed:
        parts += ["--seed", str(args.seed)]
    for flag in ("no_peer", "no_cold", "no_profile"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return shlex.join(parts)


def _check_tools(plan: Plan) -> None:
    wrk.wrk_binary()
    if plan.peer and importlib.util.find_spec("datasette") is None:
        raise BenchError(
            "Datasette is not installed: pip install '.[bench]' (or run with --no-peer)"
        )


def _phase(results: Results, name: str) -> None:
    """Announce a phase and note the machine's load as it starts (the report shows it)."""
    results.loads.append((name, machine.load_average()))
    say(name)


def measure(results: Results) -> None:
    """Every measurement of the plan, into `results` as they come (so an interrupted run
    still has what it measured); servers and children are stopped whatever happens."""
    plan = results.plan
    plan.data_dir.mkdir(parents=True, exist_ok=True)
    for size in plan.sizes:
        results.snapshots[size] = snapshots.ensure_snapshot(plan, size)
    if plan.stats_size is not None:
        results.stats_snapshot = snapshots.ensure_snapshot(plan, plan.stats_size, with_stats=True)
    if plan.zst_size is not None:
        results.decompression = snapshots.measure_decompression(
            plan, results.snapshots[plan.zst_size]
        )
    for size in plan.sizes:
        info = results.snapshots[size]
        sampled = keys.sample(info.directory, plan.sample_keys, plan.seed)
        _phase(results, f"in-process lookups and floor on {size:,} tracks")
        results.inprocess[size] = inprocess.measure(plan, info.directory, size, sampled)
        if size in plan.http_sizes:
            _phase(results, f"HTTP on {size:,} tracks")
            results.http[size] = http.measure(
                plan,
                info.directory,
                size,
                sampled.of(Kind.ISRC),
                profile=plan.profile and size == max(plan.http_sizes),
            )
    if plan.profile:
        info = results.snapshots[plan.largest]
        batch = max(plan.batch_sizes)
        say(f"profiling lookup_json, batches of {batch} ISRCs, {plan.largest:,} tracks")
        seconds = 2 if plan.quick else 10
        argv = [PYTHON, "-m", "tools.bench.steps", "loop", str(info.directory),
                "--batch", str(batch), "--seconds", str(seconds + 5)]  # fmt: skip
        results.inprocess_profile = profiling.record_command(
            argv,
            seconds,
            plan.data_dir / "logs" / f"profile-inprocess-{plan.largest}.txt",
            f"in-process lookup_json, batches of {batch} ISRCs, {plan.largest:,} tracks "
            "(py-spy --native: inside SQLite)",
        )
    if results.stats_snapshot is not None:
        info = results.stats_snapshot
        plain = results.snapshots[info.tracks]
        sampled = keys.sample(info.directory, plan.sample_keys, plan.seed, [Kind.ISRC])
        # measured back to back with the stats copy, so both see the same machine
        _phase(results, f"in-process ISRC lookups on {info.tracks:,} tracks without statistics")
        results.stats_baseline = inprocess.measure(
            plan, plain.directory, info.tracks, sampled, with_floor=False, kinds=[Kind.ISRC]
        )
        _phase(results, f"in-process ISRC lookups on {info.tracks:,} tracks with sqlite_stat1/4")
        results.stats_inprocess = inprocess.measure(
            plan, info.directory, info.tracks, sampled, with_floor=False, kinds=[Kind.ISRC]
        )
    if plan.cold:
        info = results.snapshots[plan.largest]
        _phase(results, f"cold cache on {plan.largest:,} tracks (evicting the page cache)")
        fresh = keys.sample(info.directory, plan.cold_items, plan.seed + 1, [Kind.ISRC])
        results.cold = inprocess.measure_cold(
            info.directory,
            plan.largest,
            fresh.of(Kind.ISRC),
            max(plan.batch_sizes),
            whole_machine=plan.cold_whole_machine,
        )


def write_report(results: Results, output: Path) -> None:
    """Write the report, keeping the hand-written sections of the previous one at its end."""
    output.parent.mkdir(parents=True, exist_ok=True)
    previous = output.read_text(encoding="utf-8") if output.is_file() else ""
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(with_hand_written(report.render(results), previous), encoding="utf-8")
    temporary.replace(output)


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading line, whole section text) of every `## ` section of a report."""
    parts = re.split(r"(?m)^(?=## )", text)
    return [(part.split("\n", 1)[0], part) for part in parts if part.startswith("## ")]


def with_hand_written(rendered: str, previous: str) -> str:
    """`rendered`, followed by the sections of `previous` this run does not write.

    Sections measured by other programs (several hosts, search, comparisons between
    checkouts, ...) are written by hand; a rerun must not drop them.
    """
    produced = {heading for heading, _text in _sections(rendered)}
    kept = [text.rstrip("\n") for heading, text in _sections(previous) if heading not in produced]
    if not kept:
        return rendered
    return rendered.rstrip("\n") + "\n\n" + "\n\n".join(kept) + "\n"


def _finish(results: Results, started: float) -> None:
    for figures in results.http.values():
        results.notes += figures.problems
    results.seconds = time.perf_counter() - started
    results.load_at_end = machine.load_average()


RESULTS_NAME = "results.pickle"


def save_results(results: Results) -> Path:
    """Keep the raw measurements, so the report can be rendered again without re-measuring."""
    path = results.plan.data_dir / RESULTS_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(results))
    return path


def _render_saved(args: argparse.Namespace) -> int:
    try:
        results = pickle.loads(args.from_results.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        print(f"bench: cannot read {args.from_results}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(results, Results):
        print(f"bench: {args.from_results} holds no results", file=sys.stderr)
        return 1
    output = args.output or results.plan.output
    write_report(results, output)
    say(f"report rendered again from {args.from_results} into {output}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.from_results is not None:
        return _render_saved(args)
    try:
        plan = make_plan(args)
        _check_tools(plan)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    results = Results(
        plan=plan,
        machine=machine.describe(),
        command=command_line(args),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        with sigterm_as_interrupt():
            measure(results)
    except (BenchError, KeyboardInterrupt) as exc:
        # what was measured is kept beside the report, never over a complete one
        _finish(results, started)
        reason = str(exc) if isinstance(exc, BenchError) else "interrupted"
        results.notes.insert(0, f"INCOMPLETE: the run stopped early ({reason}).")
        partial = plan.output.with_name(plan.output.stem + ".partial.md")
        try:
            save_results(results)
            write_report(results, partial)
            say(f"partial report written to {partial}")
        except Exception as failure:  # the original error matters more than this one
            say(f"no partial report: {failure!r}")
        if isinstance(exc, KeyboardInterrupt):
            raise
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    _finish(results, started)
    save_results(results)
    write_report(results, plan.output)
    say(f"report written to {plan.output}")
    for target in check(results):
        say(f"{target.verdict:>12}  {target.name}: {target.measured} (goal {target.goal})")
    return 0
