"""Token buckets in one fixed-size table of shared memory, so every worker sees the same bucket.

Why shared memory: uvicorn's worker processes share nothing in Python, and the
kernel hands each new connection to whichever worker accepts first. A bucket
per worker would give a client `workers` times the configured limit. So the
buckets live in one memory-mapped file (on `/dev/shm`, a tmpfs: plain RAM)
created by the serve parent before it starts the workers; each worker maps it.

Why a fixed table: memory is bounded by construction. The table is a
set-associative cache, `sets` groups of `WAYS` slots, each slot 24 bytes
(key, tokens, time of last update); 100,000 slots are 2.4 MB whatever the
traffic. A client's set is chosen by a multiplicative hash of its key with a
random odd multiplier (kept in the header so every worker agrees), and the key
itself is stored, so two clients never share a bucket. When a set is full, the
newcomer takes the slot whose bucket is (or will soonest be) full again: a full
bucket is exactly what a forgotten client gets, so evicting an idle client is
free, and evicting an active one only ever makes the limiter more lenient to
that client, never stricter to anyone.

Why these locks: each set has its own lock, a one-byte `fcntl` record lock on
the file at the set's index, so workers only wait for each other on the same
set. The kernel drops such locks when a process dies, so a crashed worker
cannot wedge the others. `fcntl` locks belong to a process, not a thread, so a
`threading.Lock` also guards the table within a process. A private table
(one worker) skips the file lock.

The arithmetic is `bucket.py`'s (the test suite checks the table admits
exactly what `aiolimiter.AsyncLimiter` would). `time.monotonic()` is the
system-wide `CLOCK_MONOTONIC` on Linux, the same in every process of a host;
buckets shared between hosts live in Redis instead (`redis_store.py`).
"""

from __future__ import annotations

import fcntl
import math
import mmap
import os
import secrets
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from snapshot_api.server.ratelimit.bucket import refill, seconds_until_full, spend

WAYS = 8
"""Slots per set: enough that collisions in a set are rare, few enough to scan quickly."""

MAGIC = b"SNAPRLT1"
_HEADER = struct.Struct("<8sIIddQ")  # magic, sets, ways, rate, burst, multiplier
HEADER_BYTES = 64
_SLOT = struct.Struct("<Qdd")  # key (0 = empty), tokens, monotonic time of the last update
_SET = struct.Struct("<" + "Qdd" * WAYS)
SLOT_BYTES = _SLOT.size
SET_BYTES = _SET.size
_MASK64 = (1 << 64) - 1


FILE_PREFIX = "snapshot-api-ratelimit-"
FILE_SUFFIX = ".table"


def remove_stale_tables(directory: Path) -> list[Path]:
    """Remove table files whose creating process is gone (a server killed with SIGKILL)."""
    removed = []
    for path in directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"):
        pid_text = path.name.removeprefix(FILE_PREFIX).split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            removed.append(path)
        except OSError:
            pass  # alive, but another user's: not ours to judge
    return removed


class TableMismatch(RuntimeError):
    """A shared table file was made for other settings (or is not a table at all)."""


def shared_memory_dir() -> Path:
    """Where shared tables live: `/dev/shm` (RAM) when usable, else the temp directory."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return Path(tempfile.gettempdir())


def sets_for(capacity: int) -> int:
    """Sets needed to track `capacity` clients (the table holds `sets * WAYS >= capacity`)."""
    return max(1, math.ceil(capacity / WAYS))


@dataclass(frozen=True, slots=True)
class TableStats:
    capacity: int
    """Slots in the table: the most clients it can remember."""
    tracked: int
    """Slots holding a bucket that is not full: clients that would notice being forgotten."""
    occupied: int
    """Slots ever used (idle ones included, which count as free)."""


class BucketTable:
    """One token bucket per key (an int in 1..2**64-1); see the module docstring."""

    __slots__ = (
        "_fd",
        "_lock",
        "_memory",
        "_multiplier",
        "_sets",
        "burst",
        "path",
        "rate",
    )

    def __init__(
        self,
        memory: mmap.mmap,
        fd: int | None,
        path: Path | None,
        *,
        rate: float,
        burst: float,
        sets: int,
        multiplier: int,
    ) -> None:
        self._memory = memory
        self._fd = fd
        self.path = path
        self.rate = rate
        self.burst = burst
        self._sets = sets
        self._multiplier = multiplier
        self._lock = threading.Lock()

    # -- construction -------------------------------------------------------------------------

    @staticmethod
    def _size(sets: int) -> int:
        return HEADER_BYTES + sets * SET_BYTES

    @classmethod
    def private(cls, rate: float, burst: float, capacity: int) -> BucketTable:
        """A table in anonymous memory for a single process (no file, no file locks)."""
        sets = sets_for(capacity)
        memory = mmap.mmap(-1, cls._size(sets))
        multiplier = secrets.randbits(64) | 1
        memory[: _HEADER.size] = _HEADER.pack(MAGIC, sets, WAYS, rate, burst, multiplier)
        return cls(memory, None, None, rate=rate, burst=burst, sets=sets, multiplier=multiplier)

    @classmethod
    def create(
        cls, rate: float, burst: float, capacity: int, directory: Path | None = None
    ) -> BucketTable:
        """A new shared table file (mode 0600) that other processes can `attach` by path.

        The name carries the creating process id, so tables left behind by a
        server that was killed (and could not remove its file) are removed by
        the next one: see `remove_stale_tables`.
        """
        sets = sets_for(capacity)
        directory = directory or shared_memory_dir()
        remove_stale_tables(directory)
        fd, name = tempfile.mkstemp(
            prefix=f"{FILE_PREFIX}{os.getpid()}-", suffix=FILE_SUFFIX, dir=directory
        )
        try:
            os.ftruncate(fd, cls._size(sets))
            memory = mmap.mmap(fd, cls._size(sets))
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        multiplier = secrets.randbits(64) | 1
        memory[: _HEADER.size] = _HEADER.pack(MAGIC, sets, WAYS, rate, burst, multiplier)
        return cls(memory, fd, Path(name), rate=rate, burst=burst, sets=sets, multiplier=multiplier)

    @classmethod
    def attach(cls, path: Path, rate: float, burst: float, capacity: int) -> BucketTable:
        """Map an existing shared table; `TableMismatch` unless it was made for these settings."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            message = f"cannot open the rate-limit table {path}: {exc.strerror}"
            raise TableMismatch(message) from None
        try:
            size = os.fstat(fd).st_size
            if size < HEADER_BYTES:
                raise TableMismatch(f"{path} is not a rate-limit table")
            memory = mmap.mmap(fd, size)
            magic, sets, ways, file_rate, file_burst, multiplier = _HEADER.unpack_from(memory)
            expected = (MAGIC, sets_for(capacity), WAYS, rate, float(burst), cls._size(sets))
            found = (magic, sets, ways, file_rate, file_burst, size)
            if found != expected:
                memory.close()
                raise TableMismatch(
                    f"the rate-limit table {path} was made for other settings "
                    f"(rate, burst or client cap differ between the serve process and this one)"
                )
        except BaseException:
            os.close(fd)
            raise
        return cls(memory, fd, path, rate=rate, burst=burst, sets=sets, multiplier=multiplier)

    def close(self) -> None:
        """Unmap (and close the file); the file itself is removed by whoever created it."""
        self._memory.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def unlink(self) -> None:
        """Remove the shared file (processes that mapped it keep their mapping)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    # -- the hot path ---------------------------------------------------------------------------

    def take(
        self, key: int, cost: float, refund: float = 0.0, now: float | None = None
    ) -> tuple[bool, float]:
        """Spend `cost` tokens of `key`'s bucket if it holds them: (admitted, tokens left).

        On refusal nothing is spent, and `refund` tokens (what an earlier step of
        the same request already paid) go back, so a refused request costs nothing.
        """
        index = (((key * self._multiplier) & _MASK64) * self._sets) >> 64
        offset = HEADER_BYTES + index * SET_BYTES
        rate, burst, memory, fd = self.rate, self.burst, self._memory, self._fd
        with self._lock:
            if fd is not None:
                fcntl.lockf(fd, fcntl.LOCK_EX, 1, index)
            try:
                if now is None:
                    now = time.monotonic()
                slots = _SET.unpack_from(memory, offset)
                keys = slots[0::3]
                try:
                    way = keys.index(key)
                except ValueError:
                    way = _victim(slots, keys, rate, burst)
                    tokens = burst
                else:
                    tokens = refill(slots[3 * way + 1], now - slots[3 * way + 2], rate, burst)
                admitted, tokens = spend(tokens, cost, refund, burst)
                _SLOT.pack_into(memory, offset + way * SLOT_BYTES, key, tokens, now)
            finally:
                if fd is not None:
                    fcntl.lockf(fd, fcntl.LOCK_UN, 1, index)
        return admitted, tokens

    # -- inspection (tests, metrics; O(capacity), never on a request path) ----------------------

    @property
    def capacity(self) -> int:
        return self._sets * WAYS

    def stats(self, now: float | None = None) -> TableStats:
        if now is None:
            now = time.monotonic()
        tracked = occupied = 0
        view = memoryview(self._memory)[HEADER_BYTES : self._size(self._sets)]
        try:
            for key, tokens, stamp in _SLOT.iter_unpack(view):
                if key:
                    occupied += 1
                    if refill(tokens, now - stamp, self.rate, self.burst) < self.burst:
                        tracked += 1
        finally:
            view.release()
        return TableStats(capacity=self.capacity, tracked=tracked, occupied=occupied)


def _victim(slots: tuple[float, ...], keys: tuple[float, ...], rate: float, burst: float) -> int:
    """The way a newcomer takes: an empty slot, else the bucket that is (or soonest gets) full."""
    if 0 in keys:
        return keys.index(0)
    best, best_full_at = 0, math.inf
    for way in range(WAYS):
        full_at = slots[3 * way + 2] + seconds_until_full(slots[3 * way + 1], rate, burst)
        if full_at < best_full_at:
            best, best_full_at = way, full_at
    return best
