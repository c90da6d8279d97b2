-- An erasure finds the audit lines about a person, their awards and the
-- households they belonged to by target. With only the path index it read
-- the whole log several times over, about a second per scan at 5 M lines
-- and one line per award, in SQLite's one writer; with this index each is
-- a lookup. An award's line adds its entry at the end of the award range
-- (ids grow), a page a group of awards shares. Building it on a county's
-- log makes this upgrade's start-up take a while (writes wait for it).
CREATE INDEX audit_target ON audit_log(target_type, target_id);
-- The households a person has left, by the line of each leaving, which
-- holds their id; no other line enters this index.
CREATE INDEX audit_left ON audit_log(detail) WHERE action = 'household.remove_member';
