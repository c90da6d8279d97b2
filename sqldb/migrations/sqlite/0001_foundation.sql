-- Foundation: organisations, people, roles, sessions, audit, inbox.
CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES orgs(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    depth INTEGER NOT NULL,
    leader_name TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    seal BLOB,
    signup_requires_approval INTEGER NOT NULL DEFAULT 0,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX orgs_parent ON orgs(parent_id);
CREATE INDEX orgs_name ON orgs(name);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    gender TEXT NOT NULL,
    birth_date TEXT NOT NULL DEFAULT '',
    phone TEXT UNIQUE,
    id_cipher BLOB,
    id_hash TEXT UNIQUE,
    id_masked TEXT NOT NULL DEFAULT '',
    political_status TEXT NOT NULL,
    skills TEXT NOT NULL DEFAULT '',
    home_org_id INTEGER NOT NULL REFERENCES orgs(id),
    home_org_path TEXT NOT NULL,
    volunteer_no TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    pin_hash TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_home_path ON people(home_org_path);
CREATE INDEX people_name ON people(name);

CREATE TABLE memberships (
    person_id INTEGER NOT NULL REFERENCES people(id),
    team_id INTEGER NOT NULL REFERENCES orgs(id),
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (person_id, team_id)
);
CREATE INDEX memberships_team ON memberships(team_id);

CREATE TABLE grants (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    role TEXT NOT NULL,
    granted_by INTEGER,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (person_id, org_id, role)
);

CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    guardian_name TEXT NOT NULL DEFAULT '',
    guardian_phone TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    at TIMESTAMP NOT NULL
);
CREATE INDEX consents_person ON consents(person_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);

CREATE TABLE throttles (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    failures INTEGER NOT NULL
);

CREATE TABLE reset_codes (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    code_hash TEXT NOT NULL,
    issued_by INTEGER NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reset_codes_person ON reset_codes(person_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id INTEGER,
    org_id INTEGER,
    org_path TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id INTEGER,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_org_path ON audit_log(org_path, id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX messages_person ON messages(person_id, id);

CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
