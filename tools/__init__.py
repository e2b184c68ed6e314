"""Offline programs over whole snapshots: synth, build, verify, bench.

They may use the `snapshot_api` library; the library never imports them (only
`snapshot_api.cli` dispatches to them).
"""
