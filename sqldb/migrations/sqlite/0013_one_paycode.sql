-- A person has one unused pay code at a time, the newest: a new code
-- replaces the unused one in place (an upsert on this index). Deleting
-- the old and inserting the new, two fetches at the same moment on
-- PostgreSQL each missed the other's uncommitted code, and both stayed
-- valid. Older unused codes, which a fetch would have voided, go first.
DELETE FROM paycodes WHERE used_at IS NULL AND EXISTS (
    SELECT 1 FROM paycodes n WHERE n.person_id = paycodes.person_id AND n.used_at IS NULL
        AND (n.expires_at > paycodes.expires_at OR (n.expires_at = paycodes.expires_at AND n.code_hash > paycodes.code_hash)));
CREATE UNIQUE INDEX paycodes_unused ON paycodes(person_id) WHERE used_at IS NULL;
