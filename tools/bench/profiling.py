"""Where the time goes: py-spy samples of a server process under wrk load.

py-spy reads the target's stacks from outside (no instrumentation in the
server, ~no overhead at 200 Hz). Time spent in C (SQLite via apsw, orjson)
shows as its calling Python frame, so a leaf in `snapshot_api/documents/`
is SQLite finding rows and rendering documents. Samples are summarised as a
share per area (by the leaf frame's file) and the top functions by own time.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.bench.processes import Background, BenchError, run_measured

AREAS: tuple[tuple[str, str], ...] = (
    ("snapshot_api/documents/", "SQLite: probes + JSON rendering (documents)"),
    ("snapshot_api/snapshot.py", "library glue (snapshot)"),
    ("snapshot_api/server", "our HTTP layer (routes, middleware)"),
    ("snapshot_api/", "other snapshot_api"),
    ("starlette/", "Starlette"),
    ("uvicorn/", "uvicorn (HTTP protocol, socket writes)"),
    ("h11/", "uvicorn (HTTP protocol, socket writes)"),
    ("httptools/", "uvicorn (HTTP protocol, socket writes)"),
    ("asyncio/", "asyncio event loop"),
    ("selectors.py", "asyncio event loop"),
    ("structlog/", "logging"),
    ("logging/", "logging"),
    ("prometheus_client/", "metrics"),
    ("orjson", "orjson"),
)
"""Leaf frame file → area, first match wins (py-spy prints paths relative to sys.path)."""


@dataclass(frozen=True, slots=True)
class Profile:
    label: str
    samples: int
    areas: list[tuple[str, float]]
    top: list[tuple[str, float]]


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file():
        return str(beside)
    return shutil.which("py-spy")


NATIVE_AREAS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "sqlite3Btree",
            "btree",
            "moveTo",
            "getPage",
            "pcache",
            "sqlite3Pager",
            "pager",
            "sqlite3Get",
            "sqlite3VdbeRecord",
            "sqlite3VdbeIdx",
            "sqlite3VdbeFinishMoveto",
        ),
        "SQLite b-tree: index probes and row reads",
    ),
    (
        (
            "json",
            "substr",
            "concat",
            "groupConcat",
            "quote",
            "iif",
            "sqlite3VdbeMemGrow",
            "vdbeMemAddTerminator",
            "sqlite3Str",
            "setResultStr",
            "sqlite3VdbeMemSetStr",
            "sqlite3_result",
        ),
        "SQLite JSON and string building",
    ),
    (
        ("sqlite3VdbeExec", "sqlite3Vdbe", "vdbe", "sqlite3VdbeFreeCursor", "sqlite3_step"),
        "SQLite statement execution (VDBE)",
    ),
    (
        (
            "malloc",
            "free",
            "brk",
            "realloc",
            "sqlite3Mem",
            "sqlite3Malloc",
            "sqlite3_free",
            "pymalloc",
            "_int_",
        ),
        "memory allocation",
    ),
    (("unicode_", "PyUnicode"), "Python str ⇄ UTF-8 (results to str, str to bytes)"),
    (("APSWCursor", "convert_value", "APSW"), "apsw: rows to Python objects"),
    (("0x",), "libc internals (memcpy and the like, unsymbolised)"),
)
"""Native leaf function name prefix → area, for `py-spy --native` profiles."""


def _area(frame: str) -> str:
    if ".py" not in frame.split(" (", 1)[-1]:
        name = frame.split(" (", 1)[0]
        for prefixes, area in NATIVE_AREAS:
            if any(name.startswith(prefix) for prefix in prefixes):
                return area
        return "other native code"
    for marker, area in AREAS:
        if marker in frame:
            return area
    return "other (interpreter, stdlib)"


def _function(frame: str) -> str:
    """'name (path/file.py:123)' → 'name (file.py)': one entry per function, not per line."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    if short.startswith("__init__.cpython") and short.endswith(".so"):
        short = "apsw + SQLite"
    return f"{name} ({short})"


def summarise(label: str, raw: str, top: int = 8) -> Profile:
    """Areas and top functions by own samples, from py-spy's `--format raw` output."""
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        leaves[stack.split(";")[-1]] += count
        total += count
    if total == 0:
        return Profile(label, 0, [], [])
    areas: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for leaf, count in leaves.items():
        areas[_area(leaf)] += count
        functions[_function(leaf)] += count
    return Profile(
        label,
        total,
        [(area, count / total) for area, count in areas.most_common()],
        [(name, count / total) for name, count in functions.most_common(top)],
    )


def record_command(argv: list[str], seconds: int, out: Path, label: str) -> Profile:
    """Start `argv` (it prints a line `warm` when ready, then works for at least `seconds`
    more) and sample it with `py-spy --native` for `seconds` from that line on."""
    binary = py_spy()
    if binary is None:
        raise BenchError("py-spy is not installed (pip install py-spy)")
    out.unlink(missing_ok=True)
    log = out.with_suffix(".target.log")
    log.unlink(missing_ok=True)
    with Background(argv, log=log) as target:
        deadline = time.monotonic() + 300
        while "warm" not in (log.read_text(errors="replace") if log.exists() else ""):
            if not target.alive() or time.monotonic() > deadline:
                raise BenchError(f"profiling target did not get ready: {target.log_tail()}")
            time.sleep(0.1)
        command = [
            binary,
            "record",
            "--pid",
            str(target.pid),
            "--native",
            "--rate",
            "100",
            "--duration",
            str(seconds),
            "--format",
            "raw",
            "--output",
            str(out),
        ]
        run_measured(
            command, log=out.with_suffix(".log"), timeout=seconds + 120, show_progress=False
        )
    return summarise(label, out.read_text(errors="replace"))


def record(pid: int, seconds: int, out: Path, label: str, load: Callable[[], object]) -> Profile:
    """Sample `pid` for `seconds` while `load()` runs (it should last as long)."""
    binary = py_spy()
    if binary is None:
        raise BenchError("py-spy is not installed (pip install py-spy)")
    out.unlink(missing_ok=True)
    argv = [
        binary,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
    ]
    with Background(argv, log=out.with_suffix(".log")) as sampler:
        time.sleep(0.5)  # attached before the load starts
        load()
        deadline = time.monotonic() + seconds + 30
        while sampler.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
    if not out.is_file():
        raise BenchError(f"py-spy wrote no profile: {sampler.log_tail()}")
    return summarise(label, out.read_text(errors="replace"))
