-- Engine snapshots as plain text, stored uncompressed. As json, Postgres parsed every snapshot
-- to check it and then compressed it (pglz) on the way to TOAST: for a book of 135,000 open
-- orders (a 46 MB document then) that was ~0.6 s of one core per snapshot, taken from the
-- engine and the gateway on the same machine. The engine makes the text and reads it back
-- itself; nothing queries inside it.
ALTER TABLE engine_snapshots ALTER COLUMN state TYPE text;
ALTER TABLE engine_snapshots ALTER COLUMN state SET STORAGE EXTERNAL;
