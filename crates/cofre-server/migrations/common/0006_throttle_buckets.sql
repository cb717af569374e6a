-- Guessing defence as token buckets (replaces the failure counters of 0001, which never
-- decayed). One row per key (`account:NAME`, `address:IP`, `device:ID`, `session:ID`):
-- `full_at_ms` is the time (Unix milliseconds) at which the key's bucket is full again.
-- Each attempt moves it one refill interval later, and an attempt is allowed only while
-- it stays within `capacity * interval` of now, so one conditional upsert both checks
-- and spends the budget, on every replica at once. Old counters are dropped: a guessing
-- lockout in progress is lifted by the upgrade.
DROP TABLE throttle;

CREATE TABLE throttle (
    key        TEXT PRIMARY KEY,
    full_at_ms BIGINT NOT NULL
);
