"""One settings object for the server: CLI flags, with `SNAPSHOT_API_*` variables as defaults.

Every option of `snapshot-api serve` is declared once, as a field of
`ServeSettings` whose metadata (`Option`) holds its parser, help text and what
it accepts; the default is the field's own. The flag (`--max-body-bytes`), the
variable (`SNAPSHOT_API_MAX_BODY_BYTES`), the help line, the error message for
a bad value and the JSON hand-over to worker processes are all derived from
that one declaration, so they cannot drift apart.

Rules a user meets:
- a flag beats its variable, a variable beats the default; an empty variable
  counts as unset;
- a bad value raises `SettingsError` with one line naming the flag or the
  variable, the value, and what it accepts (the CLI prints it, exit status 2);
- a `SNAPSHOT_API_*` variable that is no option (a typo such as
  `SNAPSHOT_API_WORKER=2`) is ignored with one warning line naming it and the
  closest option, not refused: the same prefix is shared with the Caddyfile's
  variables and other programs' environments, and a refusal would stop a
  server that was running fine. Variables the project itself sets or reads
  elsewhere (`NOT_OPTIONS`, and any `SNAPSHOT_API_INTERNAL_*`) are not warned
  about.
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from snapshot_api import pause
from snapshot_api.errors import SettingsError
from snapshot_api.readmode import ReadMode, parse_read_mode

ENV_PREFIX = "SNAPSHOT_API_"
LOG_LEVELS = ("debug", "info", "warning", "error")

WORKER_SETTINGS_ENV = "SNAPSHOT_API_WORKER_SETTINGS"
"""Set by `serve` for its worker processes: the resolved settings as JSON (`encode_settings`)."""

INTERNAL_PREFIX = ENV_PREFIX + "INTERNAL_"
"""Variables one process of the server sets for another (e.g. the shared rate-limit table)."""

WORKER_MANIFEST_ENV = INTERNAL_PREFIX + "WORKER_MANIFEST"
"""Set by `serve` for its worker processes: the manifest of the snapshot it opened (JSON)."""

NOT_OPTIONS = frozenset(
    {
        WORKER_SETTINGS_ENV,
        pause.ENV,
        # read by the shipped Caddyfile, often set in the same environment
        "SNAPSHOT_API_SITE_ADDRESS",
        "SNAPSHOT_API_UPSTREAM",
        "SNAPSHOT_API_CADDY_ADMIN",
    }
)
"""`SNAPSHOT_API_*` variables that are known but are not serve options: never warned about."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):  # also refuses nan
        raise ValueError
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):  # also refuses nan
        raise ValueError
    return value


def _log_level(text: str) -> str:
    level = text.lower()
    if level not in LOG_LEVELS:
        raise ValueError
    return level


def _network(text: str) -> Network:
    return ipaddress.ip_network(text.strip(), strict=False)


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_url(text: str) -> str:
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or not (parts.netloc or parts.path):
        raise ValueError("not a Redis URL")
    if parts.scheme == "unix" and not parts.path:
        raise ValueError("a unix URL names a socket by its path")
    return url


@dataclass(frozen=True, slots=True)
class Option:
    """How one settings field is read from a string (flag, variable, worker hand-over)."""

    parse: Callable[[str], Any]
    accepts: str
    """What a valid value is, in plain words, for the error message."""
    help: str
    repeatable: bool = False
    """Given several times as a flag (`append`), comma-separated in the variable."""


def _option(
    default: Any,
    parse: Callable[[str], Any],
    accepts: str,
    help: str,
    *,
    repeatable: bool = False,
) -> Any:
    """A `ServeSettings` field that is a serve option; `default` is also what help shows."""
    return field(
        default=default, metadata={"option": Option(parse, accepts, help, repeatable=repeatable)}
    )


WHOLE_NUMBER = "a whole number, 1 or more"


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Everything `serve` needs; built once from flags and environment, then read-only."""

    snapshot_dir: Path | None = None
    """The positional DIR (None: the built-in sample); not an option, never a variable."""
    host: str = _option("127.0.0.1", str, "an address or host name", "address to listen on")
    port: int = _option(8080, _port, "a port number, 0 to 65535", "TCP port to listen on")
    workers: int = _option(1, _positive, WHOLE_NUMBER, "worker processes")
    rate: float = _option(
        100.0,
        _non_negative_float,
        "a number, 0 or more (0 turns limiting off)",
        "tokens per second per client; 0 turns limiting off",
    )
    burst: int = _option(
        200, _positive, WHOLE_NUMBER, "bucket size per client (largest burst of requests)"
    )
    trusted_proxy: tuple[Network, ...] = _option(
        (_network("127.0.0.0/8"), _network("::1/128")),
        _network,
        "a network in CIDR notation such as 10.0.0.0/8 or ::1/128 (in the variable, "
        "several separated by commas)",
        "CIDR of a reverse proxy whose X-Forwarded-For is believed; repeatable, the list given "
        "replaces the default (loopback only); in the variable, separate CIDRs with commas",
        repeatable=True,
    )
    rate_limit_clients: int = _option(
        100_000, _positive, WHOLE_NUMBER, "most clients tracked by the rate limiter"
    )
    rate_limit_redis: str | None = _option(
        None,
        _redis_url,
        "a Redis URL: redis://HOST:PORT/DB, rediss://HOST:PORT/DB (TLS) or unix:///PATH",
        "keep the buckets in this Redis, shared by every server given the same URL; when it "
        "cannot be reached, requests are served without limiting",
    )
    max_batch_items: int = _option(1000, _positive, WHOLE_NUMBER, "most items in one batch request")
    max_body_bytes: int = _option(
        1_048_576, _positive, WHOLE_NUMBER, "largest request body, in bytes"
    )
    header_timeout: float = _option(
        10.0,
        _positive_float,
        "a number of seconds, more than 0",
        "seconds a client has to send a request's line and headers (from connecting, or "
        "from the first byte of the next request on a kept-alive connection); then 408 and "
        "the connection is closed",
    )
    max_connections: int = _option(
        1000,
        _positive,
        WHOLE_NUMBER,
        "most open connections per worker process; one more is answered 503 over_capacity "
        "and closed",
    )
    cache_max_age: int = _option(
        86_400,
        _non_negative_int,
        "a whole number of seconds, 0 or more",
        "Cache-Control max-age, in seconds",
    )
    log_level: str = _option(
        "info", _log_level, f"one of {', '.join(LOG_LEVELS)}", f"one of {', '.join(LOG_LEVELS)}"
    )
    mmap: ReadMode = _option(  # noqa: RUF009 (a field() like the others; ReadMode is a str)
        ReadMode.AUTO,
        parse_read_mode,
        f"one of {', '.join(mode.value for mode in ReadMode)}",
        "how the files are read: on (memory map; fastest warm), off (pread with readahead "
        "off; far faster cold), auto (map only when the snapshot fits in half of MemAvailable)",
    )

    @property
    def rate_limited(self) -> bool:
        return self.rate > 0


# --- the derived forms ----------------------------------------------------------------


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def env_of(name: str) -> str:
    return ENV_PREFIX + name.upper()


def options() -> Iterator[tuple[str, Option, Any]]:
    """(field name, option, default) of every serve option, in declaration order."""
    for item in fields(ServeSettings):
        option = item.metadata.get("option")
        if isinstance(option, Option):
            yield item.name, option, item.default


def show_value(value: Any) -> str:
    """A value as a user would type it (also the worker hand-over's text form)."""
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _parse_one(option: Option, text: str, where: str) -> Any:
    try:
        return option.parse(text)
    except ValueError:
        raise SettingsError(f"{where}: {text!r} is not {option.accepts}") from None


def _parse(option: Option, raw: str | list[str], where: str) -> Any:
    """`raw` read by `option`; `where` names the flag or variable in the error.

    A repeatable option comes as a list (flags) or comma-separated (a variable);
    the error quotes the one item that is wrong.
    """
    if not option.repeatable:
        assert isinstance(raw, str)
        return _parse_one(option, raw, where)
    items = raw if isinstance(raw, list) else [p.strip() for p in raw.split(",") if p.strip()]
    return tuple(_parse_one(option, item, where) for item in items)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every serve option on `parser`; values stay raw strings until `settings_from`."""
    for name, option, default in options():
        parser.add_argument(
            flag_of(name),
            dest=name,
            action="append" if option.repeatable else "store",
            metavar=name.upper().split("_")[-1],
            help=f"{option.help} (default {show_value(default)}; env {env_of(name)})",
        )


def _warn_on_stderr(message: str) -> None:
    print(f"snapshot-api serve: warning: {message}", file=sys.stderr)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One message per `SNAPSHOT_API_*` variable that no option reads, with the closest option."""
    known = {env_of(name) for name, _option, _default in options()}
    messages = []
    for variable in sorted(environ):
        if (
            not environ[variable]  # empty counts as unset
            or not variable.startswith(ENV_PREFIX)
            or variable in known
            or variable in NOT_OPTIONS
            or variable.startswith(INTERNAL_PREFIX)
        ):
            continue
        suffixes = sorted(name.removeprefix(ENV_PREFIX) for name in known)
        close = difflib.get_close_matches(variable.removeprefix(ENV_PREFIX), suffixes, n=1)
        hint = f" (did you mean {ENV_PREFIX}{close[0]}?)" if close else ""
        messages.append(f"{variable} is not a serve option and is ignored{hint}")
    return messages


def settings_from(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    *,
    warn: Callable[[str], None] = _warn_on_stderr,
) -> ServeSettings:
    """Flags beat variables beat defaults; a bad value raises `SettingsError` naming it.

    Unknown `SNAPSHOT_API_*` variables are passed to `warn`, one line each.
    """
    environ = os.environ if environ is None else environ
    for message in unknown_variables(environ):
        warn(message)
    values: dict[str, Any] = {}
    for name, option, _default in options():
        raw = getattr(args, name, None)
        if raw is not None:
            values[name] = _parse(option, raw, flag_of(name))
            continue
        variable = env_of(name)
        text = environ.get(variable)
        if text:
            values[name] = _parse(option, text, variable)
    directory = getattr(args, "snapshot_dir", None)
    if directory is not None:
        values["snapshot_dir"] = Path(directory)
    return ServeSettings(**values)


# --- hand-over to worker processes ----------------------------------------------------


def encode_settings(settings: ServeSettings) -> str:
    """Settings as JSON for the environment of worker processes (`WORKER_SETTINGS_ENV`).

    Each option travels in its text form and is read back by its own parser,
    so the hand-over needs nothing beyond the declaration.
    """
    values: dict[str, str | None] = {
        name: show_value(getattr(settings, name))
        for name, _option, _default in options()
        if getattr(settings, name) is not None  # unset: the worker takes the default
    }
    directory = settings.snapshot_dir
    values["snapshot_dir"] = None if directory is None else str(directory)
    return orjson.dumps(values).decode()


def decode_settings(text: str) -> ServeSettings:
    """The settings `encode_settings` wrote (a `SettingsError` if they are not that)."""
    try:
        values: dict[str, Any] = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise SettingsError(f"{WORKER_SETTINGS_ENV} is not JSON") from None
    settings: dict[str, Any] = {}
    for name, option, _default in options():
        if name in values:
            settings[name] = _parse(option, str(values[name]), f"{WORKER_SETTINGS_ENV} {name}")
    if values.get("snapshot_dir") is not None:
        settings["snapshot_dir"] = Path(values["snapshot_dir"])
    return ServeSettings(**settings)
