-- Whoever records certifies (谁记录谁证明): a certificate issued by the org
-- that recorded the service covers only what that org and the teams under
-- it recorded. Those issued before are their home org's, for all service.
ALTER TABLE certificates ADD COLUMN org_only INTEGER NOT NULL DEFAULT 0;
