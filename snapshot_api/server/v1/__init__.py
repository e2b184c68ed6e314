"""The `/v1` surface: Spotify's Web API shapes over the snapshot, for existing clients.

Code written for Spotify's Web API (spotipy, beets' spotify plugin, scripts)
works offline by changing only its base URL. The package keeps the two worlds
apart: the library's documents stay as they are, and this package reshapes
them into Spotify's objects (`objects`), builds the absolute links Spotify's
paging objects carry (`links`), parses Spotify's search syntax (`search`),
declares the routes (`routes`) with their OpenAPI descriptions (`schemas`),
and gives the answers Spotify's error shape and path habits (`compat`).

Nothing here is imported by the package itself (the route table imports
`routes`), so the library never depends on it.
"""
