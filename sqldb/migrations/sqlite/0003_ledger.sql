-- The points ledger: accounts, append-only transactions and postings, and
-- the blocks that seal them into a chain.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    -- balance and score are a cache of the postings that `jifen verify`
    -- rebuilds and compares; issuance accounts keep them at zero.
    balance INTEGER NOT NULL DEFAULT 0,
    score INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, owner_id)
);

CREATE TABLE ledger_transactions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    request_hash TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    org_id INTEGER,
    reverses_id INTEGER REFERENCES ledger_transactions(id),
    shortfall INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER,
    created_at TIMESTAMP NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX ledger_transactions_reverses ON ledger_transactions(reverses_id);

CREATE TABLE postings (
    id INTEGER PRIMARY KEY,
    tx_id INTEGER NOT NULL REFERENCES ledger_transactions(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL,
    score INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX postings_tx ON postings(tx_id);
CREATE INDEX postings_account ON postings(account_id, tx_id);

-- unsealed queues what the sealer has not put in a block yet; a row
-- leaves it when its transaction is sealed. It is a work queue, not history.
CREATE TABLE unsealed (
    tx_id INTEGER PRIMARY KEY REFERENCES ledger_transactions(id)
);

CREATE TABLE blocks (
    number INTEGER PRIMARY KEY,
    tx_count INTEGER NOT NULL,
    root TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    sealed_at TIMESTAMP NOT NULL
);

CREATE TABLE block_items (
    block_number INTEGER NOT NULL REFERENCES blocks(number),
    tx_id INTEGER NOT NULL UNIQUE REFERENCES ledger_transactions(id),
    PRIMARY KEY (block_number, tx_id)
);
