"""`python -m snapshot_api` is the same program as the `snapshot-api` script."""

from snapshot_api.cli import main

raise SystemExit(main())
