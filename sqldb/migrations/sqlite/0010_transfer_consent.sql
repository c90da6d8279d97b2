-- A transfer someone else asked for waits for the person's consent
-- (STANDARDS: records move with the volunteer's consent): the receiving
-- side approves only once consented_at is set. One the person asked for
-- is consented as it is made; those made before this version were asked
-- under the old rule and are left as they were (consented).
ALTER TABLE transfers ADD COLUMN consented_at TIMESTAMP;
UPDATE transfers SET consented_at = created_at;
