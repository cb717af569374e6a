-- The owner's copy of an item's metadata (FORMAT.md 9.12): the same metadata sealed
-- a second time under a key derived from the owner's user key, so that the owner's
-- client lists and finds items without an RSA operation per item. Base64url text, as
-- `metadata`. NULL for items written before it existed (the owner's client adds it the
-- next time it lists them) and after a writer that does not know it replaced
-- `metadata`. Only ever served to the owner.
ALTER TABLE items ADD COLUMN owner_metadata TEXT;
