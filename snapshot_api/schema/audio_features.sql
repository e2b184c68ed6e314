-- spotify_clean_audio_features.sqlite3: audio analysis per track. Optional in a
-- snapshot: served when present (a row with null_response set holds no features).

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
