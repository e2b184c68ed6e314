"""Logging set-up: one JSON object per line on stdout, for our logs and uvicorn's.

structlog renders our events with orjson (fast enough for one access line per
request); uvicorn's own messages go through the standard `logging` module and
are rendered to the same JSON shape, so a log shipper needs one parsing rule.
Kept apart from the middleware so `serve` can set logging up before anything
imports the metrics (see `command.py`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}  # fmt: skip


def _orjson_text(value: Any, **_kw: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(level: str = "info") -> None:
    """JSON lines on stdout for our logs and uvicorn's; call once per process."""
    numeric = _LEVELS.get(level, logging.INFO)
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=orjson.dumps, default=str),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.BytesLoggerFactory(sys.stdout.buffer),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=_orjson_text),
            ],
        )
    )
    for name in ("uvicorn", "uvicorn.error", "snapshot_api"):
        stdlib_logger = logging.getLogger(name)
        stdlib_logger.handlers = [handler]
        stdlib_logger.setLevel(numeric)
        stdlib_logger.propagate = False
    # Our middleware writes the one access line per request. uvicorn's protocol writes
    # its own whenever this logger has a handler: in worker processes `access_log=False`
    # is not applied again (uvicorn sets it up in the parent only), so it must have none.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
