"""Documents: the one place that knows the dump's columns and how they become JSON.

- `fields`: the table of every document kind's fields (name, source column,
  shape, type, description); the SQL and the JSON Schemas are both made from it.
- `sql`: the expressions rendering a document inside SQLite; `statements`:
  the set-based statements of each lookup with their indexes pinned;
  `indexes`: finding those indexes in a file's schema; `run`: executing a
  lookup and checking the text it returns; `schemas`: the JSON Schemas.

Why documents are rendered inside SQLite: one statement per lookup renders
every document completely (`json_quote` and string concatenation), with the
album and all artists inline. Measured at 1M tracks, batch of 400 ISRCs:
17.5k items/s on one thread and 23k on two, against 15k and 16k when Python
spliced separately fetched artist documents: SQLite works with the GIL
released, so threads overlap, and Python is left with collecting one value
per document. The library's dict API parses the same bytes, so library and
HTTP answers cannot differ.
"""

from snapshot_api.documents.indexes import REQUIRED_INDEXES, find_indexes
from snapshot_api.documents.run import (
    album_tracks,
    album_tracks_many,
    artist_albums,
    lookup,
    markets,
    utf8,
)
from snapshot_api.documents.schemas import json_schemas
from snapshot_api.documents.statements import ALBUM_JSON, ARTIST_JSON, Queries, by_rowid_sql

__all__ = [
    "ALBUM_JSON",
    "ARTIST_JSON",
    "REQUIRED_INDEXES",
    "Queries",
    "album_tracks",
    "album_tracks_many",
    "artist_albums",
    "by_rowid_sql",
    "find_indexes",
    "json_schemas",
    "lookup",
    "markets",
    "utf8",
]
