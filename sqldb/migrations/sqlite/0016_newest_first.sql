-- The records list shows a subtree's records newest first. With only the
-- path index SQLite read a county's 10 M records and sorted them all for
-- each page (13–21 s at 1 M people); with this one it walks the newest
-- and skips those outside the subtree (walkNewest, list.go).
CREATE INDEX service_records_started ON service_records(started_at);
