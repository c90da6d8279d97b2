-- Reads that grew with what a county piles up over the years, though
-- the rows they want do not: each searched an index range and then threw
-- most of it away row by row, or had no index at all. Measured with
-- 100,000 irrelevant rows beside the few wanted (BENCHMARKS.md, "Reads
-- that must not grow"), on SQLite unless said.

-- A correction's current minutes, asked on every request, answer and
-- application of a correction (id = ? OR corrects_id = ?): every service
-- record was read, 26 ms, in the writer when applied.
CREATE INDEX service_records_corrects ON service_records(corrects_id) WHERE corrects_id IS NOT NULL;

-- Pricing a correction: a service record's awards, by the ids of the
-- record and its corrections; with the status in the index SQLite
-- searches them there rather than every posted award (27 ms).
DROP INDEX awards_record;
CREATE INDEX awards_record ON awards(record_id, status);

-- A resident's own appeals: every appeal of the county, 26 ms.
CREATE INDEX appeals_person ON appeals(person_id, id);

-- Activities open to sign up: finished ones stay 'published', and the
-- list read them all, 77 ms.
CREATE INDEX activities_open ON activities(ends_at) WHERE status = 'published';

-- What an org issued this year (its budget's first award of the year and
-- every budget change, in the writer): every award in the county, 54 ms.
CREATE INDEX awards_issuer ON awards(issuer_org_id, posted_at);

-- Caps: the org-wide daily cap asks for one person's day across all
-- rules, which (person_id, rule_id, day) could not bound; a rule's cap
-- asks for a span of days, which (person_id, day, rule_id) still bounds
-- (a year's awards of the person). A life cap, rare, now reads all of
-- the person's awards, as the daily cap, common, did before.
DROP INDEX awards_person;
CREATE INDEX awards_person ON awards(person_id, day, rule_id);
DROP INDEX awards_household;
CREATE INDEX awards_household ON awards(household_id, day, rule_id);

-- The public board and notice: awards on display (public_until ahead)
-- and the rankings' posted awards of a month or a year, instead of every
-- posted award ever, 140 ms a village board on SQLite, which searches
-- them org by org of the subtree (inSubtree). Still the review queue's
-- index (status, org_path) and the lists' (org_path, …).
DROP INDEX awards_status;
CREATE INDEX awards_status ON awards(status, org_path, public_until);
DROP INDEX awards_path;
CREATE INDEX awards_path ON awards(org_path, status, day);

-- The counter's sales of the day: every sale the store ever made, 92 ms.
CREATE INDEX redemptions_store_created ON redemptions(store_id, created_at);
