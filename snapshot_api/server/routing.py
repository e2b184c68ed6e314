"""Routes as declarations: path, methods, policy and OpenAPI operation, declared once.

An `Endpoint` is everything the server knows about one route: its handler (made
per app from an `AppContext`), its `Policy` (cacheable? rate-limited?) and its
OpenAPI operation. The app, the middleware and the OpenAPI description all read
the same declaration, so adding a route means adding one `Endpoint` to a route
module and nothing else.

Middleware that answers on its own (a 304, a preflight, a 429) needs the route
before the router has run: `RouteTable.resolve` matches it once per request (the
outermost middleware calls it) and leaves it in the scope, where `policy_of`
and the logs find it. The template labels logs and metrics (never the raw path,
which would make one time series per identifier).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.routing import Match, Route
from starlette.types import Scope

from snapshot_api.config import ServeSettings
from snapshot_api.snapshot import Snapshot

if TYPE_CHECKING:
    from snapshot_api.server.openapi import OpenApi

UNMATCHED = "unmatched"
"""The route label of a request that matches no route (a 404)."""

_SCOPE_KEY = "snapshot_api.route"

Operation = dict[str, Any]
"""An OpenAPI operation object, without the answers the policy implies (304, 429, headers)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How the middleware treats a route's answers."""

    cacheable: bool
    """GET answers depend only on the snapshot and the URL: strong ETag, Cache-Control, 304."""
    rate_limited: bool
    """Requests take tokens from the client's bucket (and answers carry the RateLimit fields)."""
    per_host: bool = False
    """Answers embed this server's own URL as the client reached it (`/v1` links): the ETag
    also covers `Host`, `X-Forwarded-Host` and `X-Forwarded-Proto`, and `Vary` names them."""


DATA = Policy(cacheable=True, rate_limited=True)
"""Answers computed from the snapshot (lookups, search, documentation pages)."""
DATA_PER_HOST = Policy(cacheable=True, rate_limited=True, per_host=True)
"""Data answers holding absolute links to this server (the Spotify-shaped `/v1` objects)."""
UNCACHED = Policy(cacheable=False, rate_limited=True)
"""Answers that depend on a request body (batches)."""
LIVE = Policy(cacheable=False, rate_limited=False)
"""Live status for operators and load balancers (health, readiness, metrics)."""


@dataclass(frozen=True, slots=True)
class AppContext:
    """What handlers are made from: the snapshot, the settings, the batch thread pool, and
    the app's OpenAPI description (rendered once, on first request)."""

    snapshot: Snapshot
    settings: ServeSettings
    executor: Executor
    openapi: OpenApi
    rate_limit_status: Callable[[], dict[str, Any]] | None = None
    """What `/health` says about rate limiting in this process (the limiter's store)."""


Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route, declared once."""

    path: str
    method: str
    policy: Policy
    handler: Callable[[AppContext], Handler]
    """Makes the ASGI app or `request -> response` function for one app."""
    operation: Callable[[ServeSettings], Operation]
    """Its OpenAPI operation for a server running with these settings."""

    def bind(self, context: AppContext) -> ApiRoute:
        return ApiRoute(self, self.handler(context))


class ApiRoute(Route):
    """A Starlette route that remembers its declaration (policy and operation)."""

    def __init__(self, endpoint: Endpoint, handler: Handler) -> None:
        super().__init__(endpoint.path, handler, methods=[endpoint.method])
        self.declaration = endpoint


def policy_of(scope: Scope) -> Policy:
    """The policy of the request's route, as resolved by the outermost middleware.

    A request with no resolved route (a 404, or an app without the resolving
    middleware) is treated as data: rate limited, never cached by us.
    """
    route = scope.get(_SCOPE_KEY)
    return route.declaration.policy if isinstance(route, ApiRoute) else UNCACHED


class RouteTable:
    """The app's routes, to find a request's route before (or without) the router."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)

    def find(self, scope: Scope) -> Route | None:
        probe = {"type": "http", "path": scope["path"], "method": "GET", "root_path": ""}
        for route in self.routes:
            match, _child = route.matches({**scope, **probe})
            if match is not Match.NONE:
                return route
        return None

    def resolve(self, scope: Scope) -> Route | None:
        """Find the request's route once and leave it in the scope for `policy_of`."""
        route = self.find(scope)
        scope[_SCOPE_KEY] = route
        return route

    def template(self, scope: Scope) -> str:
        """The route template (e.g. `/lookup/isrc/{isrc}`) of this request, or `unmatched`."""
        route = scope[_SCOPE_KEY] if _SCOPE_KEY in scope else self.find(scope)
        return UNMATCHED if route is None else route.path

    def methods(self, scope: Scope) -> frozenset[str] | None:
        """The methods the request's path accepts (HEAD included), or None for no route."""
        found = self.find(scope)
        if found is None:
            return None
        return frozenset(found.methods or ())
