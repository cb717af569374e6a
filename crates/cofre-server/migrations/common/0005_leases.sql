-- Leases: a named job that only one server may run at a time (scheduled backups), held
-- by one server instance until `expires_at` (Unix seconds) and renewed while it runs.
-- A server that dies leaves a lease that others may take once it has expired.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
