"""`python -m tools.bench.ab`: the library's in-process lookups in two checkouts, interleaved.

A change that should not move performance (a refactoring) is judged by
comparing it with the code before it on the same machine at the same time:
figures taken an hour apart on a shared machine differ more than most changes
do. So each round runs the baseline and the candidate one after the other
(the order alternating between rounds) as fresh processes with only
`PYTHONPATH` differing, over the same known keys of one snapshot, and the
report gives per-mode medians over rounds and the candidate/baseline ratio
of the medians. The worker imports nothing of `tools`, so a baseline
checkout needs only its `snapshot_api` package. Its figures go by hand into
BENCHMARKS.md in a hand-written section, which `python -m tools.bench` keeps.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

from snapshot_api.cli import OneLineParser
from tools.bench.keys import BENCH_KINDS, sample

MODES = [(kind.value, size) for kind in BENCH_KINDS for size in (1, 400)] + [("album_tracks", 1)]
"""(kind, batch size): every kind single and in batches of 400, and album listings."""

WORKER = r"""
import json, sys, time
import snapshot_api
from snapshot_api import Snapshot
from snapshot_api.identifiers import Kind

directory, keys_file = sys.argv[1], sys.argv[2]
keys = json.loads(open(keys_file).read())
print(json.dumps(snapshot_api.__file__), flush=True)
with Snapshot.open(directory) as snapshot:
    for line in sys.stdin:
        kind, size, seconds = json.loads(line)
        if kind == "album_tracks":
            sample = keys["album"]
            call = lambda chunk: snapshot.album_tracks_json(chunk[0])
        else:
            sample = keys[kind]
            call = lambda chunk, k=Kind(kind): snapshot.lookup_json(k, chunk)
        chunks = [sample[i : i + size] for i in range(0, len(sample) - size + 1, size)]
        for chunk in chunks:
            call(chunk)
        done, position = 0, 0
        wall, cpu = time.perf_counter(), time.process_time()
        while time.perf_counter() - wall < seconds:
            chunk = chunks[position]
            call(chunk)
            done += len(chunk)
            position = (position + 1) % len(chunks)
        cpu = time.process_time() - cpu
        print(json.dumps([done / (time.perf_counter() - wall), done / cpu]), flush=True)
"""
"""Reads [kind, batch size, seconds] lines; answers [items per wall second, per CPU second]."""


class Worker:
    """One checkout's lookups in a process of its own, timed on request."""

    def __init__(self, checkout: Path, directory: Path, keys_file: Path) -> None:
        # -S: no site initialisation, so the editable install of the running
        # checkout (an import hook from a .pth file) cannot shadow `checkout`,
        # nor can the current directory (`-c` puts it first on the path); the
        # installed dependencies come from the environment's site-packages.
        paths = sysconfig.get_paths()
        libraries = dict.fromkeys([paths["purelib"], paths["platlib"]])
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(checkout.resolve()), *libraries]),
        }
        self.checkout = checkout
        self.process = subprocess.Popen(
            [sys.executable, "-S", "-c", WORKER, str(directory.resolve()),
             str(keys_file.resolve())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment,
            cwd=checkout,
        )  # fmt: skip
        package = Path(json.loads(self._answer())).resolve()
        if not package.is_relative_to(checkout.resolve()):
            self.close()
            raise SystemExit(f"ab: {checkout} ran {package}, not its own snapshot_api")

    def _answer(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"ab: the worker in {self.checkout} stopped (see its stderr above)")
        return line

    def measure(self, kind: str, size: int, seconds: float) -> tuple[float, float]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps([kind, size, seconds]) + "\n")
        self.process.stdin.flush()
        wall, cpu = json.loads(self._answer())
        return float(wall), float(cpu)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def main() -> int:
    parser = OneLineParser(prog="python -m tools.bench.ab", description=__doc__)
    parser.add_argument("snapshot", type=Path, help="a built snapshot directory")
    parser.add_argument("baseline", type=Path, help="checkout with the code before")
    parser.add_argument("candidate", type=Path, help="checkout with the code after")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--seconds", type=float, default=1.5, help="per mode (default 1.5)")
    parser.add_argument("--keys", type=int, default=5000, help="keys per kind (default 5000)")
    parser.add_argument("--json", type=Path, help="also write every run here")
    arguments = parser.parse_args()
    keys = sample(arguments.snapshot, arguments.keys, seed=0)
    keys_file = arguments.snapshot.parent / "ab-keys.json"
    keys_file.write_text(json.dumps({kind.value: keys.of(kind) for kind in BENCH_KINDS}))
    sides = ("baseline", "candidate")
    workers = {
        side: Worker(getattr(arguments, side), arguments.snapshot, keys_file) for side in sides
    }
    # runs[side][mode] = [(wall, cpu), ...]; the two sides alternate mode by mode
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {side: {} for side in sides}
    try:
        for round_number in range(arguments.rounds):
            for index, (kind, size) in enumerate(MODES):
                flip = (round_number + index) % 2
                for side in sides[::-1] if flip else sides:
                    runs[side].setdefault(f"{kind} {size}", []).append(
                        workers[side].measure(kind, size, arguments.seconds)
                    )
            print(f"ab: round {round_number + 1} done", file=sys.stderr, flush=True)
    finally:
        for worker in workers.values():
            worker.close()
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(runs, indent=1))
    print(_table(runs))
    return 0


def _table(runs: dict[str, dict[str, list[tuple[float, float]]]]) -> str:
    lines = [
        "| mode | baseline items/s | candidate items/s | ratio"
        " | baseline items/CPU-s | candidate items/CPU-s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ratios: tuple[list[float], list[float]] = ([], [])
    for mode, baseline in runs["baseline"].items():
        cells = [mode]
        for measure in (0, 1):
            before = [run[measure] for run in baseline]
            after = [run[measure] for run in runs["candidate"][mode]]
            ratio = statistics.median(after) / statistics.median(before)
            ratios[measure].append(ratio)
            cells += [_spread(before), _spread(after), f"{ratio:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    wall, cpu = (statistics.geometric_mean(values) for values in ratios)
    lines.append(f"| geometric mean of the ratios | | | {wall:.3f} | | | {cpu:.3f} |")
    return "\n".join(lines)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


if __name__ == "__main__":
    sys.exit(main())
