"""The scorer compares each distinct name once per request: results must not depend on it."""

from __future__ import annotations

import itertools

from snapshot_api.match.score import Candidate, Given, Scorer

TITLES = ("Love Love Heart", "Love Love Heart (Live)", "Heart of Love", "Lóve Lové Heart")
CREDITS = (["Wild Shelneam"], ["Wild Shelneam", "Other"], ["Someone Else"])
ALBUMS = (None, "Summer", "Winter Songs")
DURATIONS = (None, 267_929, 268_500, 290_000)


def test_names_met_again_score_as_when_met_first() -> None:
    given = Given.of("Love Love Heart", "Wild Shelneam feat. X", "Summer", 267_929)
    candidates = [
        Candidate(title, list(credit), album, duration)
        for title, credit, album, duration in itertools.product(TITLES, CREDITS, ALBUMS, DURATIONS)
    ]
    shared = Scorer(given)
    answers = [shared.score(c) for c in candidates + candidates[::-1]]
    alone = [Scorer(given).score(c) for c in candidates + candidates[::-1]]
    assert answers == alone
    # the candidates differ in every part, and so do their scores: a memo keyed on too
    # little (the title alone, say) would give some of them another's components
    assert len({(value, tuple(parts.items())) for value, parts in answers}) > len(TITLES) * 8
