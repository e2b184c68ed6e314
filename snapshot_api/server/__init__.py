"""Everything that knows HTTP: the app, its middleware, and the `serve` command.

The library (`snapshot_api.snapshot`, `documents`, `identifiers`) never imports
from here, so offline use does not pay for Starlette or uvicorn.
"""
