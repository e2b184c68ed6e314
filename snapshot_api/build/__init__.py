"""`snapshot-api build`: turn a downloaded dump into a snapshot fit to serve.

The steps, in `pipeline.build`: decompress `.zst` files (`decompress`), check
each file's schema (`snapshot_api.files.schema_check`), write our derived
indexes beside the dump (`sidecar`), then `manifest.json`. The dump files are
opened read-only throughout; every step is restartable, and a re-run with
unchanged files does nothing.
"""
