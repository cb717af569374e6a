-- A key rotation in progress: the account's new public key and its private key sealed
-- under the user key (base64url), until every item key is re-wrapped for it.
CREATE TABLE key_rotations (
    user_id               TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    public_key            TEXT NOT NULL,
    protected_private_key TEXT NOT NULL,
    started_at            BIGINT NOT NULL
);
