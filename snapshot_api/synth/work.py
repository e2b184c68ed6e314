"""Making chunks of rows in worker processes, handed back in order.

Generating rows is Python work, so worker processes generate and pack each
chunk into a small in-memory database (`synth_db.ChunkPacker`), and the
parent only copies packed chunks into the files. Each task is a pure function
of the seed and the task (`synth_rows`), and chunks are consumed in task
order, so the files are the same bytes whatever the number of workers (with
one, the same packing happens in-process). At most `2 × workers` tasks are in
flight, which bounds memory.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from snapshot_api.layout import SCHEMA_FILES, Role
from snapshot_api.synth.audio import COLUMNS as AUDIO_COLUMNS
from snapshot_api.synth.audio import AudioFeatures
from snapshot_api.synth.db import ChunkPacker, Packed, ddl_of
from snapshot_api.synth.files import COLUMNS as FILES_COLUMNS
from snapshot_api.synth.files import TrackFiles
from snapshot_api.synth.rows import COLUMNS as MAIN_COLUMNS
from snapshot_api.synth.rows import ChunkPlan, Generator, Plan

Chunk = dict[Role, Packed]
"""A chunk of rows, packed per database file."""

Task = tuple[str, int | ChunkPlan]
"""("artists", chunk number), ("markets", 0) or ("tracks", ChunkPlan)."""


class WorkerFailed(Exception):
    """A worker process died (killed, out of memory); the message says so."""


class ChunkMaker:
    """Turns tasks into rows for one (tracks, seed, track_files, audio_features) plan."""

    def __init__(
        self, tracks: int, seed: int, track_files: bool, audio_features: bool = False
    ) -> None:
        self.generator = Generator(Plan.of(tracks, seed))
        self.files = TrackFiles(seed) if track_files else None
        self.audio = AudioFeatures(seed) if audio_features else None
        self._main = ChunkPacker(ddl_of(SCHEMA_FILES[Role.MAIN]), MAIN_COLUMNS)
        self._track_files = ChunkPacker(ddl_of(SCHEMA_FILES[Role.TRACK_FILES]), FILES_COLUMNS)
        self._audio = ChunkPacker(ddl_of(SCHEMA_FILES[Role.AUDIO_FEATURES]), AUDIO_COLUMNS)

    def tasks(self) -> Iterator[Task]:
        """Every task in the order the rows are written: artists, markets, tracks."""
        for number in range(self.generator.artist_chunk_count()):
            yield ("artists", number)
        yield ("markets", 0)
        for plan in self.generator.track_chunk_plans():
            yield ("tracks", plan)

    def make(self, task: Task) -> Chunk:
        kind, argument = task
        if kind == "artists":
            assert isinstance(argument, int)
            return {Role.MAIN: self._main.pack(self.generator.artist_chunk(argument))}
        if kind == "markets":
            return {Role.MAIN: self._main.pack({"available_markets": self.generator.market_rows()})}
        assert isinstance(argument, ChunkPlan)
        chunk = self.generator.track_chunk(argument)
        packed = {Role.MAIN: self._main.pack(chunk.rows)}
        if self.files is not None:
            rows = self.files.chunk(chunk.number, chunk.tracks)
            packed[Role.TRACK_FILES] = self._track_files.pack({"track_files": rows})
        if self.audio is not None:
            features = self.audio.chunk(chunk.number, chunk.tracks)
            packed[Role.AUDIO_FEATURES] = self._audio.pack({"track_audio_features": features})
        return packed


_maker: ChunkMaker | None = None


def _start_worker(tracks: int, seed: int, track_files: bool, audio_features: bool) -> None:
    global _maker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.disable()  # rows are lists without cycles: reference counting frees them
    _maker = ChunkMaker(tracks, seed, track_files, audio_features)


def _make(task: Task) -> Chunk:
    assert _maker is not None
    return _maker.make(task)


def _context() -> multiprocessing.context.BaseContext:
    """fork where there is one: no re-import, and no re-run of a caller's unguarded script
    (which "spawn" does); the workers only run pure Python and never touch the parent's
    open databases."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def produce(maker: ChunkMaker, workers: int) -> Iterator[Chunk]:
    """The rows of every task in order, made here (workers ≤ 1) or in worker processes."""
    if workers <= 1:
        collecting = gc.isenabled()
        gc.disable()  # rows are lists without cycles: cyclic collection passes only cost time
        try:
            for task in maker.tasks():
                yield maker.make(task)
        finally:
            if collecting:
                gc.enable()
        return
    plan = maker.generator.plan
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(plan.tracks, plan.seed, maker.files is not None, maker.audio is not None),
    )
    try:
        yield from _in_order(pool, maker.tasks(), 2 * workers)
    except BrokenProcessPool:
        raise WorkerFailed("a worker process generating rows stopped unexpectedly") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _in_order(pool: ProcessPoolExecutor, tasks: Iterable[Task], window: int) -> Iterator[Chunk]:
    pending: deque[Future[Chunk]] = deque()
    for task in tasks:
        pending.append(pool.submit(_make, task))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
