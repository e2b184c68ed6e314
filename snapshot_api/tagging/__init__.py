"""Tagging audio files offline from a snapshot: `Tagger` (identify, propose, apply).

- `fields`: the per-format tag table (ID3, Vorbis comments, MP4 atoms);
- `audio`: reading and writing tags with mutagen, and the audio part's digest;
- `propose`: which tags to fill or overwrite from a track document;
- `safewrite`: all-or-nothing writes through a verified copy;
- `tagger`: identification (Spotify id, ISRC, barcode and position, match) and
  the whole job over files and directories, used by `snapshot-api tag`.

Importing this package imports mutagen; `import snapshot_api` does not.
"""

from snapshot_api.tagging.audio import AudioFile, Container
from snapshot_api.tagging.fields import Field, Format
from snapshot_api.tagging.propose import Change, Proposal
from snapshot_api.tagging.tagger import (
    DEFAULT_MIN_SCORE,
    Identification,
    Method,
    Report,
    Status,
    Tagger,
)

__all__ = [
    "DEFAULT_MIN_SCORE",
    "AudioFile",
    "Change",
    "Container",
    "Field",
    "Format",
    "Identification",
    "Method",
    "Proposal",
    "Report",
    "Status",
    "Tagger",
]
