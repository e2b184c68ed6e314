"""Name search over tracks, albums and artists, most popular first (used by library, CLI, server).

`text` folds names and queries into terms (one rule for both sides), `index`
says how rows are keyed so matches come out in ranking order, `build` writes
the index file beside the dump, `query` answers searches from it.
"""
