-- Report roll-ups: derived from the records, awards and redemptions in the
-- same transaction as each write, so reports read a few thousand rows
-- instead of millions. Rows are kept per leaf org (summed up the tree by a
-- path range when read) and striped by person, so no row is written by
-- every writer in a county. RebuildReports recomputes them from scratch.
CREATE TABLE report_months (
    org_id INTEGER NOT NULL,
    org_path TEXT NOT NULL,
    month TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    minutes INTEGER NOT NULL DEFAULT 0,
    records INTEGER NOT NULL DEFAULT 0,
    awarded INTEGER NOT NULL DEFAULT 0,
    deducted INTEGER NOT NULL DEFAULT 0,
    redeemed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, month, stripe)
);
CREATE INDEX report_months_path ON report_months(org_path, month);

-- A volunteer's verified minutes, at their home org: top volunteers and stars.
CREATE TABLE report_people (
    person_id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL,
    org_path TEXT NOT NULL,
    minutes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX report_people_path ON report_people(org_path, minutes);
CREATE INDEX report_people_minutes ON report_people(minutes);

CREATE TABLE report_stars (
    org_id INTEGER NOT NULL,
    org_path TEXT NOT NULL,
    star INTEGER NOT NULL,
    people INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, star)
);
CREATE INDEX report_stars_path ON report_stars(org_path);

CREATE TABLE report_stores (
    store_id INTEGER NOT NULL,
    month TEXT NOT NULL,
    sales INTEGER NOT NULL DEFAULT 0,
    points INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, month)
);
