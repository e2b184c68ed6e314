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
