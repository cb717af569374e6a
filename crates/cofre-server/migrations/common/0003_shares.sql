-- Shares: read access to an item for another account. The item key is wrapped for the
-- recipient and the share signed by the owner, both as base64url text; the server can
-- check neither's meaning.
CREATE TABLE item_shares (
    item_id      TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    recipient_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    wrapped_key  TEXT NOT NULL,
    signature    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (item_id, recipient_id)
);
CREATE INDEX item_shares_by_recipient ON item_shares (recipient_id, created_at, item_id);
