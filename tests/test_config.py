"""`settings_from`: defaults, variables, flags, bad values, unknown variables, worker hand-over."""

from __future__ import annotations

import argparse
import ipaddress
import os
import subprocess
from pathlib import Path

import pytest

from snapshot_api.config import (
    WORKER_SETTINGS_ENV,
    ServeSettings,
    add_serve_arguments,
    decode_settings,
    encode_settings,
    settings_from,
)
from snapshot_api.errors import SettingsError
from tests.support.fixtures import run_command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("snapshot_dir", nargs="?")
    add_serve_arguments(parser)
    return parser.parse_args(list(argv))


def settings(*argv: str, **environ: str) -> tuple[ServeSettings, list[str]]:
    warnings: list[str] = []
    return settings_from(parse(*argv), environ=environ, warn=warnings.append), warnings


def test_defaults_without_flags_or_variables() -> None:
    got, warnings = settings()
    assert got == ServeSettings()
    assert (got.host, got.port, got.workers) == ("127.0.0.1", 8080, 1)
    assert (got.rate, got.burst, got.rate_limit_clients) == (100, 200, 100_000)
    assert got.trusted_proxy == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert (got.max_batch_items, got.max_body_bytes, got.cache_max_age) == (1000, 1_048_576, 86_400)
    assert got.log_level == "info" and got.snapshot_dir is None
    assert warnings == []


def test_variables_override_the_defaults() -> None:
    got, warnings = settings(
        SNAPSHOT_API_HOST="0.0.0.0",
        SNAPSHOT_API_PORT="9000",
        SNAPSHOT_API_WORKERS="3",
        SNAPSHOT_API_RATE="2.5",
        SNAPSHOT_API_TRUSTED_PROXY="10.0.0.0/8, 192.168.1.7",
        SNAPSHOT_API_LOG_LEVEL="WARNING",
        SNAPSHOT_API_CACHE_MAX_AGE="0",
    )
    assert (got.host, got.port, got.workers, got.rate) == ("0.0.0.0", 9000, 3, 2.5)
    assert got.trusted_proxy == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
    )
    assert got.log_level == "warning" and got.cache_max_age == 0
    assert warnings == []


def test_an_empty_variable_counts_as_unset() -> None:
    got, _ = settings(SNAPSHOT_API_WORKERS="")
    assert got.workers == 1


def test_a_flag_beats_its_variable() -> None:
    got, _ = settings(
        "DIR",
        "--workers",
        "2",
        "--trusted-proxy",
        "10.1.0.0/16",
        "--trusted-proxy",
        "::1",
        SNAPSHOT_API_WORKERS="5",
        SNAPSHOT_API_TRUSTED_PROXY="172.17.0.1/32",
        SNAPSHOT_API_PORT="81",
    )
    assert got.workers == 2 and got.port == 81
    assert got.trusted_proxy == (
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("::1/128"),
    )
    assert got.snapshot_dir == Path("DIR")


@pytest.mark.parametrize(
    ("variable", "value", "accepts"),
    [
        ("SNAPSHOT_API_WORKERS", "abc", "a whole number, 1 or more"),
        ("SNAPSHOT_API_WORKERS", "0", "a whole number, 1 or more"),
        ("SNAPSHOT_API_PORT", "70000", "a port number, 0 to 65535"),
        ("SNAPSHOT_API_PORT", "eighty", "a port number, 0 to 65535"),
        ("SNAPSHOT_API_RATE", "-1", "a number, 0 or more"),
        ("SNAPSHOT_API_RATE", "nan", "a number, 0 or more"),
        ("SNAPSHOT_API_RATE", "inf", "a number, 0 or more"),
        ("SNAPSHOT_API_BURST", "1.5", "a whole number, 1 or more"),
        ("SNAPSHOT_API_TRUSTED_PROXY", "nonsense", "a network in CIDR notation"),
        ("SNAPSHOT_API_RATE_LIMIT_CLIENTS", "0", "a whole number, 1 or more"),
        ("SNAPSHOT_API_MAX_BATCH_ITEMS", "-5", "a whole number, 1 or more"),
        ("SNAPSHOT_API_MAX_BODY_BYTES", "1MB", "a whole number, 1 or more"),
        ("SNAPSHOT_API_CACHE_MAX_AGE", "-1", "a whole number of seconds, 0 or more"),
        ("SNAPSHOT_API_LOG_LEVEL", "loud", "one of debug, info, warning, error"),
    ],
)
def test_a_bad_variable_is_one_plain_line_naming_it(
    variable: str, value: str, accepts: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        settings(**{variable: value})
    message = str(raised.value)
    assert message.startswith(f"{variable}: {value!r} is not ")
    assert accepts in message
    assert "\n" not in message
    assert "invalid literal" not in message and "could not convert" not in message


def test_a_bad_flag_is_one_plain_line_naming_the_flag() -> None:
    with pytest.raises(SettingsError, match=r"^--workers: 'abc' is not a whole number, 1 or more$"):
        settings("--workers", "abc", SNAPSHOT_API_WORKERS="2")
    with pytest.raises(SettingsError, match=r"^--trusted-proxy: 'x' is not a network in CIDR"):
        settings("--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "x")
    with pytest.raises(SettingsError, match=r"^SNAPSHOT_API_TRUSTED_PROXY: 'x' is not a network"):
        settings(SNAPSHOT_API_TRUSTED_PROXY="10.0.0.0/8, x")


def test_a_good_flag_hides_a_bad_variable() -> None:
    got, _ = settings("--workers", "2", SNAPSHOT_API_WORKERS="abc")
    assert got.workers == 2


def test_unknown_variables_are_a_warning_each_and_ignored() -> None:
    environ = {"SNAPSHOT_API_WORKER": "4", "SNAPSHOT_API_COLOUR": "blue"}  # typo, unknown
    got, warnings = settings(**environ, SNAPSHOT_API_PORT="81", OTHER_PROGRAM_SETTING="x")
    assert got == ServeSettings(port=81)
    assert warnings == [
        "SNAPSHOT_API_COLOUR is not a serve option and is ignored",
        "SNAPSHOT_API_WORKER is not a serve option and is ignored "
        "(did you mean SNAPSHOT_API_WORKERS?)",
    ]


def test_variables_of_the_project_that_are_not_options_are_not_warned_about() -> None:
    caddy = ("SNAPSHOT_API_SITE_ADDRESS", "SNAPSHOT_API_UPSTREAM", "SNAPSHOT_API_CADDY_ADMIN")
    internal = ("SNAPSHOT_API_INTERNAL_RATE_LIMIT_TABLE", "SNAPSHOT_API_TEST_PAUSE")
    _, warnings = settings(**dict.fromkeys((*caddy, *internal, WORKER_SETTINGS_ENV), "x"))
    assert warnings == []


def test_worker_hand_over_round_trips_every_field() -> None:
    original, _ = settings(
        "/srv/snap",
        "--workers",
        "3",
        "--rate",
        "0.25",
        "--trusted-proxy",
        "10.0.0.0/8",
        "--trusted-proxy",
        "fd00::/8",
        "--log-level",
        "debug",
    )
    assert decode_settings(encode_settings(original)) == original
    assert decode_settings(encode_settings(ServeSettings())) == ServeSettings()
    no_proxies = ServeSettings(trusted_proxy=())
    assert decode_settings(encode_settings(no_proxies)) == no_proxies


def test_a_corrupt_hand_over_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match=WORKER_SETTINGS_ENV):
        decode_settings("{not json")
    with pytest.raises(SettingsError, match="workers"):
        decode_settings('{"workers": "many"}')


def test_help_names_flag_variable_and_default() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "--max-body-bytes" in text and "SNAPSHOT_API_MAX_BODY_BYTES" in text
    assert "default 1048576" in text
    assert "default 127.0.0.0/8,::1/128" in text


def serve(directory: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """A real `snapshot-api serve`; none of this process's own SNAPSHOT_API_* variables."""
    clean = {name: "" for name in os.environ if name.startswith("SNAPSHOT_API_")}
    return run_command("serve", str(directory), "--port", "0", env={**clean, **environ}, timeout=60)


def test_serve_with_a_bad_variable_exits_2_with_one_line(tmp_path: Path) -> None:
    done = serve(tmp_path, SNAPSHOT_API_WORKERS="abc")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "snapshot-api serve: error: SNAPSHOT_API_WORKERS: 'abc' is not a whole number, 1 or more"
    ]


def test_serve_warns_about_an_unknown_variable_before_refusing_a_bad_one(tmp_path: Path) -> None:
    done = serve(tmp_path, SNAPSHOT_API_PROT="81", SNAPSHOT_API_RATE="x")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "snapshot-api serve: warning: SNAPSHOT_API_PROT is not a serve option and is ignored "
        "(did you mean SNAPSHOT_API_PORT?)"
    )
    assert lines[1].startswith("snapshot-api serve: error: SNAPSHOT_API_RATE: 'x' is not ")
    assert len(lines) == 2
