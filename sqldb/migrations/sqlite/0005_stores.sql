-- Points supermarkets and partner merchants: stores, clerks, the
-- catalogue with recorded stock movements, pay codes, redemptions (sales
-- at the counter and pick-up orders) and settlements.

CREATE TABLE stores (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    org_path TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    hours TEXT NOT NULL DEFAULT '',
    serves_org_id INTEGER NOT NULL REFERENCES orgs(id),
    serves_path TEXT NOT NULL,
    confirm_above INTEGER NOT NULL DEFAULT 0,
    fen_per_point INTEGER NOT NULL DEFAULT 100,
    hold_hours INTEGER NOT NULL DEFAULT 48,
    refund_days INTEGER NOT NULL DEFAULT 7,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stores_path ON stores(org_path);
CREATE INDEX stores_serves ON stores(serves_path);

-- The clerk role is granted on one store and reaches that store alone.
CREATE TABLE store_clerks (
    store_id INTEGER NOT NULL REFERENCES stores(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (store_id, person_id)
);
CREATE INDEX store_clerks_person ON store_clerks(person_id);

-- stock is NULL for unlimited; it only changes together with a row in
-- stock_movements.
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id),
    name TEXT NOT NULL,
    points INTEGER NOT NULL,
    stock INTEGER,
    per_person_limit INTEGER NOT NULL DEFAULT 0,
    limit_period TEXT NOT NULL DEFAULT 'month',
    low_stock INTEGER NOT NULL DEFAULT 0,
    valid_from TEXT NOT NULL DEFAULT '',
    valid_to TEXT NOT NULL DEFAULT '',
    photo BLOB,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX items_store ON items(store_id);

CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    delta INTEGER NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    stock_after INTEGER,
    redemption_id INTEGER,
    created_by INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stock_movements_item ON stock_movements(item_id, id);

-- A pay code is kept only as its hash; it works once, for a minute.
CREATE TABLE paycodes (
    code_hash TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX paycodes_expiry ON paycodes(expires_at);

CREATE TABLE redemptions (
    id INTEGER PRIMARY KEY,
    store_id INTEGER NOT NULL REFERENCES stores(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    household_id INTEGER,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    status TEXT NOT NULL,
    points INTEGER NOT NULL,
    pickup_code TEXT NOT NULL DEFAULT '',
    held_until TIMESTAMP,
    clerk_id INTEGER,
    tx_id INTEGER REFERENCES ledger_transactions(id),
    refund_tx_id INTEGER REFERENCES ledger_transactions(id),
    reason TEXT NOT NULL DEFAULT '',
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    done_at TIMESTAMP,
    refunded_at TIMESTAMP,
    -- A refund of a sale whose period was already settled is paid from
    -- the org's issuance account, not the store's.
    refund_from_org BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (created_by, idem_key)
);
CREATE INDEX redemptions_person ON redemptions(person_id, created_at);
CREATE INDEX redemptions_store_done ON redemptions(store_id, done_at);
CREATE INDEX redemptions_store_refunded ON redemptions(store_id, refunded_at);
CREATE INDEX redemptions_held ON redemptions(status, held_until);

CREATE TABLE redemption_lines (
    redemption_id INTEGER NOT NULL REFERENCES redemptions(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    points INTEGER NOT NULL,
    PRIMARY KEY (redemption_id, item_id)
);
CREATE INDEX redemption_lines_item ON redemption_lines(item_id);

-- A settled period never changes: its figures are kept as they were.
CREATE TABLE settlements (
    store_id INTEGER NOT NULL REFERENCES stores(id),
    period TEXT NOT NULL,
    sales INTEGER NOT NULL,
    refunds INTEGER NOT NULL,
    points INTEGER NOT NULL,
    transferred INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL,
    fen_per_point INTEGER NOT NULL,
    by_org TEXT NOT NULL,
    tx_id INTEGER REFERENCES ledger_transactions(id),
    block_hash TEXT NOT NULL DEFAULT '',
    settled_by INTEGER,
    settled_at TIMESTAMP NOT NULL,
    PRIMARY KEY (store_id, period)
);
