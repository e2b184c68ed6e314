-- spotify_clean_track_files.sqlite3 (also track_files.sqlite3): one row per
-- track with file status and enrichment (lyrics flag, languages, roles).
-- Many enrichment columns are NULL even on successful rows, and JSON columns may be
-- malformed. Index names of the published file are unknown.

CREATE TABLE track_files (
  rowid integer PRIMARY KEY NOT NULL,
  track_id text NOT NULL,
  status text NOT NULL,
  filename text,
  reencoded_kbit_vbr integer,
  fetched_at integer,
  session_country text,
  sha256_original text,
  sha256_with_embedded_meta text,
  isrc_has_download integer,
  track_popularity integer,
  secondary_priority real,
  prefixed_ogg_packet blob,
  alternatives text,
  file_id_ogg_vorbis_96 text,
  file_id_ogg_vorbis_160 text,
  file_id_ogg_vorbis_320 text,
  file_id_aac_24 text,
  file_id_mp3_96 text,
  language_of_performance text,
  artist_roles text,
  has_lyrics integer,
  licensor text,
  original_title text,
  version_title text,
  content_ratings text,
  filesize_bytes integer
);

CREATE UNIQUE INDEX track_files_track_id_unique ON track_files (track_id);
CREATE INDEX track_files_status_todo ON track_files (status) WHERE status = 'todo_unk';
CREATE INDEX track_files_secondary_priority ON track_files (secondary_priority) WHERE status = 'skipped_low_priority';
CREATE INDEX track_files_fetched_at ON track_files (fetched_at) WHERE fetched_at IS NOT NULL;
