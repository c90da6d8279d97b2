-- A new pay code voids the person's unused ones: found by person, not by
-- reading every code.
CREATE INDEX paycodes_person ON paycodes(person_id);
