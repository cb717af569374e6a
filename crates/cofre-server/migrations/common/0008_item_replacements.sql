-- A new version of a committed item being uploaded (`cofre put --replace`, `cofre
-- edit`): its bytes arrive as the upload of the item's own id while the current
-- version stays readable, and its commit replaces body, size, metadata and wrapped key
-- together (the id, and so every share, stays). Until then it holds replacing_size
-- bytes of the owner's quota; the cleanup removes it after replacing_expires_at. All
-- three are NULL when no new version is on its way.
ALTER TABLE items ADD COLUMN replacing_size BIGINT;
ALTER TABLE items ADD COLUMN replacing_created_at BIGINT;
ALTER TABLE items ADD COLUMN replacing_expires_at BIGINT;
