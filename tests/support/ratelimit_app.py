"""A tiny real app behind `RateLimitMiddleware`, served by a real uvicorn, for the limiter tests.

Run as a script, it does what `serve` does for rate limiting: settings from
`SNAPSHOT_API_*` variables, `create_shared_state` before uvicorn starts its
workers, `proxy_headers=False`, and the app built in each worker by a factory.

Routes: `/thing` (answers its worker's pid, padded by `?pad=N` bytes), `/whoami` (the client address
the limiter keyed on), `/batch/lookup` (`{"items": [...]}`, charged per
distinct item), `/stats` (the bucket table's occupancy), and the exempt
`/health`, `/ready`, `/metrics`.

`RunningServer` starts the script on a free loopback port and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from snapshot_api.config import add_serve_arguments, settings_from
from snapshot_api.server.errors import ApiError
from snapshot_api.server.observability import RequestContextMiddleware
from snapshot_api.server.ratelimit import (
    RateLimitMiddleware,
    charge_batch_items,
    create_shared_state,
)
from snapshot_api.server.ratelimit.client_ip import client_ip
from snapshot_api.server.routing import (
    LIVE,
    UNCACHED,
    ApiRoute,
    Endpoint,
    Handler,
    Policy,
    RouteTable,
)
from tests.support.fixtures import ROOT
from tests.support.server_process import free_port, wait_until_answers


def create() -> Starlette:
    settings = settings_from(argparse.Namespace())
    limiter: list[RateLimitMiddleware] = []

    async def thing(request: Request) -> Response:
        padding = int(request.query_params.get("pad", "0"))
        return JSONResponse({"pid": os.getpid(), "pad": "x" * padding})

    async def whoami(request: Request) -> Response:
        return JSONResponse({"client": client_ip(request.scope, settings.trusted_proxy)})

    async def batch(request: Request) -> Response:
        items = (await request.json())["items"]
        await charge_batch_items(request.scope, len(set(items)))
        return JSONResponse({"items": len(set(items)), "pid": os.getpid()})

    async def stats(request: Request) -> Response:
        table = limiter[0].table if limiter else None
        if table is None:
            return JSONResponse({})
        result = table.stats()
        return JSONResponse(
            {"capacity": result.capacity, "tracked": result.tracked, "occupied": result.occupied}
        )

    async def ok(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            exc.to_json(), status_code=exc.code.http_status, headers={"cache-control": "no-store"}
        )

    class Capture(RateLimitMiddleware):
        """The real middleware, remembered so `/stats` can read its table."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            limiter.append(self)

    def route(path: str, handler: Handler, policy: Policy = UNCACHED, method: str = "GET") -> Route:
        declared = Endpoint(path, method, policy, lambda context: handler, lambda settings: {})
        return ApiRoute(declared, handler)

    routes = [
        route("/thing", thing),
        route("/whoami", whoami),
        route("/batch/lookup", batch, method="POST"),
        route("/stats", stats),
        route("/health", ok, LIVE),
        route("/ready", ok, LIVE),
        route("/metrics", ok, LIVE),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            # the real stack's outermost layer resolves each request's route (and policy)
            Middleware(RequestContextMiddleware, routes=RouteTable(routes)),
            Middleware(Capture, settings=settings),
        ],
        exception_handlers={ApiError: api_error},
    )
    app.middleware_stack = app.build_middleware_stack()  # attach the table now, not at request 1
    return app


class RunningServer:
    """`python -m tests.support.ratelimit_app --port P OPTIONS...` as a context manager."""

    def __init__(self, *options: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SNAPSHOT_API_")}
        clean["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.ratelimit_app",
                "--port",
                str(self.port),
                *options,
            ],
            env={**clean, **(env or {})},
            cwd=ROOT,
        )
        try:
            wait_until_answers(self.url + "/health", self.process)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def _keep_alive(port: int, requests: list[bytes], statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            assert length is not None, head
            await reader.readexactly(int(length.group(1)))
            statuses[int(head[9:12])] += 1
    finally:
        writer.close()
        await writer.wait_closed()


def blast(port: int, requests: list[bytes], connections: int = 8) -> Counter[int]:
    """Send raw HTTP/1.1 requests over a few keep-alive connections; count the statuses.

    Several times faster than httpx, so tests can afford tens of thousands of requests.
    """
    statuses: Counter[int] = Counter()

    async def run() -> None:
        shares = [requests[i::connections] for i in range(connections)]
        await asyncio.gather(*(_keep_alive(port, share, statuses) for share in shares))

    asyncio.run(run())
    return statuses


def process_rss(pid: int) -> int:
    """Resident memory of a process in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def main() -> int:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    args = parser.parse_args()
    settings = settings_from(args)
    # Workers read their settings the way the app factory above does: from the
    # environment, so the command line is copied there first.
    for name in ("rate", "burst", "workers", "rate_limit_clients"):
        os.environ["SNAPSHOT_API_" + name.upper()] = str(getattr(settings, name))
    os.environ["SNAPSHOT_API_TRUSTED_PROXY"] = ",".join(str(n) for n in settings.trusted_proxy)
    # Like `serve`: several workers share one table (one worker keeps a private one).
    with create_shared_state(settings):
        uvicorn.run(
            "tests.support.ratelimit_app:create",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            proxy_headers=False,
            log_level="warning",
            access_log=False,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
