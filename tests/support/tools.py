"""System programs some tests need (Caddy, Redis, wrk): found, or a loud failure under CI.

Locally a missing program skips its tests with the command that installs it;
under CI (`CI=true`, where `.ci/run` installs them) a missing one fails the
run, so a broken install step cannot hide behind a green suite.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_program(name: str, package: str) -> str:
    """The path of `name`; skip (locally) or fail (under CI) when it is not installed."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed: apt-get install -y {package} (.ci/run installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)
