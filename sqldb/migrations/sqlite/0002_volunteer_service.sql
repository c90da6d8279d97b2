-- Volunteer service: projects, activities, sign-ups, attendance, verified
-- service records, corrections, transfers and the certificate register.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX projects_org ON projects(org_id);

CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    org_path TEXT NOT NULL,
    project_id INTEGER REFERENCES projects(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    radius_m INTEGER NOT NULL DEFAULT 0,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL DEFAULT 0,
    signup_deadline TIMESTAMP,
    min_age INTEGER NOT NULL DEFAULT 0,
    skills TEXT NOT NULL DEFAULT '',
    points_per_hour INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    cancel_reason TEXT NOT NULL DEFAULT '',
    -- confirmed counts confirmed sign-ups; a conditional update on it keeps
    -- capacity under any concurrency on both databases.
    confirmed INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER,
    created_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    verified_at TIMESTAMP,
    verified_by INTEGER
);
CREATE INDEX activities_org_path ON activities(org_path, starts_at);
CREATE INDEX activities_starts ON activities(starts_at);

CREATE TABLE signups (
    id INTEGER PRIMARY KEY,
    activity_id INTEGER NOT NULL REFERENCES activities(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    status TEXT NOT NULL,
    queued_at TIMESTAMP NOT NULL,
    added_by INTEGER,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (activity_id, person_id)
);
CREATE INDEX signups_person ON signups(person_id);
CREATE INDEX signups_queue ON signups(activity_id, status, queued_at, id);

CREATE TABLE attendance (
    id INTEGER PRIMARY KEY,
    activity_id INTEGER NOT NULL REFERENCES activities(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    how TEXT NOT NULL,
    auto_closed INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    recorded_by INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attendance_activity ON attendance(activity_id, person_id);

CREATE TABLE service_records (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    org_path TEXT NOT NULL,
    activity_id INTEGER REFERENCES activities(id),
    content TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    how TEXT NOT NULL,
    recorded_by INTEGER,
    verified_by INTEGER NOT NULL,
    verified_at TIMESTAMP NOT NULL,
    corrects_id INTEGER REFERENCES service_records(id),
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX service_records_person ON service_records(person_id, started_at);
CREATE INDEX service_records_org ON service_records(org_path, started_at);
CREATE UNIQUE INDEX service_records_once ON service_records(activity_id, person_id, how) WHERE activity_id IS NOT NULL AND how <> 'correction';

CREATE TABLE correction_requests (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES service_records(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    wanted_minutes INTEGER NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    decided_by INTEGER,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
CREATE INDEX correction_requests_record ON correction_requests(record_id);

CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    from_org_id INTEGER NOT NULL REFERENCES orgs(id),
    to_org_id INTEGER NOT NULL REFERENCES orgs(id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by INTEGER,
    decided_by INTEGER,
    decided_at TIMESTAMP,
    answer TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX transfers_person ON transfers(person_id);
CREATE INDEX transfers_to ON transfers(to_org_id, status);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    check_code TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    from_at TIMESTAMP NOT NULL,
    to_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    records INTEGER NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    issued_by INTEGER,
    issued_at TIMESTAMP NOT NULL,
    issuer_name TEXT NOT NULL,
    issuer_leader TEXT NOT NULL DEFAULT '',
    issuer_phone TEXT NOT NULL DEFAULT '',
    issuer_address TEXT NOT NULL DEFAULT ''
);
CREATE INDEX certificates_person ON certificates(person_id);
