-- A new pay code no longer voids the person's unused one (0013): each code
-- works once, until its minute is up, so two phones of one resident, or a
-- page fetching twice, do not spend each other's codes. The sweep deletes
-- every code an hour past its minute, used or not, by the expiry index,
-- which then holds about an hour's codes.
DROP INDEX paycodes_unused;
DROP INDEX paycodes_used;
CREATE INDEX paycodes_expiry ON paycodes(expires_at);
