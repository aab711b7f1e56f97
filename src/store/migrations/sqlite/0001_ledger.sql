-- The licence ledger and the generic entity table.
-- Times are Unix seconds. Derived state (seat counts, states, notices) is never
-- stored: it is computed from these rows when asked.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('data_revision', 0);

CREATE TABLE accounts (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE tenants (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  trial_days INTEGER CHECK (trial_days IS NULL OR trial_days >= 0)
);
CREATE INDEX tenants_by_account ON tenants (account_id);

-- At most one hub per tenant: the primary key says so.
CREATE TABLE hubs (
  tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id),
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE subscriptions (
  number         INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id      TEXT NOT NULL REFERENCES tenants (id),
  kind           TEXT NOT NULL CHECK (kind IN ('user', 'shop_floor')),
  quantity       INTEGER NOT NULL CHECK (quantity > 0),
  starts_at      INTEGER NOT NULL,
  ends_at        INTEGER NOT NULL CHECK (ends_at > starts_at),
  payment_due_at INTEGER,
  paid_at        INTEGER,
  created_at     INTEGER NOT NULL
);
CREATE INDEX subscriptions_by_tenant ON subscriptions (tenant_id, kind);
CREATE INDEX subscriptions_by_end ON subscriptions (ends_at);

-- Roles: levels per category as JSON. Built-in roles have tenant_id ''.
CREATE TABLE roles (
  tenant_id TEXT NOT NULL,
  name      TEXT NOT NULL,
  levels    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;
INSERT INTO roles (tenant_id, name, levels) VALUES
  ('', 'admin', '{"production_orders":"approve","production_records":"approve","reports":"approve","workers":"approve","users":"approve","devices":"approve","settings":"approve"}'),
  ('', 'manager', '{"production_orders":"edit","production_records":"edit","reports":"edit","workers":"edit","users":"view","devices":"edit","settings":"view"}'),
  ('', 'viewer', '{"production_orders":"view","production_records":"view","reports":"view","workers":"view","users":"view","devices":"view","settings":"view"}');

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants (id),
  name        TEXT NOT NULL,
  email       TEXT NOT NULL,
  role        TEXT NOT NULL,
  active      INTEGER NOT NULL DEFAULT 1,
  licensed_at INTEGER,
  created_at  INTEGER NOT NULL
);
CREATE INDEX users_by_tenant ON users (tenant_id);

-- A seat operator has no owner; a user operator is owned by its user.
CREATE TABLE operators (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants (id),
  number        TEXT NOT NULL,
  name          TEXT NOT NULL,
  owner_user_id TEXT UNIQUE REFERENCES users (id),
  active        INTEGER NOT NULL DEFAULT 1,
  created_at    INTEGER NOT NULL,
  UNIQUE (tenant_id, number)
);
CREATE INDEX operators_by_tenant ON operators (tenant_id, active);

CREATE TABLE production_records (
  id          INTEGER PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators (id),
  at          INTEGER NOT NULL
);
CREATE INDEX production_by_operator ON production_records (operator_id, at);

-- Every deactivation or revocation made by reconciliation (R9), with its reason.
CREATE TABLE deactivations (
  id           INTEGER PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants (id),
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('operator', 'license')),
  subject_id   TEXT NOT NULL,
  reason       TEXT NOT NULL,
  at           INTEGER NOT NULL
);
CREATE INDEX deactivations_by_subject ON deactivations (subject_kind, subject_id);

-- Entities of other packs, in Cedar's entity JSON format.
CREATE TABLE entities (
  type TEXT NOT NULL,
  id   TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (type, id)
) WITHOUT ROWID;
