-- One waiting correction request per record and one waiting transfer per
-- person. The services look before they insert; on PostgreSQL two requests
-- at once both looked before either inserted. Waiting duplicates an
-- earlier version let through are answered first, the earliest kept.
UPDATE correction_requests SET status = 'rejected', answer = '重复的申请，已保留最早的一份', decided_at = CURRENT_TIMESTAMP
WHERE status = 'pending' AND id NOT IN (SELECT MIN(id) FROM correction_requests WHERE status = 'pending' GROUP BY record_id);
UPDATE transfers SET status = 'rejected', answer = '重复的申请，已保留最早的一份', decided_at = CURRENT_TIMESTAMP
WHERE status = 'pending' AND id NOT IN (SELECT MIN(id) FROM transfers WHERE status = 'pending' GROUP BY person_id);
CREATE UNIQUE INDEX correction_requests_pending ON correction_requests(record_id) WHERE status = 'pending';
CREATE UNIQUE INDEX transfers_pending ON transfers(person_id) WHERE status = 'pending';
-- A check-in closes the person's open check-ins elsewhere (ActivityService
-- arrive): found among the open ones only.
CREATE INDEX attendance_open ON attendance(person_id) WHERE ended_at IS NULL;
