-- Shares that survive the recipient's key rotation (FORMAT.md 9.10): after the
-- recipient re-wraps a share's item key for its new key, the wrapped key the owner
-- signed is kept here (set once, by the first rotation), and the recipient's signature
-- over the re-wrap beside it. Both NULL until the recipient first rotates, and again
-- when the owner shares the item anew. Base64url text, as the other columns.
ALTER TABLE item_shares ADD COLUMN signed_wrapped_key TEXT;
ALTER TABLE item_shares ADD COLUMN rewrap_signature TEXT;
