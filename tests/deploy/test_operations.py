"""docs/operations.md and docs/deploy/: the compose file and the systemd units say what the
page says, and every `snapshot-api serve` command line in them is one `serve` accepts.

The command lines are parsed by the real `serve` argument parser and settings
(flags and the units' `Environment=` values), exactly as `snapshot-api serve`
does before it opens anything.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from snapshot_api.cli import build_parser
from snapshot_api.config import ServeSettings, settings_from
from tests.support.fixtures import ROOT

DOCS = ROOT / "docs"
DEPLOY = DOCS / "deploy"
SERVICES = {"caddy", "api-1", "api-2", "redis"}


def serve_settings(argv: list[str], environ: dict[str, str] | None = None) -> ServeSettings:
    """What `snapshot-api serve` makes of `argv` (without the program name)."""
    assert argv[0] == "serve", argv
    args = build_parser("serve").parse_args(argv)
    return settings_from(args, environ or {}, warn=pytest.fail)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def unit(path: Path) -> dict[str, list[str]]:
    """A systemd unit's `key=value` lines (repeated keys kept in order; sections ignored)."""
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_the_page_names_every_service_of_the_compose_file() -> None:
    page = (DOCS / "operations.md").read_text()
    services = compose()["services"]
    assert set(services) == SERVICES
    for name in SERVICES:
        assert f"`{name}`" in page, name
    for path in DEPLOY.iterdir():
        assert f"deploy/{path.name}" in page, f"{path.name} is not described"


def test_compose_servers_share_redis_and_trust_caddy_alone() -> None:
    services = compose()["services"]
    caddy_address = services["caddy"]["networks"]["fleet"]["ipv4_address"]
    upstreams = services["caddy"]["environment"]["SNAPSHOT_API_UPSTREAM"].split()
    assert upstreams == ["api-1:8080", "api-2:8080"]
    urls = set()
    for name in ("api-1", "api-2"):
        command = services[name]["command"]
        assert command[0] == "snapshot-api"
        settings = serve_settings(command[1:])
        assert settings.port == 8080 and settings.workers == 2
        assert [str(n) for n in settings.trusted_proxy] == [f"{caddy_address}/32"]
        assert settings.rate_limit_redis is not None
        assert settings.rate_limit_redis.startswith("redis://redis:")
        urls.add(settings.rate_limit_redis)
        assert services[name]["volumes"][0].endswith(":/data:ro"), "the snapshot is read-only"
        assert "ports" not in services[name], "only Caddy is published"
    assert len(urls) == 1, "one Redis for the fleet"
    assert services["caddy"]["volumes"][0].startswith("../../Caddyfile:")


def test_the_server_unit_is_a_valid_serve_invocation() -> None:
    values = unit(DEPLOY / "snapshot-api.service")
    environ = dict(item.strip('"').split("=", 1) for item in values["Environment"])
    (exec_start,) = values["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0].endswith("/snapshot-api")
    settings = serve_settings(argv[1:], environ)
    assert settings.rate_limit_redis == "redis://10.0.0.3:6379/0"
    assert [str(n) for n in settings.trusted_proxy] == ["10.0.0.1/32"]
    assert settings.snapshot_dir == Path("/srv/snapshot")
    assert values["KillSignal"] == ["SIGTERM"]
    # longer than the server's own grace for requests in flight, so systemd never SIGKILLs it
    assert int(values["TimeoutStopSec"][0]) > 30


def test_caddy_drop_in_lists_both_servers() -> None:
    values = unit(DEPLOY / "caddy-snapshot-api.conf")
    environ = dict(item.strip('"').split("=", 1) for item in values["Environment"])
    assert environ["SNAPSHOT_API_UPSTREAM"].split() == ["10.0.0.11:8080", "10.0.0.12:8080"]
    assert values["ExecStart"][0] == "", "the packaged ExecStart is cleared first"
    assert "--adapter caddyfile" in values["ExecStart"][1]


def test_redis_config_keeps_no_data() -> None:
    lines = {
        line.split(None, 1)[0]: line.split(None, 1)[1]
        for line in (DEPLOY / "redis-snapshot-api.conf").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert lines["save"] == '""' and lines["appendonly"] == "no"
    assert lines["maxmemory-policy"] == "volatile-ttl", "every bucket key has a TTL"
