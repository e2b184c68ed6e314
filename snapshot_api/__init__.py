"""snapshot-api: look up the Anna's Archive Spotify metadata dump offline.

The public surface is small on purpose: `Snapshot` opens a prepared snapshot
directory and answers lookups with the same JSON documents as the HTTP server;
everything else in the package is free to change.
"""

from snapshot_api.errors import InvalidIdentifier, NotFound, SnapshotError
from snapshot_api.snapshot import Snapshot

__version__ = "0.2.0"

__all__ = ["InvalidIdentifier", "NotFound", "Snapshot", "SnapshotError", "__version__"]
