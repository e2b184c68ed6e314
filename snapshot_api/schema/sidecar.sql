-- snapshot-index.sqlite3: our own derived indexes, written by `snapshot-api build`
-- beside the dump (the dump itself is never modified).

-- Which snapshot this sidecar was built from (snapshot_id, tool version, ...):
-- a sidecar copied from another snapshot is detected by comparing it with the
-- manifest.
CREATE TABLE sidecar_meta (
  key text PRIMARY KEY NOT NULL,
  value text NOT NULL
) WITHOUT ROWID;

-- Barcode index: the album's external_id_upc as an integer (so leading zeros do
-- not matter: UPC-A, EAN-13, GTIN-14 and EAN-8 forms of one code are equal)
-- to the album rowid. WITHOUT ROWID and keyed on both columns, so a lookup is
-- one b-tree descent that covers the query.
CREATE TABLE barcode_albums (
  barcode integer NOT NULL,
  album_rowid integer NOT NULL,
  PRIMARY KEY (barcode, album_rowid)
) WITHOUT ROWID;

-- Artist albums: each artist's own albums (artist_albums rows with neither
-- appears-on flag), numbered from 0 newest release first (release_date
-- descending, then album rowid). The dump's index on artist_albums(artist_rowid)
-- gives neither that order nor a way to skip to an offset; with the position in
-- the key, any page of any artist (the dump's "Various Artists" has millions of
-- albums) is one descent plus `limit` rows, and the total is the last position.
CREATE TABLE artist_album_order (
  artist_rowid integer NOT NULL,
  position integer NOT NULL,
  album_rowid integer NOT NULL,
  PRIMARY KEY (artist_rowid, position)
) WITHOUT ROWID;
