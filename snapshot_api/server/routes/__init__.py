"""Every route of the server, by area; each module declares its `ENDPOINTS`.

`ENDPOINTS` is the one list the app, the middleware and the OpenAPI
description read. Order matters where paths overlap (routes are tried in
order), and the busiest routes come first.
"""

from __future__ import annotations

from snapshot_api.server.routes import batch, docs, lookup, match, search, status
from snapshot_api.server.routing import Endpoint
from snapshot_api.server.v1 import routes as v1

ENDPOINTS: tuple[Endpoint, ...] = (
    *lookup.ENDPOINTS,
    *batch.ENDPOINTS,
    *search.ENDPOINTS,
    *match.ENDPOINTS,
    *v1.ENDPOINTS,
    *status.ENDPOINTS,
    *docs.ENDPOINTS,
)
