"""Rows read in rowid order come out of a run in ranking-key order, each with its bucket."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from snapshot_api.files.sqlite import open_read_only
from snapshot_api.search import build as search_build
from snapshot_api.search import folding
from snapshot_api.search.folding import MAX_GROUPS, Group, Task, fold, in_key_order
from snapshot_api.search.index import RANKINGS, SearchKind


def _popularity(dump: apsw.Connection, table: str, column: str) -> dict[int, object]:
    return {int(row[0]): row[1] for row in dump.execute(f"SELECT rowid, {column} FROM {table}")}


@pytest.mark.parametrize("max_groups", [MAX_GROUPS, 2])
def test_a_run_of_chunks_read_in_rowid_order_yields_keys_in_ranking_order(
    max_groups: int, synthetic_dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 2, nearly every chunk is one group spanning its buckets, merged with the others."""
    monkeypatch.setattr(folding, "MAX_GROUPS", max_groups)
    spanning = 0
    dump = open_read_only(synthetic_dump / "spotify_clean.sqlite3")
    try:
        for kind in SearchKind:
            ranking = RANKINGS[kind]
            task = Task(kind, search_build.select_rows(dump, ranking))
            first, last = dump.execute(f"SELECT min(rowid), max(rowid) FROM {ranking.table}").get
            run: list[Group] = []
            for start in range(first, last + 1, 13):  # chunks of 13 rowids, in rowid order
                groups = fold(dump, task, (start, min(start + 12, last))).groups
                spanning += sum(low != high for low, high, _, _ in groups)
                run.extend(groups)
            keys = [key for key, _ in in_key_order(run)]
            values = _popularity(dump, ranking.table, ranking.column)

            assert keys == sorted(set(keys)), f"{kind}: keys not strictly increasing"
            assert len(keys) >= 0.95 * len(values), f"{kind}: rows with terms went missing"
            for key in keys:
                rowid = key & ranking.mask
                assert key >> ranking.shift == ranking.bucket(values[rowid]), (kind, rowid)
            buckets = {key >> ranking.shift for key in keys}
            assert len(buckets) > 5, f"{kind}: the fixture must rank rows into many buckets"
        assert (spanning > 0) == (max_groups < MAX_GROUPS)
    finally:
        dump.close()
