"""Schemathesis against the live server: no 5xx, no answer outside the description.

The description is built at import time by the same code that serves
/openapi.json (schemathesis's lazy fixture loader does not work with this
pytest), with the shared server's settings; `test_openapi.py` checks the
served document is this one. Examples per operation are bounded so the run
stays within seconds; the generated values (mostly malformed identifiers and
odd bodies) exercise the error paths the hand-written tests name one by one.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from snapshot_api.server.openapi import build_spec
from tests.support.server_process import SHARED_SERVER_SETTINGS, ServerProcess, start_server

MAX_EXAMPLES = 30
"""Per operation: enough to reach every error path, few enough to keep CI fast."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


schema = schemathesis.openapi.from_dict(build_spec(SHARED_SERVER_SETTINGS))
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)


@pytest.fixture(scope="module")
def searchable_server(built_snapshot: Path) -> Iterator[ServerProcess]:
    """The shared server's settings over a built synthetic snapshot (it has a search index)."""
    settings = SHARED_SERVER_SETTINGS
    server = start_server(
        built_snapshot,
        "--rate",
        str(settings.rate),
        "--max-batch-items",
        str(settings.max_batch_items),
        "--max-body-bytes",
        str(settings.max_body_bytes),
    )
    yield server
    server.stop(signal.SIGKILL)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_description(case: Any, searchable_server: ServerProcess) -> None:
    case.call_and_validate(base_url=searchable_server.url, checks=CHECKS)
