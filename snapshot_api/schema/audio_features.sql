-- spotify_clean_audio_features.sqlite3: audio analysis per track. Optional in a
-- snapshot, not served yet, but its layout is checked when present.

CREATE TABLE track_audio_features (
  rowid integer PRIMARY KEY NOT NULL,
  track_id text NOT NULL,
  fetched_at integer NOT NULL,
  null_response integer NOT NULL,
  duration_ms integer,
  time_signature integer,
  tempo real,
  key integer,
  mode integer,
  danceability real,
  energy real,
  loudness real,
  speechiness real,
  acousticness real,
  instrumentalness real,
  liveness real,
  valence real
);

CREATE UNIQUE INDEX track_audio_features_track_id_unique ON track_audio_features (track_id);
