-- Points: rule catalogues with versions, org settings, households, awards
-- and claims, appeals, kiosk tokens for the public board, and the striped
-- yearly budgets of issuing orgs.

CREATE TABLE points_settings (
    org_id INTEGER PRIMARY KEY REFERENCES orgs(id),
    points_to TEXT NOT NULL DEFAULT 'person',
    daily_cap INTEGER NOT NULL DEFAULT 0,
    yearly_budget INTEGER NOT NULL DEFAULT 0,
    mask_names BOOLEAN NOT NULL DEFAULT TRUE,
    public_days INTEGER NOT NULL DEFAULT 7,
    appeal_days INTEGER NOT NULL DEFAULT 7,
    backfill_earns BOOLEAN NOT NULL DEFAULT FALSE,
    expiry TEXT NOT NULL DEFAULT 'never',
    expiry_months INTEGER NOT NULL DEFAULT 0,
    updated_by INTEGER,
    updated_at TIMESTAMP NOT NULL
);

-- A rule is a code within an org (org 0, path '/', holds the built-in
-- service-hours rule); what it says lives in its versions, so an award
-- can name the exact version it used.
CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL,
    org_path TEXT NOT NULL,
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    version_id INTEGER NOT NULL,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE rule_versions (
    id INTEGER PRIMARY KEY,
    rule_id INTEGER NOT NULL REFERENCES rules(id),
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    points INTEGER NOT NULL,
    unit TEXT NOT NULL,
    daily_cap INTEGER NOT NULL DEFAULT 0,
    monthly_cap INTEGER NOT NULL DEFAULT 0,
    yearly_cap INTEGER NOT NULL DEFAULT 0,
    life_cap INTEGER NOT NULL DEFAULT 0,
    needs_evidence BOOLEAN NOT NULL DEFAULT FALSE,
    needs_review BOOLEAN NOT NULL DEFAULT FALSE,
    valid_from TEXT NOT NULL DEFAULT '',
    valid_to TEXT NOT NULL DEFAULT '',
    created_by INTEGER,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (rule_id, version)
);

INSERT INTO rules (id, org_id, org_path, code, version, version_id, created_at)
    VALUES (1, 0, '/', 'service_hours', 1, 1, CURRENT_TIMESTAMP);
INSERT INTO rule_versions (id, rule_id, version, name, category, points, unit, created_at)
    VALUES (1, 1, 1, '志愿服务时长', 'volunteer_service', 0, 'per_hour', CURRENT_TIMESTAMP);

CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    org_path TEXT NOT NULL,
    name TEXT NOT NULL,
    head_person_id INTEGER NOT NULL REFERENCES people(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX households_path ON households(org_path);

-- A person belongs to at most one household.
CREATE TABLE household_members (
    person_id INTEGER PRIMARY KEY REFERENCES people(id),
    household_id INTEGER NOT NULL REFERENCES households(id),
    joined_at TIMESTAMP NOT NULL
);
CREATE INDEX household_members_household ON household_members(household_id);

-- An award is the request and its decision; the points themselves move
-- only in the ledger (tx_id). org_path is the beneficiary's org, for scope
-- and the public board; issuer_org_id is whose issuance account pays.
CREATE TABLE awards (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    org_path TEXT NOT NULL,
    issuer_org_id INTEGER NOT NULL,
    rule_id INTEGER NOT NULL REFERENCES rules(id),
    rule_version_id INTEGER NOT NULL REFERENCES rule_versions(id),
    person_id INTEGER REFERENCES people(id),
    household_id INTEGER REFERENCES households(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    quantity INTEGER NOT NULL,
    minutes INTEGER NOT NULL DEFAULT 0,
    points INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    record_id INTEGER,
    on_behalf BOOLEAN NOT NULL DEFAULT FALSE,
    idem_key TEXT,
    request_hash TEXT NOT NULL DEFAULT '',
    day TEXT NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    decided_by INTEGER,
    decided_at TIMESTAMP,
    reject_reason TEXT NOT NULL DEFAULT '',
    tx_id INTEGER REFERENCES ledger_transactions(id),
    shortfall INTEGER NOT NULL DEFAULT 0,
    posted_at TIMESTAMP,
    public_until TIMESTAMP,
    appeal_until TIMESTAMP,
    UNIQUE (created_by, idem_key)
);
CREATE INDEX awards_person ON awards(person_id, rule_id, day);
CREATE INDEX awards_household ON awards(household_id, rule_id, day);
CREATE INDEX awards_path ON awards(org_path, day);
CREATE INDEX awards_status ON awards(status, org_path);
CREATE UNIQUE INDEX awards_tx ON awards(tx_id);
CREATE INDEX awards_record ON awards(record_id);

CREATE TABLE award_evidence (
    award_id INTEGER PRIMARY KEY REFERENCES awards(id),
    data BLOB NOT NULL
);

CREATE TABLE appeals (
    id INTEGER PRIMARY KEY,
    award_id INTEGER NOT NULL REFERENCES awards(id),
    org_path TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    decided_by INTEGER,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
-- One open appeal per award at a time.
CREATE UNIQUE INDEX appeals_open ON appeals(award_id) WHERE status = 'open';
CREATE INDEX appeals_path ON appeals(status, org_path);

CREATE TABLE kiosk_tokens (
    org_id INTEGER PRIMARY KEY REFERENCES orgs(id),
    token_hash TEXT NOT NULL,
    created_by INTEGER,
    created_at TIMESTAMP NOT NULL
);

-- A yearly budget is split over stripes, so concurrent awards take from
-- different rows instead of queueing on one; see ARCHITECTURE.md.
CREATE TABLE budget_stripes (
    org_id INTEGER NOT NULL,
    year INTEGER NOT NULL,
    stripe INTEGER NOT NULL,
    remaining INTEGER NOT NULL,
    PRIMARY KEY (org_id, year, stripe)
);

CREATE INDEX ledger_transactions_created ON ledger_transactions(created_at);
