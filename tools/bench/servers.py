"""The servers under load: ours, the peer (Datasette) and a trivial endpoint for wrk's ceiling.

Each is a real process on a loopback port, started in its own process group
and stopped with it (`processes.Background`). Start-up time is from spawning
the process to the first 200 answer to a real lookup, so it includes the
interpreter, imports and opening the snapshot. Memory is `RssAnon` of every
process of the server (the supervisor and its workers when `--workers` > 1).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from snapshot_api.layout import Role, find_dump_files
from tools.bench.processes import (
    PYTHON,
    Background,
    BenchError,
    descendants,
    free_port,
    rss_anon_kib,
    wait_until_answers,
)

START_TIMEOUT = 60.0
PEER_QUERY = "tracks_by_isrc"

PEER_SQL = """select t.id, t.name, t.external_id_isrc as isrc, t.duration_ms, t.explicit,
  t.track_number, t.disc_number, t.popularity, t.preview_url,
  al.id as album_id, al.name as album_name, al.album_type as album_type,
  al.label as album_label, al.release_date as album_release_date,
  al.release_date_precision as album_release_date_precision, al.external_id_upc as album_upc,
  al.total_tracks as album_total_tracks, al.copyright_c as album_copyright,
  al.copyright_p as album_copyright_p, al.popularity as album_popularity
from tracks as t left join albums as al on al.rowid = t.album_rowid
where t.external_id_isrc = :isrc
order by t.popularity desc, t.rowid"""
"""The peer's canned query: the same track and album fields as our track documents, for an ISRC
(ours also carries artists, images and track_files fields: more work per answer, not less)."""


@dataclass(frozen=True, slots=True)
class Memory:
    """RssAnon in MB (10^6 bytes, as the target is stated): the largest worker, and all of
    the server's processes together."""

    worker_mb: float
    total_mb: float
    processes: int


@dataclass
class Running:
    name: str
    port: int
    process: Background
    startup_seconds: float

    def memory(self) -> Memory:
        root = self.process.pid
        workers = descendants(root)
        # with several workers the root is a supervisor; the workers are what scales
        measured = [rss_anon_kib(pid) for pid in workers] if workers else [rss_anon_kib(root)]
        total = rss_anon_kib(root) + (sum(measured) if workers else 0)
        return Memory(max(measured) * 1024 / 1e6, total * 1024 / 1e6, 1 + len(workers))


def isrc_path(isrc: str) -> str:
    return f"/lookup/isrc/{isrc}"


def peer_path(database: str, isrc: str) -> str:
    return f"/{database}/{PEER_QUERY}.json?isrc={isrc}&_shape=array"


def ours_argv(directory: Path, port: int, workers: int) -> list[str]:
    return [
        PYTHON,
        "-m",
        "snapshot_api",
        "serve",
        str(directory),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--rate",
        "0",
    ]


def write_peer_metadata(path: Path, database: str) -> Path:
    metadata = {"databases": {database: {"queries": {PEER_QUERY: {"sql": PEER_SQL}}}}}
    path.write_bytes(orjson.dumps(metadata, option=orjson.OPT_INDENT_2))
    return path


def peer_argv(main_file: Path, metadata: Path, port: int) -> list[str]:
    return [
        PYTHON,
        "-m",
        "datasette",
        "serve",
        "-i",
        str(main_file),
        "--metadata",
        str(metadata),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@contextlib.contextmanager
def ours(directory: Path, workers: int, logs: Path, probe_isrc: str) -> Iterator[Running]:
    port = free_port()
    log = logs / f"ours-{directory.name}-{workers}w.log"
    with Background(ours_argv(directory, port, workers), log=log) as process:
        seconds = wait_until_answers(process, port, isrc_path(probe_isrc), START_TIMEOUT)
        yield Running(
            f"snapshot-api ({workers} worker{'s' if workers > 1 else ''})", port, process, seconds
        )


def peer_database(directory: Path) -> tuple[Path, str]:
    main = find_dump_files(directory)[Role.MAIN].path
    return main, main.name.removesuffix(".sqlite3")


@contextlib.contextmanager
def datasette(directory: Path, logs: Path, probe_isrc: str) -> Iterator[Running]:
    main, database = peer_database(directory)
    metadata = write_peer_metadata(logs / f"datasette-{directory.name}.json", database)
    port = free_port()
    log = logs / f"datasette-{directory.name}.log"
    with Background(peer_argv(main, metadata, port), log=log) as process:
        path = peer_path(database, probe_isrc)
        seconds = wait_until_answers(process, port, path, START_TIMEOUT)
        yield Running("Datasette", port, process, seconds)


TRIVIAL_SERVER = """
import asyncio, sys
RESPONSE = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"
class Ok(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(RESPONSE * data.count(b"\\r\\n\\r\\n"))
async def main():
    server = await asyncio.get_running_loop().create_server(Ok, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


@contextlib.contextmanager
def trivial(logs: Path) -> Iterator[Running]:
    """A server that answers `ok` and does nothing else: Caddy's `respond` when installed
    (compiled, multi-threaded), else a bare asyncio protocol."""
    port = free_port()
    caddy = shutil.which("caddy")
    if caddy is not None:
        argv = [caddy, "respond", "--listen", f"127.0.0.1:{port}", "--body", "ok"]
        name = "Caddy `respond` (static 'ok')"
    else:
        argv = [PYTHON, "-c", TRIVIAL_SERVER, str(port)]
        name = "bare asyncio protocol (static 'ok')"
    with Background(argv, log=logs / "trivial.log") as process:
        seconds = wait_until_answers(process, port, "/", START_TIMEOUT)
        yield Running(name, port, process, seconds)


def settle(seconds: float = 0.5) -> None:
    """A short pause between runs so one run's stragglers do not land in the next."""
    time.sleep(seconds)


def require_alive(server: Running) -> None:
    if not server.process.alive():
        raise BenchError(f"{server.name} stopped during the run: {server.process.log_tail()}")
