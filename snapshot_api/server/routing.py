"""Which route a request is for, asked before (or without) the router.

Middleware that answers on its own (a 304, a preflight, a 429) still needs the
route: the template labels logs and metrics (never the raw path, which would
make one time series per identifier), and the methods answer `OPTIONS`. The
router records the route it matched in `scope["route"]`; this table gives the
same answer when the router did not run.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

UNMATCHED = "unmatched"
"""The route label of a request that matches no route (a 404)."""


class RouteTable:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = [route for route in routes if isinstance(route, Route)]

    def _route(self, scope: Scope) -> Route | None:
        probe = {"type": "http", "path": scope["path"], "method": "GET", "root_path": ""}
        for route in self.routes:
            match, _child = route.matches({**scope, **probe})
            if match is not Match.NONE:
                return route
        return None

    def template(self, scope: Scope) -> str:
        """The route template (e.g. `/lookup/isrc/{isrc}`) of this request, or `unmatched`."""
        route = scope.get("route")
        if isinstance(route, Route):
            return route.path
        found = self._route(scope)
        return UNMATCHED if found is None else found.path

    def methods(self, scope: Scope) -> frozenset[str] | None:
        """The methods the request's path accepts (HEAD included), or None for no route."""
        found = self._route(scope)
        if found is None:
            return None
        return frozenset(found.methods or ())
