"""One settings object for the server: CLI flags, with `SNAPSHOT_API_*` variables as defaults.

Every option of `snapshot-api serve` is declared once, in `OPTIONS`; the flag,
the environment variable, the default, the parser and the help text all come
from that declaration, so they cannot drift apart.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from snapshot_api.errors import SettingsError
from snapshot_api.readmode import ReadMode, parse_read_mode

ENV_PREFIX = "SNAPSHOT_API_"
LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1/128")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("a port is 0 to 65535")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be a finite number, 0 or more")
    return value


def _log_level(text: str) -> str:
    level = text.lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"one of {', '.join(LOG_LEVELS)}")
    return level


def _network(text: str) -> Network:
    return ipaddress.ip_network(text.strip(), strict=False)


@dataclass(frozen=True, slots=True)
class Option:
    """One `serve` option: its settings field, parser, default and help."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    repeatable: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "127.0.0.1", "address to listen on"),
    Option("port", _port, 8080, "TCP port to listen on"),
    Option("workers", _positive, 1, "worker processes"),
    Option(
        "rate", _non_negative_float, 100.0, "tokens per second per client; 0 turns limiting off"
    ),
    Option("burst", _positive, 200, "bucket size per client (largest burst of requests)"),
    Option(
        "trusted_proxy",
        _network,
        DEFAULT_TRUSTED_PROXIES,
        "CIDR of a reverse proxy whose X-Forwarded-For is believed; repeatable, the list given "
        "replaces the default (loopback only); in the variable, separate CIDRs with commas",
        repeatable=True,
    ),
    Option("rate_limit_clients", _positive, 100_000, "most clients tracked by the rate limiter"),
    Option("max_batch_items", _positive, 1000, "most items in one batch request"),
    Option("max_body_bytes", _positive, 1_048_576, "largest request body, in bytes"),
    Option("cache_max_age", _non_negative_int, 86_400, "Cache-Control max-age, in seconds"),
    Option("log_level", _log_level, "info", f"one of {', '.join(LOG_LEVELS)}"),
    Option(
        "mmap",
        parse_read_mode,
        ReadMode.AUTO,
        "how the files are read: on (memory map; fastest warm), off (pread with readahead "
        "off; far faster cold), auto (map only when the snapshot fits in half of MemAvailable)",
    ),
)


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Everything `serve` needs; built once from flags and environment, then read-only."""

    snapshot_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    rate: float = 100.0
    burst: int = 200
    trusted_proxy: tuple[Network, ...] = field(
        default_factory=lambda: tuple(_network(cidr) for cidr in DEFAULT_TRUSTED_PROXIES)
    )
    rate_limit_clients: int = 100_000
    max_batch_items: int = 1000
    max_body_bytes: int = 1_048_576
    cache_max_age: int = 86_400
    log_level: str = "info"
    mmap: ReadMode = ReadMode.AUTO

    @property
    def rate_limited(self) -> bool:
        return self.rate > 0


def _from_env(option: Option, environ: Mapping[str, str]) -> Any:
    raw = environ.get(option.env)
    if raw is None or raw == "":
        return None
    try:
        if option.repeatable:
            return tuple(option.parse(part) for part in raw.split(",") if part.strip())
        return option.parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{option.env}={raw!r}: {exc}") from None


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every serve option on `parser`; values stay raw strings until `settings_from`."""
    for option in OPTIONS:
        default = option.default
        if option.repeatable:
            default = ", ".join(str(d) for d in default)
        parser.add_argument(
            option.flag,
            dest=option.name,
            action="append" if option.repeatable else "store",
            metavar=option.name.upper().split("_")[-1],
            help=f"{option.help} (default {default}; env {option.env})",
        )


def settings_from(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> ServeSettings:
    """Flags beat variables beat defaults; any bad value raises `SettingsError` naming it."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = getattr(args, option.name, None)
        if raw is not None:
            try:
                if option.repeatable:
                    values[option.name] = tuple(option.parse(item) for item in raw)
                else:
                    values[option.name] = option.parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{option.flag} {raw!r}: {exc}") from None
            continue
        from_env = _from_env(option, environ)
        if from_env is not None:
            values[option.name] = from_env
    directory = getattr(args, "snapshot_dir", None)
    if directory is not None:
        values["snapshot_dir"] = Path(directory)
    known = {f.name for f in fields(ServeSettings)}
    return ServeSettings(**{k: v for k, v in values.items() if k in known})
