-- Report roll-ups: derived from the records, awards and redemptions in the
-- same transaction as each write, so reports read a few thousand rows
-- instead of millions. Rows are kept per leaf org (summed up the tree by a
-- path range when read) and striped by person, so no row is written by
-- every writer in a county. RebuildReports recomputes them from scratch.
CREATE TABLE report_months (
    org_id BIGINT NOT NULL,
    org_path TEXT COLLATE "C" NOT NULL,
    month TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    minutes BIGINT NOT NULL DEFAULT 0,
    records BIGINT NOT NULL DEFAULT 0,
    awarded BIGINT NOT NULL DEFAULT 0,
    deducted BIGINT NOT NULL DEFAULT 0,
    redeemed BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, month, stripe)
);
CREATE INDEX report_months_path ON report_months(org_path, month);

-- A volunteer's verified minutes, at their home org: top volunteers and stars.
CREATE TABLE report_people (
    person_id BIGINT PRIMARY KEY,
    org_id BIGINT NOT NULL,
    org_path TEXT COLLATE "C" NOT NULL,
    minutes BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX report_people_path ON report_people(org_path, minutes);
CREATE INDEX report_people_minutes ON report_people(minutes);

CREATE TABLE report_stars (
    org_id BIGINT NOT NULL,
    org_path TEXT COLLATE "C" NOT NULL,
    star INTEGER NOT NULL,
    people BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, star)
);
CREATE INDEX report_stars_path ON report_stars(org_path);

CREATE TABLE report_stores (
    store_id BIGINT NOT NULL,
    month TEXT NOT NULL,
    sales BIGINT NOT NULL DEFAULT 0,
    points BIGINT NOT NULL DEFAULT 0,
    refunded BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, month)
);
