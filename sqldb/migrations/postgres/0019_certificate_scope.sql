-- Whoever records certifies (谁记录谁证明): a certificate issued by the org
-- that recorded the service covers only what that org and the teams under
-- it recorded. Those issued before are their home org's, for all service.
ALTER TABLE certificates ADD COLUMN org_only BOOLEAN NOT NULL DEFAULT FALSE;
-- The records such a certificate covers, as they were when it was issued:
-- a team that later moves out of the org (or into it) does not change it.
CREATE TABLE certificate_records (
    certificate_id BIGINT NOT NULL REFERENCES certificates(id),
    record_id BIGINT NOT NULL REFERENCES service_records(id),
    PRIMARY KEY (certificate_id, record_id)
);
