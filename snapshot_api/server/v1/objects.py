"""Spotify's objects made from the library's documents: the one place that knows both shapes.

Each function takes a document as the library gives it (parsed JSON) and the
URL base of this server, and gives the object Spotify's published OpenAPI
description defines (TrackObject, SimplifiedTrackObject, AlbumObject,
SimplifiedAlbumObject, ArtistObject, SimplifiedArtistObject,
AudioFeaturesObject). What the dump cannot say is filled the way Spotify
fills it: `is_local` false, `genres` of albums `[]`, `followers.href` null,
an unknown release date `"0000"` with precision `year`. Fields the dump keeps
as NULL are given Spotify's neutral value where the shape requires one
(`explicit` false, `popularity` 0, `""` for a missing label) and left out where
it does not (`external_ids.isrc` of a track without one).

Markets come from the dump's `available_markets` lists (comma-separated codes),
split and encoded once per distinct list (`markets_of`). The objects are made to be
encoded with orjson (they may hold `orjson.Fragment`s).
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from snapshot_api.server.v1.links import page_links

OPEN_SPOTIFY = "https://open.spotify.com"
UNKNOWN_RELEASE_DATE = "0000"
ALBUM_TRACKS_PAGE = 50
"""Tracks an album object embeds (`tracks`), as Spotify does; more through its `next`."""

Document = dict[str, Any]


@functools.lru_cache(maxsize=4096)
def markets_of(text: str | None) -> orjson.Fragment:
    """The codes of one stored market list as a JSON array, encoded once per distinct list
    (there are about 90k; a list holds up to ~185 codes, the largest part of a track object,
    and re-encoding them per object cost a third of a `?ids=` answer's time)."""
    codes = [code.strip() for code in (text or "").split(",") if code.strip()]
    return orjson.Fragment(orjson.dumps(codes))


def _common(kind: str, spotify_id: str, base: str, plural: str) -> Document:
    return {
        "external_urls": {"spotify": f"{OPEN_SPOTIFY}/{kind}/{spotify_id}"},
        "href": f"{base}/{plural}/{spotify_id}",
        "id": spotify_id,
        "type": kind,
        "uri": f"spotify:{kind}:{spotify_id}",
    }


def images(document: Document) -> list[Document]:
    return [
        {"url": image["url"], "height": image.get("height"), "width": image.get("width")}
        for image in document.get("images", ())
    ]


def simplified_artist(document: Document, base: str) -> Document:
    return {**_common("artist", document["id"], base, "artists"), "name": document["name"]}


def artist(document: Document, base: str) -> Document:
    return {
        **simplified_artist(document, base),
        "followers": {"href": None, "total": document.get("followers", 0)},
        "genres": list(document.get("genres", ())),
        "images": images(document),
        "popularity": document.get("popularity", 0),
    }


def simplified_album(document: Document, markets: str | None, base: str) -> Document:
    release_date = document.get("release_date") or UNKNOWN_RELEASE_DATE
    precision = document.get("release_date_precision") if "release_date" in document else None
    return {
        "album_type": document.get("type", "album"),
        "total_tracks": document.get("total_tracks", 0),
        "available_markets": markets_of(markets),
        **_common("album", document["id"], base, "albums"),
        "images": images(document),
        "name": document["name"],
        "release_date": release_date,
        "release_date_precision": precision or "year",
        "artists": [simplified_artist(a, base) for a in document.get("artists", ())],
    }


def discography_album(document: Document, markets: str | None, base: str) -> Document:
    """An item of an artist's albums: own albums only, so the group is the album's type."""
    simplified = simplified_album(document, markets, base)
    return {**simplified, "album_group": simplified["album_type"]}


def copyrights(document: Document) -> list[Document]:
    found = []
    if "copyright" in document:
        found.append({"text": document["copyright"], "type": "C"})
    if "copyright_p" in document:
        found.append({"text": document["copyright_p"], "type": "P"})
    return found


def album(
    document: Document,
    markets: str | None,
    tracks: list[Document],
    track_markets: dict[str, tuple[str | None, ...]],
    base: str,
) -> Document:
    """The full album, with the first `ALBUM_TRACKS_PAGE` of its tracks (album documents'
    `tracks` are the library's album track listing)."""
    album_id = document["id"]
    page = tracks[:ALBUM_TRACKS_PAGE]
    external_ids = {"upc": document["upc"]} if "upc" in document else {}
    return {
        **simplified_album(document, markets, base),
        "tracks": paging(
            f"{base}/albums/{album_id}/tracks",
            [simplified_track(t, track_markets.get(t["id"], (None,))[0], base) for t in page],
            offset=0,
            limit=ALBUM_TRACKS_PAGE,
            total=len(tracks),
        ),
        "copyrights": copyrights(document),
        "external_ids": external_ids,
        "genres": [],
        "label": document.get("label", ""),
        "popularity": document.get("popularity", 0),
    }


def simplified_track(document: Document, markets: str | None, base: str) -> Document:
    return {
        "artists": [simplified_artist(a, base) for a in document.get("artists", ())],
        "available_markets": markets_of(markets),
        "disc_number": document.get("disc_number", 1),
        "duration_ms": document.get("duration_ms", 0),
        "explicit": document.get("explicit", False),
        **_common("track", document["id"], base, "tracks"),
        "is_local": False,
        "name": document["name"],
        "preview_url": document.get("preview_url"),
        "track_number": document.get("track_number", 1),
    }


def track(document: Document, markets: tuple[str | None, ...], base: str) -> Document:
    """The full track; `markets` is (the track's list, its album's list)."""
    own, album_markets = (*markets, None, None)[:2]
    shaped = simplified_track(document, own, base)
    shaped["external_ids"] = {"isrc": document["isrc"]} if "isrc" in document else {}
    shaped["popularity"] = document.get("popularity", 0)
    if "album" in document:  # a dangling album reference leaves it out
        shaped["album"] = simplified_album(document["album"], album_markets, base)
    return shaped


def audio_features(document: Document, base: str) -> Document:
    track_id = document["id"]
    return {
        **{key: value for key, value in document.items() if key != "id"},
        "id": track_id,
        "track_href": f"{base}/tracks/{track_id}",
        "type": "audio_features",
        "uri": f"spotify:track:{track_id}",
    }


def paging(
    url: str,
    items: list[Any],
    *,
    offset: int,
    limit: int,
    total: int,
    query: dict[str, str] | None = None,
    last_offset: int | None = None,
) -> Document:
    """Spotify's paging object: `{href, items, limit, next, offset, previous, total}`."""
    links = page_links(
        url, offset=offset, limit=limit, total=total, query=query, last_offset=last_offset
    )
    return {
        "href": links["href"],
        "items": items,
        "limit": limit,
        "next": links["next"],
        "offset": offset,
        "previous": links["previous"],
        "total": total,
    }
