-- A sale counts, in the reports, for the org the buyer lived in when they
-- bought: kept on the sale, so that a cancellation, a refund or a rebuild
-- of the reports after the buyer has moved books the same org as the sale
-- did. Sales made before this version take the buyer's home now, which is
-- what the reports of the time used.
ALTER TABLE redemptions ADD COLUMN buyer_org_id BIGINT REFERENCES orgs(id);
UPDATE redemptions r SET buyer_org_id = p.home_org_id FROM people p WHERE p.id = r.person_id;
