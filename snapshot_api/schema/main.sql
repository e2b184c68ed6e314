-- spotify_clean.sqlite3 (also main_database.sqlite3): the main database of the
-- Anna's Archive Spotify dump (2025-07), as DUMP_SCHEMA.md describes it.
-- Column names, types, NOT NULL and the shipped indexes are what readers of the
-- real file see. Index *names* of the published file are unknown: no code may
-- depend on them (only on which columns are indexed).

CREATE TABLE artists (
  rowid integer PRIMARY KEY NOT NULL,
  id text NOT NULL,
  fetched_at integer NOT NULL,
  name text NOT NULL,
  followers_total integer NOT NULL,
  popularity integer NOT NULL
);
CREATE TABLE artist_genres (
  artist_rowid integer NOT NULL,
  genre text NOT NULL
);
CREATE TABLE artist_images (
  artist_rowid integer NOT NULL,
  width integer NOT NULL,
  height integer NOT NULL,
  url text NOT NULL
);
CREATE TABLE artist_albums (
  artist_rowid integer NOT NULL,
  album_rowid integer NOT NULL,
  is_appears_on integer NOT NULL,
  is_implicit_appears_on integer NOT NULL,
  index_in_album integer
);
CREATE TABLE available_markets (
  rowid integer PRIMARY KEY NOT NULL,
  available_markets text NOT NULL
);
CREATE TABLE albums (
  rowid integer PRIMARY KEY NOT NULL,
  id text NOT NULL,
  fetched_at integer NOT NULL,
  name text NOT NULL,
  album_type text NOT NULL,
  available_markets_rowid integer NOT NULL,
  external_id_upc text,
  external_id_amgid text,
  copyright_c text,
  copyright_p text,
  label text NOT NULL,
  popularity integer NOT NULL,
  release_date text NOT NULL,
  release_date_precision text NOT NULL,
  total_tracks integer NOT NULL
);
CREATE TABLE album_images (
  album_rowid integer NOT NULL,
  width integer NOT NULL,
  height integer NOT NULL,
  url text NOT NULL
);
CREATE TABLE tracks (
  rowid integer PRIMARY KEY NOT NULL,
  id text NOT NULL,
  fetched_at integer NOT NULL,
  name text NOT NULL,
  preview_url text,
  album_rowid integer NOT NULL,
  track_number integer NOT NULL,
  external_id_isrc text,
  popularity integer NOT NULL,
  available_markets_rowid integer NOT NULL,
  disc_number integer NOT NULL,
  duration_ms integer NOT NULL,
  explicit integer NOT NULL
);
CREATE TABLE track_artists (
  track_rowid integer NOT NULL,
  artist_rowid integer NOT NULL
);

-- Indexes shipped in the published file. The synthetic generator creates them
-- after loading the rows (faster, and the same b-trees a bulk load gives).
CREATE UNIQUE INDEX artists_id_unique ON artists (id);
CREATE UNIQUE INDEX albums_id_unique ON albums (id);
CREATE UNIQUE INDEX tracks_id_unique ON tracks (id);
CREATE UNIQUE INDEX available_markets_available_markets_unique ON available_markets (available_markets);
CREATE INDEX tracks_external_id_isrc ON tracks (external_id_isrc);
CREATE INDEX tracks_album_rowid ON tracks (album_rowid);
CREATE INDEX tracks_popularity ON tracks (popularity);
CREATE INDEX track_artists_track_rowid ON track_artists (track_rowid);
CREATE INDEX track_artists_artist_rowid ON track_artists (artist_rowid);
CREATE INDEX artist_albums_artist_rowid ON artist_albums (artist_rowid);
CREATE INDEX artist_albums_album_rowid ON artist_albums (album_rowid);
CREATE INDEX album_images_album_rowid ON album_images (album_rowid);
CREATE INDEX artist_images_artist_rowid ON artist_images (artist_rowid);
CREATE INDEX artist_genres_artist_rowid ON artist_genres (artist_rowid);
CREATE INDEX artist_genres_genre ON artist_genres (genre);
CREATE INDEX artists_name ON artists (name);
CREATE INDEX artists_popularity ON artists (popularity);
CREATE INDEX artists_followers_total ON artists (followers_total);
CREATE INDEX albums_name ON albums (name);
CREATE INDEX albums_popularity ON albums (popularity);
