-- Every pay-code fetch sweeps used codes an hour past their minute. It
-- searched the expiry index of all codes and skipped the unused ones row
-- by row; unused codes stay (one per person at most, 0013), so with a
-- county's residents each holding a stale one the sweep read them all,
-- in SQLite's one writer on every fetch (41 ms at 300,000). The index
-- now holds used codes only, which the sweep keeps few.
DROP INDEX paycodes_expiry;
CREATE INDEX paycodes_used ON paycodes(expires_at) WHERE used_at IS NOT NULL;
