"""Match a recording as a tagger holds it (title, artist, album, duration) to tracks.

`params` validates a request, `fold` brings names to one comparable form
(folding and ListenBrainz-style detuning), `score` says how well one track
fits (its docstring explains the weights and the figures), `matcher` finds
candidates in the track index step by step and keeps the best. The library
entry points are `Snapshot.match_track` and `Snapshot.match_tracks`.
"""
