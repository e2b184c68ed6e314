"""The README's examples run as written against the built-in sample; its options table is the
settings' own.

A newcomer's first minutes are the README: every `curl` line is sent to a real server serving
the sample (each must answer 200 with data, not `[]`), every shell block using `$SAMPLE` runs
in bash with the installed commands, and every Python block runs in a fresh interpreter.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from snapshot_api.config import flag_of, options, show_value
from tests.support.fixtures import ROOT, run_command
from tests.support.server_process import ServerProcess, start_server

README = (ROOT / "README.md").read_text()
DOCUMENTED_ADDRESS = "http://127.0.0.1:8080"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


def shell_lines(block: str) -> Iterator[str]:
    """Each command of a shell block, continuation lines joined."""
    for line in block.replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield line


CURL_LINES = [line for block in code_blocks("sh") for line in shell_lines(block) if "curl" in line]
SAMPLE_BLOCKS = [block for block in code_blocks("sh") if "$SAMPLE" in block]
PYTHON_BLOCKS = code_blocks("python")


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a user whose cache holds the sample (made once for this module)."""
    cache = tmp_path_factory.mktemp("cache")
    environment = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    made = run_command("sample", env=environment, timeout=300)
    assert made.returncode == 0, made.stderr
    return environment


@pytest.fixture(scope="module")
def sample_server(sample_cache: dict[str, str]) -> Iterator[ServerProcess]:
    server = start_server(None, "--rate", "0", env=sample_cache)
    try:
        yield server
    finally:
        assert server.stop() == 0


def test_the_readme_has_examples_of_every_kind() -> None:
    assert len(CURL_LINES) >= 8
    assert SAMPLE_BLOCKS
    assert len(PYTHON_BLOCKS) >= 2


@pytest.mark.parametrize("line", CURL_LINES)
def test_each_curl_example_answers_data(line: str, sample_server: ServerProcess) -> None:
    words = shlex.split(line.replace(DOCUMENTED_ADDRESS, sample_server.url), comments=True)
    assert words[0] == "curl"
    method, headers, body, url = "GET", {}, None, None
    rest = iter(words[1:])
    for word in rest:
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            headers[name] = value.strip()
        elif word == "-d":
            body = next(rest).encode()
        elif word.startswith("http"):
            url = word
        else:
            assert word in ("-s", "-i"), f"an option this test does not know: {word}"
    assert url is not None and url.startswith(sample_server.url)
    answer = httpx.request(method, url, headers=headers, content=body, timeout=10)
    assert answer.status_code == 200, answer.text
    data = orjson.loads(answer.content)
    assert data not in ([], {}), f"{line}: the sample has no data for this example"
    if isinstance(data, dict) and "not_found" in data:
        assert not any(data["not_found"].values()), f"{line}: {data['not_found']}"
        assert not any(data["invalid"].values()), f"{line}: {data['invalid']}"


def run_example(
    argv: list[str], environment: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """An example as a user runs it: from the checkout, with the sample in their cache."""
    return subprocess.run(
        argv,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("block", SAMPLE_BLOCKS)
def test_each_shell_example_runs(block: str, sample_cache: dict[str, str], tmp_path: Path) -> None:
    script = "set -euo pipefail\n" + block.replace("/tmp/", f"{tmp_path}/")
    done = run_example(["bash", "-c", script], sample_cache, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip()


@pytest.mark.parametrize("block", PYTHON_BLOCKS)
def test_each_python_example_runs(
    block: str, sample_cache: dict[str, str], sample_server: ServerProcess
) -> None:
    code = block.replace(DOCUMENTED_ADDRESS, sample_server.url)
    done = run_example([sys.executable, "-c", code], sample_cache, timeout=120)
    assert done.returncode == 0, done.stderr


def options_table() -> str:
    rows = ["| flag | default | meaning |", "|---|---|---|"]
    rows += [
        f"| `{flag_of(name)}` | `{show_value(default)}` | {option.help} |"
        for name, option, default in options()
    ]
    return "\n".join(rows)


def test_the_options_table_is_the_settings() -> None:
    assert options_table() in README, "regenerate the table: " + options_table()
