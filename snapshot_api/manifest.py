"""`manifest.json`: what `build` learnt about a snapshot, so serving never has to.

The server takes its identity (for ETags, /ready and logs) and its row counts
(for /health and metrics) from here and never counts rows at start-up, so
start-up cost does not grow with the data. `verify` compares the recorded file
sizes and modification times with the files on disk to catch a manifest that
no longer matches them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from snapshot_api.layout import MANIFEST_NAME

MANIFEST_FORMAT = 1

SIDECAR_MANIFEST_KEY = "manifest"
"""The sidecar_meta key holding a copy of the manifest the sidecar was built with."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One dump file as `build` saw it."""

    role: str
    name: str
    size: int
    mtime_ns: int
    sha256: str | None = None

    @classmethod
    def of(cls, role: str, path: Path, sha256: str | None = None) -> FileRecord:
        stat = path.stat()
        return cls(role, path.name, stat.st_size, stat.st_mtime_ns, sha256)

    def matches(self, path: Path) -> bool:
        """True when the file on disk still has the recorded size and mtime."""
        try:
            stat = path.stat()
        except OSError:
            return False
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


def snapshot_id_of(files: list[FileRecord]) -> str:
    """The snapshot's identity: the same files give the same id (the one rule for it).

    Derived from roles, sizes and mtimes only, so any change to a file changes
    it without reading 200 GB to find out, and adding checksums later
    (`build --checksums`) keeps the id, and the ETags clients hold, unchanged.
    """
    digest = hashlib.sha256()
    for record in sorted(files, key=lambda r: r.role):
        digest.update(f"{record.role}\0{record.size}\0{record.mtime_ns}\0".encode())
    return digest.hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Manifest:
    snapshot_id: str
    tool_version: str
    built_at: str
    files: list[FileRecord]
    counts: dict[str, int]
    schema_fingerprint: str
    sidecar: dict[str, Any] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT
    search: dict[str, Any] = field(default_factory=dict)
    """The search index build made ({"file", "format", "rows"}); empty after `--no-search`."""

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse a manifest; raises ValueError naming what is wrong with it."""
        try:
            raw = orjson.loads(data)
            files = [FileRecord(**record) for record in raw["files"]]
            return cls(
                snapshot_id=str(raw["snapshot_id"]),
                tool_version=str(raw["tool_version"]),
                built_at=str(raw["built_at"]),
                files=files,
                counts={str(k): int(v) for k, v in raw["counts"].items()},
                schema_fingerprint=str(raw["schema_fingerprint"]),
                sidecar=dict(raw.get("sidecar", {})),
                format=int(raw.get("format", MANIFEST_FORMAT)),
                search=dict(raw.get("search", {})),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"manifest is not valid: {exc}") from None

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        return cls.from_json((directory / MANIFEST_NAME).read_bytes())

    def write(self, directory: Path) -> None:
        """Write atomically (temporary file, fsync, rename): a reader never sees half a manifest."""
        target = directory / MANIFEST_NAME
        temporary = directory / (MANIFEST_NAME + ".tmp")
        with open(temporary, "wb") as out:
            out.write(self.to_json())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)

    def same_build(self, copy: Manifest) -> bool:
        """True when `copy` (the one stored in the sidecar) describes this build.

        The sidecar's copy is written before the search index is built, so the
        `search` record is not part of the comparison.
        """
        return dataclasses.replace(self, search={}) == dataclasses.replace(copy, search={})

    def file(self, role: str) -> FileRecord | None:
        return next((record for record in self.files if record.role == role), None)
