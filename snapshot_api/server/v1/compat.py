"""Spotify's habits on `/v1` and `/api/token`: trailing slashes, and its error shape.

- spotipy asks for `tracks/?ids=...` and `albums/ID/tracks/` (a slash before
  the query). The router matches exact paths, so the slash is dropped here,
  before any route is resolved: every middleware, the ETag and the logs see
  the one canonical path.
- Spotify's errors are `{"error": {"status": 404, "message": "..."}}`, and its
  clients read them so (spotipy's `SpotifyException` takes `message`). Every
  error on these paths, whoever made it (a handler, the router's 404 and 405,
  the rate limiter's 429), leaves here in that shape with the same status and
  message. Only error answers are held (they are small and complete); data
  answers stream through untouched.

Pure ASGI and outermost, so that it sees every answer and the path first.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIXES = ("/v1/", "/api/token")


def spotify_error(status: int, body: bytes) -> bytes:
    """Our error body as Spotify's (`status` and `message`); other bodies unchanged."""
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict) or "message" not in error:
        return body
    return orjson.dumps({"error": {"status": status, "message": str(error["message"])}})


def _canonical(path: str) -> str:
    stripped = path.rstrip("/")
    return stripped or "/"


class SpotifyCompatMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        if path.endswith("/") and len(path) > 1:
            scope = dict(scope)
            scope["path"] = _canonical(path)
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        held: Message | None = None
        chunks: list[bytes] = []

        async def reshape(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            original = b"".join(chunks)
            body = spotify_error(held["status"], original)
            if body is original:  # not our error JSON (or a HEAD answer): as it was
                await send(held)
            else:
                headers = [
                    (k, v) for k, v in held.get("headers", ()) if k.lower() != b"content-length"
                ]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reshape)
