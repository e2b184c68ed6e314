"""Every error the library raises, in one hierarchy (nothing here knows about HTTP).

    SnapshotApiError                 the root: catch it to handle every failure we report
    ├── SnapshotError                a snapshot directory cannot be used (missing, unreadable, ...)
    │   ├── SnapshotNotPrepared      the dump was not prepared by `snapshot-api build` (or changed)
    │   ├── MissingIndex             the dump lacks an index the lookups need
    │   └── SearchUnavailable        the snapshot was built without its search index
    ├── InvalidIdentifier            malformed ISRC / barcode / Spotify id values (a ValueError)
    ├── InvalidParameter             a malformed argument other than an identifier (a ValueError)
    ├── NotFound                     an id that names nothing in the snapshot (a LookupError)
    ├── SettingsError                a bad server option or environment variable (a ValueError)
    ├── RemoteError                  a snapshot-api server could not be reached or answered an error
    ├── BuildError                   `build` could not prepare the snapshot
    ├── TaggingError                 an audio file could not be read or its tags written
    └── SynthError                   `synth` could not write the synthetic dump

Messages are for people and fit on one line: the CLI prints them as they are
(`snapshot_api.cli.main`), the server maps each class to a status and a code
in one table (`snapshot_api.server.errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SnapshotApiError(Exception):
    """The root of every error this package reports; the message is one line for people."""


class SnapshotError(SnapshotApiError):
    """A snapshot directory cannot be used (missing files, not built, unreadable)."""


class SnapshotNotPrepared(SnapshotError):
    """The directory holds a dump that `snapshot-api build` has not prepared yet."""


class MissingIndex(SnapshotError):
    """The dump lacks an index a lookup needs; the message names table and column."""


class SearchUnavailable(SnapshotError):
    """The snapshot has no search index (built with `--no-search`)."""


class NotFound(SnapshotApiError, LookupError):
    """An id that names nothing in the snapshot (e.g. `album_tracks` of an unknown album)."""


class InvalidParameter(SnapshotApiError, ValueError):
    """A malformed argument (not an identifier): `parameter` names it for the caller."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class SettingsError(SnapshotApiError, ValueError):
    """A server option or environment variable with a value it does not accept."""


class RemoteError(SnapshotApiError):
    """A snapshot-api server (used as a client, e.g. by the beets plugin) could not be
    reached, kept refusing with 429, or answered an error with no library counterpart."""


class BuildError(SnapshotApiError):
    """`snapshot-api build` could not prepare the snapshot; the message says why and what to do."""


class TaggingError(SnapshotApiError):
    """An audio file could not be read, or its new tags not written (the old file is kept).

    `path` names the file; the message says why in one line (unreadable, not an
    audio file, read-only, disk full, changed while being tagged, ...).
    """

    def __init__(self, path: object, message: str) -> None:
        super().__init__(message)
        self.path = path


class SynthError(SnapshotApiError):
    """`snapshot-api synth` could not write the dump (bad arguments, no space, existing files)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One malformed value: what kind it was meant to be, the value as given, and why."""

    kind: str
    value: object
    reason: str

    def describe(self) -> str:
        return f"{self.kind} {clip(self.value)!r}: {self.reason}"


SHOWN_CHARACTERS = 80
"""How much of a rejected value messages repeat: enough to recognise it, never a whole body."""


def clip(value: object) -> object:
    """`value`, or its first characters with the length said, when it is a long string."""
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]}… ({len(value)} characters)"
    return value


class InvalidIdentifier(SnapshotApiError, ValueError):
    """One or more values are not well-formed identifiers of their kind.

    Raised before any query runs, naming every malformed value, so a caller can
    fix all of them at once.
    """

    def __init__(self, rejections: Sequence[Rejection]) -> None:
        self.rejections = tuple(rejections)
        super().__init__("; ".join(r.describe() for r in self.rejections))
