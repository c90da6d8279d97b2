-- The server deletes expired sessions in batches (AuthService.PurgeExpiredSessions):
-- found by their expiry, not by reading every session.
CREATE INDEX sessions_expires ON sessions(expires_at);
