-- The newsstand database: one SQLite file shared by the app (services/newsstand) and the billing
-- workers (services/billing-worker). Money is kept in integer cents so that sums are exact; JSON
-- carries it as a number of currency units with two decimals (cents / 100).
-- The generator (services/newsstand/newsstand/datagen.py) fills every table but billing_sheets and
-- messenger_records from a seed: the same seed gives the same rows.
PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS vendors (
  id      INTEGER PRIMARY KEY,
  name    TEXT NOT NULL,
  address TEXT NOT NULL,
  phone   TEXT NOT NULL
);

-- A vendor's billing for one day (the prototype's payables).
CREATE TABLE IF NOT EXISTS payables (
  id           INTEGER PRIMARY KEY,
  vendor_id    INTEGER NOT NULL REFERENCES vendors(id),
  billing_date TEXT NOT NULL,              -- YYYY-MM-DD
  amount_cents INTEGER NOT NULL
);
-- Covering: a year-to-date sum (the payables job) reads the index alone, not the table.
CREATE INDEX IF NOT EXISTS payables_by_date_amount ON payables(billing_date, amount_cents);

CREATE TABLE IF NOT EXISTS customers (
  id      INTEGER PRIMARY KEY,
  name    TEXT NOT NULL,
  email   TEXT NOT NULL,
  address TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS subscriptions (
  id          INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  publication TEXT NOT NULL,
  price_cents INTEGER NOT NULL,           -- per copy
  qty         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sales (
  id             INTEGER PRIMARY KEY,
  publication    TEXT NOT NULL,
  sale_date      TEXT NOT NULL,           -- YYYY-MM-DD
  copies_issued  INTEGER NOT NULL,
  copies_sold    INTEGER NOT NULL,
  revenue_cents  INTEGER NOT NULL,
  profit_cents   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS messengers (
  id        INTEGER PRIMARY KEY,
  name      TEXT NOT NULL,
  vendor_id INTEGER NOT NULL REFERENCES vendors(id),
  phone     TEXT NOT NULL
);

-- One row per messenger record published on /topic/newsstand/messenger, stored once: record_id
-- is the publisher's id of the record, so a redelivered record is not stored twice.
CREATE TABLE IF NOT EXISTS messenger_records (
  record_id    TEXT PRIMARY KEY,
  messenger_id INTEGER NOT NULL,
  body         TEXT NOT NULL,             -- the record as JSON
  received_at  TEXT NOT NULL
);

-- Billing-sheet jobs: the app inserts 'queued', a billing worker sets 'done' with the CSV (or
-- 'failed' with an error).
CREATE TABLE IF NOT EXISTS billing_sheets (
  job          TEXT PRIMARY KEY,
  billing_date TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
  csv          TEXT,
  error        TEXT,
  updated_at   TEXT NOT NULL
);
