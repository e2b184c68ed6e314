"""Smoke test of `tools/bench --quick`: the benchmark runs end to end and reports every section.

Real parts only: synth and build make tiny snapshots, our server and Datasette
run on loopback ports, wrk loads them. No figure is asserted (performance is
the report's business, not a test's); what is asserted is that every section
is there with numbers, that the quick run never touches BENCHMARKS.md, and
that bad arguments are one line and exit status 2.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.support.server_process import ServerProcess, start_server
from tests.support.tools import require_program
from tools.bench import search as search_bench
from tools.bench.cold import post_each_once
from tools.bench.processes import BenchError
from tools.bench.report import SECTIONS
from tools.bench.stats import Summary, ratio, spread
from tools.bench.wrk import parse

ROOT = Path(__file__).resolve().parents[2]

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:8080/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   731.25us    1.09ms  13.15ms   89.78%
    Req/Sec    34.63k     3.82k   41.63k    76.67%
  Latency Distribution
     50%  369.00us
     75%  684.00us
     90%    1.86ms
     99%    1.20s
  103408 requests in 3.00s, 13.12MB read
  Non-2xx or 3xx responses: 7
Requests/sec:  34428.97
Transfer/sec:      4.37MB
"""


def test_wrk_report_is_read_with_units_and_errors() -> None:
    result = parse(WRK_OUTPUT)
    assert result.requests_per_second == pytest.approx(34428.97)
    assert result.p50_ms == pytest.approx(0.369)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.requests == 103408
    assert result.bad_responses == 7
    assert not result.clean


def test_summary_is_median_and_range() -> None:
    summary = Summary.of([3.0, 1.0, 2.0, 10.0])
    assert (summary.median, summary.low, summary.high, summary.runs) == (2.5, 1.0, 10.0, 4)
    assert spread(Summary.of([5.0])) == "5.00"
    assert spread(summary.scaled(1000)) == "2,500 (1,000–10,000)"
    assert ratio(1.0, 0.0) == "n/a"


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    require_program("wrk", "wrk")  # the benchmark's load generator
    data = tmp_path_factory.mktemp("bench")
    before = (ROOT / "BENCHMARKS.md").read_bytes() if (ROOT / "BENCHMARKS.md").exists() else None
    done = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--quick", "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    after = (ROOT / "BENCHMARKS.md").read_bytes() if (ROOT / "BENCHMARKS.md").exists() else None
    assert after == before, "--quick must not write BENCHMARKS.md"
    report = data / "BENCHMARKS-quick.md"
    return report, report.read_text(encoding="utf-8")


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^(## .+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@pytest.mark.slow
def test_quick_run_reports_every_section_with_numbers(quick_report: tuple[Path, str]) -> None:
    _path, text = quick_report
    sections = _sections(text)
    headings = [heading for heading in sections if heading in SECTIONS]
    assert headings == list(SECTIONS), f"missing or out of order: {set(SECTIONS) - set(headings)}"
    for heading in SECTIONS:
        body = sections[heading]
        assert "Not measured" not in body, f"{heading} was not measured"
        if heading in ("## Machine", "## Commands"):
            continue
        rows = [line for line in body.splitlines() if line.startswith("| ") and "---" not in line]
        numeric = [row for row in rows[1:] if re.search(r"\|\s*[\d,.]+[^|]*\|", row)]
        assert numeric, f"{heading} has no table row with numbers"


@pytest.mark.slow
def test_quick_run_records_the_machine_command_and_targets(
    quick_report: tuple[Path, str],
) -> None:
    _path, text = quick_report
    assert re.search(r"- CPU: .+, \d+ cores", text)
    assert re.search(r"- Memory: [\d.]+ GiB", text)
    assert "python -m tools.bench --quick --data-dir" in text
    targets = _sections(text)["## Targets"]
    for phrase in ("ours / Datasette", "in-process items/s", "library / floor",
                   "per-lookup cost", "start-up", "RssAnon", "lookup_json"):  # fmt: skip
        assert phrase in targets, phrase
    assert re.search(r"\| (met|MISSED) \|", targets)


def _assert_refused_in_one_line(*argv: str, naming: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert naming in done.stderr


def test_bad_arguments_are_one_line_and_status_2() -> None:
    _assert_refused_in_one_line("tools.bench", "--sizes", "ten", naming="--sizes")


def test_a_rewritten_report_keeps_the_hand_written_sections() -> None:
    from tools.bench import with_hand_written

    previous = "# Benchmarks\n\n## Lookups\n\nold\n\n## Several hosts\n\nby hand\n"
    rendered = "# Benchmarks\n\n## Lookups\n\nnew\n"
    kept = with_hand_written(rendered, previous)
    assert kept == "# Benchmarks\n\n## Lookups\n\nnew\n\n## Several hosts\n\nby hand\n"
    assert with_hand_written(rendered, "") == rendered
    current = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert with_hand_written(current, current) == current


def test_cold_batches_are_each_posted_once(built_snapshot: Path) -> None:
    """The cold bench times batches by posting each body once over N connections: every
    body reaches the server exactly once, and an error answer fails the run."""
    isrcs = _some_isrcs(built_snapshot, 24)
    assert len(isrcs) == 24
    bodies = [orjson.dumps({"isrcs": isrcs[i : i + 4]}) for i in range(0, len(isrcs), 4)]
    server = start_server(built_snapshot, "--rate", "0")
    try:
        seconds = post_each_once(server.port, "/batch/lookup", bodies, 3)
        assert seconds > 0
        server.wait_for(lambda line: len(_batch_requests(server)) >= len(bodies))
        assert len(_batch_requests(server)) == len(bodies)
        with pytest.raises(BenchError, match="HTTP 400"):
            post_each_once(server.port, "/batch/lookup", [b'{"isrcs": 5}'], 1)
    finally:
        server.stop()


def _batch_requests(server: ServerProcess) -> list[dict[str, object]]:
    return [line for line in server.events("request") if line.get("route") == "/batch/lookup"]


def _some_isrcs(directory: Path, count: int) -> list[str]:
    uri = f"file:{directory / 'spotify_clean.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        rows = db.execute(
            "SELECT external_id_isrc FROM tracks WHERE external_id_isrc IS NOT NULL LIMIT ?",
            (count,),
        )
        return [str(row[0]) for row in rows]


def test_search_ratios_compare_each_class_with_the_smallest_snapshot() -> None:
    small, large, larger = Path("s"), Path("l"), Path("xl")
    measured = {
        large: {"one word": 0.003, "an AND": 0.004},
        small: {"one word": 0.002, "an AND": 0.001},
        larger: {"one word": 0.001},
    }
    lines: list[str] = []
    search_bench.ratio_report(measured, {small: 10, large: 100, larger: 1000}, lines.append)
    text = "\n".join(lines)
    assert "against 10 tracks (s)" in text
    assert "| query | 100 tracks | 1,000 tracks |" in text
    assert f"| one word | {0.003 / 0.002:.2f}× | {0.001 / 0.002:.2f}× |" in text
    assert f"| an AND | {0.004 / 0.001:.2f}× | — |" in text


def test_search_bench_on_two_snapshots_prints_every_class_against_the_smaller(
    built_snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = built_snapshot.parent / "same-snapshot-again"
    if not other.exists():
        other.symlink_to(built_snapshot, target_is_directory=True)
    assert search_bench.main([str(built_snapshot), str(other), "--rounds", "1"]) == 0
    text = capsys.readouterr().out
    first_table = text.split("The Go server's method")[0]
    classes = re.findall(r"^\| ([a-z][^|]*?) \| \d+ \|", first_table, flags=re.M)
    ratios = text.split("Per-query cost (p50) against")[1]
    assert len(classes) > 5
    for name in classes:
        assert re.search(rf"^\| {re.escape(name)} \| [\d.]+× \|$", ratios, flags=re.M), name


def test_fts_scale_model_holds_its_lists_and_is_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.bench import fts_scale

    sizes = (2_000, 30_000)
    (tmp_path / (fts_scale.model_file(tmp_path, 2_000, 321).name + ".tmp")).write_bytes(b"torn")
    assert fts_scale.main([str(tmp_path), "--sizes", "3e4,2000", "--rounds", "1"]) == 0
    table = capsys.readouterr().out
    for tracks in sizes:
        rows = dict(fts_scale.rows(tracks, seed=tracks))
        common = {rowid for rowid, words in rows.items() if fts_scale.COMMON in words.split()}
        shared = [
            sum(1 for rowid in common if fts_scale.rare_word(n) in rows[rowid].split())
            for n in range(fts_scale.RARE_WORDS)
        ]
        assert abs(len(common) / tracks - fts_scale.COMMON_SHARE) < 0.01
        assert f"| {tracks:,} | " in table
        assert f" | {sum(shared) / len(shared):.1f} | " in table
    path = fts_scale.model_file(tmp_path, 2_000, 321)
    built = path.stat().st_mtime_ns
    assert fts_scale.main([str(tmp_path), "--sizes", "2000", "--rounds", "1"]) == 0
    assert path.stat().st_mtime_ns == built
    assert not list(tmp_path.glob("*.tmp"))
    _assert_refused_in_one_line(
        "tools.bench.fts_scale", str(tmp_path), "--sizes", "100", naming="--sizes"
    )
