"""Make or reuse the synthetic snapshots, and time the tools that make them.

A 10M-track snapshot takes minutes to synthesise, so each lives in its own
directory under the data directory with a `bench-record.json` written only
once synth has finished: a directory without it (an interrupted synth) is
removed and made again; one with it is reused and its recorded synth time is
reported as such. `build` (forced) and `verify` are timed on every run, each
in its own process, so their peak RSS is their own.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from snapshot_api.layout import MANIFEST_NAME, SIDECAR_NAME, ZST_SUFFIX, Role, find_dump_files
from tools.bench.plan import Plan
from tools.bench.processes import PYTHON, BenchError, Measured, run_measured, say

RECORD_NAME = "bench-record.json"
SYNTH_TIMEOUT = 6 * 3600.0
BUILD_TIMEOUT = 3 * 3600.0


@dataclass(frozen=True, slots=True)
class Step:
    """A timed tool run: seconds, peak RSS in MB (10^6 bytes), and whether it was recorded
    when the snapshot was made (a reused snapshot's synth)."""

    seconds: float
    peak_rss_mb: float
    reused: bool = False

    @classmethod
    def of(cls, measured: Measured, reused: bool = False) -> Step:
        return cls(measured.seconds, measured.peak_rss_kib * 1024 / 1e6, reused)


@dataclass(slots=True)
class SnapshotInfo:
    tracks: int
    directory: Path
    with_stats: bool
    synth: Step
    build: Step
    verify: Step
    build_figures: dict[str, object] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def dump_bytes(self) -> int:
        return sum(size for name, size in self.files.items() if name != SIDECAR_NAME)

    @property
    def sidecar_rows(self) -> int:
        return int(str(self.build_figures.get("barcodes_indexed", 0)))

    @property
    def sidecar_rows_per_second(self) -> float:
        seconds = float(str(self.build_figures.get("sidecar_seconds", 0.0)))
        albums = int(str(self.build_figures.get("albums", 0)))
        return albums / seconds if seconds > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class Decompression:
    tracks: int
    compressed_bytes: int
    decompressed_bytes: int
    compress_seconds: float
    decompress_seconds: float
    build: Step

    @property
    def mb_per_second(self) -> float:
        if self.decompress_seconds <= 0:
            return float("nan")
        return self.decompressed_bytes / 1e6 / self.decompress_seconds


def snapshot_dir(plan: Plan, tracks: int, *, with_stats: bool = False) -> Path:
    suffix = "-stats" if with_stats else ""
    return plan.data_dir / f"synth-{tracks}-seed{plan.seed}{suffix}"


def _read_record(directory: Path) -> dict[str, object] | None:
    try:
        record = orjson.loads((directory / RECORD_NAME).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def _synthesise(plan: Plan, tracks: int, directory: Path) -> Step:
    """Synth into `directory` unless a finished one of the same parameters is there."""
    record = _read_record(directory)
    wanted = {"tracks": tracks, "seed": plan.seed, "with_stats": False}
    if record is not None and all(record.get(k) == v for k, v in wanted.items()):
        say(f"reusing {directory} (synthesised earlier)")
        return Step(
            float(str(record["synth_seconds"])),
            float(str(record["synth_peak_rss_mb"])),
            reused=True,
        )
    if directory.exists():
        say(f"{directory} is incomplete or different: making it again")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    say(f"synthesising {tracks:,} tracks into {directory}")
    argv = [PYTHON, "-m", "tools.bench.steps", "synth", str(directory), str(tracks)]
    argv += ["--seed", str(plan.seed)]
    measured = run_measured(argv, log=directory / "synth.log", timeout=SYNTH_TIMEOUT)
    step = Step.of(measured)
    record = {**wanted, "synth_seconds": step.seconds, "synth_peak_rss_mb": step.peak_rss_mb}
    (directory / RECORD_NAME).write_bytes(orjson.dumps(record))
    return step


def _analysed_copy(plan: Plan, tracks: int, directory: Path) -> Step:
    """Copy the plain snapshot's dump files and ANALYZE the copy (reused when recorded).

    Much cheaper than synthesising the size again, and the same rows: the two
    snapshots differ only by their sqlite_stat1/stat4 tables.
    """
    record = _read_record(directory)
    wanted = {"tracks": tracks, "seed": plan.seed, "with_stats": True}
    if record is not None and all(record.get(k) == v for k, v in wanted.items()):
        say(f"reusing {directory} (copied and analysed earlier)")
        return Step(
            float(str(record["synth_seconds"])),
            float(str(record["synth_peak_rss_mb"])),
            reused=True,
        )
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    source = snapshot_dir(plan, tracks)
    say(f"copying {source.name} and running ANALYZE on the copy")
    started = time.perf_counter()
    for dump in find_dump_files(source).values():
        if not dump.compressed:
            shutil.copyfile(dump.path, directory / dump.path.name)
    copy_seconds = time.perf_counter() - started
    argv = [PYTHON, "-m", "tools.bench.steps", "analyze", str(directory)]
    measured = run_measured(argv, log=directory / "analyze.log", timeout=SYNTH_TIMEOUT)
    step = Step(copy_seconds + measured.seconds, measured.peak_rss_kib * 1024 / 1e6)
    record = {**wanted, "synth_seconds": step.seconds, "synth_peak_rss_mb": step.peak_rss_mb}
    (directory / RECORD_NAME).write_bytes(orjson.dumps(record))
    return step


def _build(directory: Path, log: Path) -> tuple[Step, dict[str, object]]:
    argv = [PYTHON, "-m", "tools.bench.steps", "build", str(directory), "--quiet"]
    measured = run_measured(argv, log=log, timeout=BUILD_TIMEOUT)
    lines = log.read_bytes().strip().splitlines()
    try:
        figures = orjson.loads(lines[-1]) if lines else {}
    except orjson.JSONDecodeError:
        raise BenchError(f"build of {directory} printed no figures; see {log}") from None
    return Step.of(measured), dict(figures)


def _verify(directory: Path, log: Path) -> Step:
    argv = [PYTHON, "-m", "snapshot_api", "verify", str(directory), "--json"]
    measured = run_measured(argv, log=log, timeout=BUILD_TIMEOUT, show_progress=False)
    return Step.of(measured)


def _file_sizes(directory: Path) -> dict[str, int]:
    sizes = {f.path.name: f.path.stat().st_size for f in find_dump_files(directory).values()}
    sidecar = directory / SIDECAR_NAME
    if sidecar.is_file():
        sizes[SIDECAR_NAME] = sidecar.stat().st_size
    return sizes


def ensure_snapshot(plan: Plan, tracks: int, *, with_stats: bool = False) -> SnapshotInfo:
    """A built, verified snapshot of `tracks` tracks, with the time each tool took.

    `with_stats`: a copy of the plain snapshot of that size (which must exist)
    with ANALYZE run on it; its "synth" time is the copy and ANALYZE.
    """
    directory = snapshot_dir(plan, tracks, with_stats=with_stats)
    if with_stats:
        synth = _analysed_copy(plan, tracks, directory)
    else:
        synth = _synthesise(plan, tracks, directory)
    say(f"building {directory.name}")
    build, figures = _build(directory, directory / "build.log")
    say(f"verifying {directory.name}")
    verify = _verify(directory, directory / "verify.log")
    counts = orjson.loads((directory / MANIFEST_NAME).read_bytes()).get("counts", {})
    return SnapshotInfo(
        tracks=tracks,
        directory=directory,
        with_stats=with_stats,
        synth=synth,
        build=build,
        verify=verify,
        build_figures=figures,
        files=_file_sizes(directory),
        counts={str(k): int(v) for k, v in counts.items()},
    )


def measure_decompression(plan: Plan, source: SnapshotInfo) -> Decompression:
    """Compress a copy of `source`'s dump files with zstandard, then time `build` on it.

    The `.zst` files are kept for the next run; the decompressed copies, the
    sidecar and the manifest are removed before and after, so every run times
    a build from compressed files only.
    """
    import zstandard

    target = plan.data_dir / f"zst-{source.tracks}-seed{plan.seed}"
    target.mkdir(parents=True, exist_ok=True)
    compress_seconds = 0.0
    compressed_bytes = 0
    for dump in find_dump_files(source.directory).values():
        if dump.role is Role.AUDIO_FEATURES:
            continue
        packed = target / (dump.path.name + ZST_SUFFIX)
        if not packed.is_file():
            say(f"compressing {dump.path.name} of {source.directory.name} with zstandard")
            started = time.perf_counter()
            partial = packed.with_name(packed.name + ".partial")
            compressor = zstandard.ZstdCompressor(level=3, threads=-1, write_content_size=True)
            with open(dump.path, "rb") as raw, open(partial, "wb") as out:
                compressor.copy_stream(raw, out, size=dump.path.stat().st_size)
            partial.rename(packed)
            compress_seconds += time.perf_counter() - started
        compressed_bytes += packed.stat().st_size
    _remove_derived(target)
    try:
        say(f"building {target.name} from compressed files")
        build, figures = _build(target, target / "build.log")
    finally:
        _remove_derived(target)
    decompressed = figures.get("decompressed", [])
    parts = decompressed if isinstance(decompressed, list) else []
    return Decompression(
        tracks=source.tracks,
        compressed_bytes=compressed_bytes,
        decompressed_bytes=sum(int(p["bytes"]) for p in parts),
        compress_seconds=compress_seconds,
        decompress_seconds=sum(float(p["seconds"]) for p in parts),
        build=build,
    )


def _remove_derived(directory: Path) -> None:
    """Everything but the `.zst` inputs: decompressed copies, sidecar, manifest."""
    for path in directory.iterdir():
        if path.is_file() and not path.name.endswith(ZST_SUFFIX):
            path.unlink()
