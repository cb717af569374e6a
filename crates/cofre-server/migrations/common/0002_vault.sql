-- The vault: items (notes and files). The server keeps ciphertext only: the sealed
-- metadata and the owner's wrapped item key as base64url text, the body as a blob
-- named by the item id. An item is visible once committed = 1; until then it is an
-- upload that the cleanup removes after expires_at.
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    committed BIGINT NOT NULL DEFAULT 0,
    size BIGINT NOT NULL,
    metadata TEXT,
    wrapped_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX items_by_owner ON items (owner_id, committed, created_at, id);
CREATE INDEX items_uploads ON items (committed, expires_at);
