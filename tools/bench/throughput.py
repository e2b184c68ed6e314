"""Items per second of a lookup function, on one or more threads, for a fixed time.

The same harness times the library (`inprocess`) and the bare SQLite probes
(`floor`), so their ratio compares like with like: same keys, same batching,
same threads, same clock. Each thread walks its own slice of the keys in
batches until the time is up; a warm-up pass over every key first brings the
pages into the cache ("warm cache" figures) and prepares the statements.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence

Lookup = Callable[[Sequence[str]], int]
"""Looks up a batch of keys; returns how many answers came back (to check hits)."""

LookupFactory = Callable[[], Lookup]
"""Makes a thread's own lookup function (its own connection, if it needs one)."""


def batches(keys: Sequence[str], size: int, *, whole: bool = False) -> list[Sequence[str]]:
    """Consecutive batches of exactly `size` keys (the timed loops need the size exact);
    with `whole`, the shorter last batch too, so every key is in one."""
    end = len(keys) if whole else len(keys) - size + 1
    return [keys[start : start + size] for start in range(0, end, size)] or [keys[:size]]


def warm(factory: LookupFactory, keys: Sequence[str], size: int = 400) -> int:
    """Every key once, in batches: pages cached, statements prepared. Returns answers."""
    lookup = factory()
    return sum(lookup(chunk) for chunk in batches(keys, size, whole=True))


def items_per_second(
    factory: LookupFactory,
    keys: Sequence[str],
    batch_size: int,
    *,
    threads: int = 1,
    seconds: float = 2.0,
) -> float:
    """Keys looked up per second over `seconds`, `threads` threads each on its own keys."""
    if not keys:
        raise ValueError("no keys to look up")
    share = max(len(keys) // threads, batch_size)
    slices = [keys[i * share : (i + 1) * share] or keys[:share] for i in range(threads)]
    counts = [0] * threads
    errors: list[BaseException] = []
    ready = threading.Barrier(threads + 1)
    go = threading.Event()
    stop_at = [0.0]

    def work(index: int) -> None:
        try:
            lookup = factory()
            chunks = batches(slices[index], batch_size)
            lookup(chunks[0])
        except BaseException as exc:
            errors.append(exc)
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        go.wait()
        done = 0
        position = 0
        try:
            while time.perf_counter() < stop_at[0]:
                chunk = chunks[position]
                lookup(chunk)
                done += len(chunk)
                position = (position + 1) % len(chunks)
        except BaseException as exc:
            errors.append(exc)
        counts[index] = done

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait()  # every worker has its connection and has run a first batch
    started = time.perf_counter()
    stop_at[0] = started + seconds
    go.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(counts) / elapsed
