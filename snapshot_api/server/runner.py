"""Running uvicorn for `snapshot-api serve`: the listening socket, one worker or several.

Start-up work does not grow with the snapshot: opening reads the manifest
written by `build` and the schema, never the data. The listening socket is
made here, not by uvicorn, for two reasons measured on this machine: created
with `IPPROTO_TCP` as its protocol, asyncio sets `TCP_NODELAY` on every
accepted connection (uvicorn's own multi-worker socket lacks it and small
answers stall ~40 ms on delayed ACKs); and one socket made before any worker
starts gives `--port 0` a single real port to report.

One worker runs in this process, on the snapshot already opened. Several run
under uvicorn's supervisor (`Multiprocess`): each worker process builds its
app with `app.worker_app()` from settings and the manifest of the snapshot
opened here, passed in the environment, and the supervisor restarts a worker
that dies (a replacement that finds the files changed answers 503, like its
siblings, rather than failing to start, which would stop the supervisor).
Either way SIGTERM (or Ctrl+C) stops accepting connections, lets the requests
in flight finish (at most `SHUTDOWN_GRACE_SECONDS`), and the command exits with
status 0; uvicorn's habit of re-raising the signal afterwards (which would end
the process with -15) is switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess, multiprocess

from snapshot_api import __version__
from snapshot_api.config import (
    WORKER_MANIFEST_ENV,
    WORKER_SETTINGS_ENV,
    ServeSettings,
    encode_settings,
)
from snapshot_api.manifest import Manifest
from snapshot_api.server.protocol import FastJsonHttpProtocol, ServerConfig
from snapshot_api.snapshot import Snapshot

# Not imported here: snapshot_api.server.app (and with it prometheus_client),
# which must only be imported once PROMETHEUS_MULTIPROC_DIR is set (see `cli.serve`).

SHUTDOWN_GRACE_SECONDS = 30
"""Longest wait for requests in flight after SIGTERM before they are cancelled."""

BACKLOG = 2048
KEEP_ALIVE_SECONDS = 5

_log = structlog.get_logger("snapshot_api.server")


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose accepted connections get TCP_NODELAY from asyncio.

    asyncio sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP;
    accepted (and, for workers, inherited) sockets keep the listener's protocol.
    """
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def log_start(settings: ServeSettings, snapshot: Snapshot, sock: socket.socket) -> None:
    manifest = snapshot.manifest
    host, port = sock.getsockname()[:2]
    _log.info(
        "serving",
        snapshot_id=manifest.snapshot_id,
        directory=str(snapshot.directory),
        counts=manifest.counts,
        track_files=snapshot.has_track_files,
        built_at=manifest.built_at,
        tool_version=manifest.tool_version,
        version=__version__,
        host=host,
        port=port,
        url=f"http://{'[' + host + ']' if ':' in host else host}:{port}",
        workers=settings.workers,
        pid=os.getpid(),
    )


def _uvicorn_options(settings: ServeSettings) -> dict[str, Any]:
    return {
        "http": FastJsonHttpProtocol,
        "loop": "uvloop",
        "log_config": None,
        "log_level": settings.log_level,
        "access_log": False,
        "lifespan": "on",
        "server_header": False,
        # the client address is resolved by snapshot_api.server.ratelimit.client_ip, against
        # --trusted-proxy; uvicorn's own handling trusts the left-most X-Forwarded-For
        "proxy_headers": False,
        "backlog": BACKLOG,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
        "header_timeout": settings.header_timeout,
        "max_connections": settings.max_connections,
    }


class DrainingServer(uvicorn.Server):
    """uvicorn's server, but SIGTERM loses no connection already waiting to be accepted.

    uvicorn's shutdown closes the listening socket at once, and the kernel resets every
    connection still in its accept queue (measured under load: ~0.5% of requests, never
    logged, during a rolling restart). Here the event loop stops accepting, then every
    queued connection is accepted and served (one request each, then closed), and only
    then is the socket closed; a client connecting after that is refused, which a proxy
    retries on another server, rather than reset after sending its request.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Accept what is queued, then stop the loop's accepting (which closes the socket),
        # with no await in between: the loop cannot accept (or the kernel queue for) the
        # connections in that gap. Only then are they handed to the protocol.
        queued = [connection for listener in sockets or [] for connection in _accept_all(listener)]
        for server in getattr(self, "servers", []):
            server.close()
        for listener in sockets or []:
            listener.close()
        loop = asyncio.get_running_loop()
        config = self.config

        def protocol() -> asyncio.Protocol:
            made: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=loop,
            )
            return made

        for connection in queued:
            await loop.connect_accepted_socket(protocol, connection)
        if queued:
            _log.info("served the queued connections before closing", connections=len(queued))
        await super().shutdown(sockets)


def _accept_all(listener: socket.socket) -> list[socket.socket]:
    """Every connection waiting in `listener`'s accept queue now (non-blocking)."""
    accepted: list[socket.socket] = []
    try:
        listener.setblocking(False)
        while True:
            connection, _address = listener.accept()
            connection.setblocking(False)
            accepted.append(connection)
    except OSError:  # BlockingIOError once empty; closed or not listening: nothing queued
        pass
    return accepted


class QuietExitServer(DrainingServer):
    """The in-process server, minus re-raising SIGTERM/SIGINT after its graceful shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class DrainingProcess(multiprocess.Process):
    """A worker process running `DrainingServer` (uvicorn's `Process` runs its own `Server`)."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = DrainingServer(config=self.config)
        return self._server


class Supervisor(Multiprocess):
    """uvicorn's supervisor; on SIGTERM or SIGINT it closes its own copy of the listener.

    The workers drain and close theirs (`DrainingServer`); the kernel's listener only
    closes, refusing new connections instead of queueing them for nobody, once every
    process holding it has closed it, this one included.
    """

    def handle_term(self) -> None:
        self._close_listeners()
        super().handle_term()

    def handle_int(self) -> None:
        self._close_listeners()
        super().handle_int()

    def _close_listeners(self) -> None:
        for listener in self.sockets:
            listener.close()


def serve_in_process(settings: ServeSettings, snapshot: Snapshot, sock: socket.socket) -> None:
    from snapshot_api.server.app import create_app

    app = create_app(settings, snapshot, owns_snapshot=True)
    QuietExitServer(ServerConfig(app, **_uvicorn_options(settings))).run(sockets=[sock])


def serve_workers(settings: ServeSettings, manifest: Manifest, sock: socket.socket) -> bool:
    """Run the workers of the snapshot `manifest` describes until SIGTERM; False when one
    failed to start (and all stopped)."""
    os.environ[WORKER_SETTINGS_ENV] = encode_settings(settings)
    os.environ[WORKER_MANIFEST_ENV] = manifest.to_json().decode()
    config = ServerConfig(
        "snapshot_api.server.app:worker_app",
        factory=True,
        workers=settings.workers,
        **_uvicorn_options(settings),
    )
    # uvicorn's supervisor makes its workers with the module's `Process` wherever it starts
    # one (start, restart, SIGHUP, SIGTTIN); pointing that name at the draining worker is
    # the one hook it offers. Only this (parent) process makes workers.
    multiprocess.Process = DrainingProcess  # type: ignore[misc]
    supervisor = Supervisor(config, sockets=[sock])
    supervisor.run()
    return all(process.exitcode != STARTUP_FAILURE for process in supervisor.processes)
