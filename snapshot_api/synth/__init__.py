"""Synthetic dumps in the real schema and shape, and the built-in sample snapshot.

`generate.synthesize` writes a dump of N tracks whose tables, ratios, value
shapes and dirt follow the real dump; rows come from `rows` (main database)
and `files` (track_files), made deterministic per chunk by `ids`, spread over
processes by `work`, and written by `db`; `dirty` plants the known kinds of
bad values. `sample` is the small snapshot `serve` uses when given no directory.
"""
