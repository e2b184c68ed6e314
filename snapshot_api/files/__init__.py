"""The snapshot's files as files: SQLite headers, checksums, schema conformance, long reads.

Shared by `build` and `verify`, so neither takes its rules from the other.
"""
