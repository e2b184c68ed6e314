-- snapshot-search.sqlite3: the name search index, written by `snapshot-api build`
-- beside the dump (the dump itself is never modified).

-- Which snapshot this index was built from (snapshot_id, tool version, format,
-- row counts): an index copied from another snapshot is detected by comparing
-- it with the manifest.
CREATE TABLE search_meta (
  key text PRIMARY KEY NOT NULL,
  value text NOT NULL
) WITHOUT ROWID;

-- One contentless FTS5 table per kind. The rowid is not the dump's rowid but
-- a ranking key, (rank bucket << shift) | dump rowid, with the most popular
-- (most followed) rows in the lowest buckets, so `MATCH ... ORDER BY rowid
-- LIMIT k` reads the k best matches and stops; the dump rowid is the key's
-- low bits, so no mapping table is needed. Terms are made in Python
-- (snapshot_api.search.text) and separated by spaces: the `ascii` tokenizer
-- splits on those only. `detail=none` and `columnsize=0` keep only which rows
-- hold each term (all a word match needs); `prefix='3'` answers `abc*` from
-- a prefix index instead of merging every term starting with it.
CREATE VIRTUAL TABLE track_words USING fts5(
  words, content='', detail=none, columnsize=0,
  tokenize="ascii tokenchars '_'", prefix='3'
);
CREATE VIRTUAL TABLE album_words USING fts5(
  words, content='', detail=none, columnsize=0, tokenize="ascii tokenchars '_'", prefix='3'
);
CREATE VIRTUAL TABLE artist_words USING fts5(
  words, content='', detail=none, columnsize=0, tokenize="ascii tokenchars '_'", prefix='3'
);

-- Every distinct term of each FTS5 table, sorted, with the number of rows
-- holding it (filled from fts5vocab at the end of the build): a prefix longer
-- than the prefix index's 3 characters is expanded to its few terms with one
-- range read, and matching leaves the commonest words out of an AND whose
-- rarest ones already select few rows (FTS5 itself keeps no such count).
CREATE TABLE track_terms (term text PRIMARY KEY NOT NULL, docs integer NOT NULL) WITHOUT ROWID;
CREATE TABLE album_terms (term text PRIMARY KEY NOT NULL, docs integer NOT NULL) WITHOUT ROWID;
CREATE TABLE artist_terms (term text PRIMARY KEY NOT NULL, docs integer NOT NULL) WITHOUT ROWID;
