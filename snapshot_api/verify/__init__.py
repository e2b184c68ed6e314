"""`snapshot-api verify`: is a snapshot fit to serve, and if not, exactly why.

`verifier.verify` runs the quick checks of `checks` (files, schema, indexes,
manifest, query plans) and the sampled lookups of `sampling`; `--full` adds
the page-level and checksum checks of `full`.
"""
