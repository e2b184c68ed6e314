"""How bad a finding is: one scale for the schema check (`build`, `verify`) and verify's report.

`failed` makes a snapshot unfit to serve (and stops `build`), `warning` is
reported but serves, `skipped` is a check that could not run because an earlier
one found its input unusable. The values are the words the reports print.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"
