-- 0001: the whole first schema. Never edit a migration once it has been applied: add a new file.
-- Times are Unix milliseconds (UTC). IDs are lower-case hyphenated UUIDs stored as text.

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE orgs (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_key   TEXT NOT NULL UNIQUE, -- lower(name): organization names are unique case-insensitively
	created_at INTEGER NOT NULL
);

CREATE TABLE users (
	id                  TEXT PRIMARY KEY,
	email               TEXT NOT NULL,
	email_key           TEXT NOT NULL UNIQUE, -- lower(email)
	first_name          TEXT NOT NULL DEFAULT '',
	last_name           TEXT NOT NULL DEFAULT '',
	password_hash       TEXT NOT NULL,
	created_at          INTEGER NOT NULL,
	password_changed_at INTEGER NOT NULL
);

CREATE TABLE memberships (
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	user_id    TEXT NOT NULL REFERENCES users (id),
	role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE teams (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES orgs (id),
	name        TEXT NOT NULL,
	name_key    TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_by  TEXT NOT NULL REFERENCES users (id),
	created_at  INTEGER NOT NULL,
	UNIQUE (org_id, name_key)
);

CREATE TABLE team_members (
	team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Envelope encryption: one data key per organization, stored wrapped (AES-256-GCM) under the master
-- key identified by master_key_id. Values are sealed with their organization's data key.
CREATE TABLE data_keys (
	id            TEXT PRIMARY KEY,
	org_id        TEXT NOT NULL REFERENCES orgs (id),
	wrapped       BLOB NOT NULL,
	master_key_id TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX data_keys_org ON data_keys (org_id);

CREATE TABLE secrets (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES orgs (id),
	name        TEXT NOT NULL,
	data_key_id TEXT NOT NULL REFERENCES data_keys (id),
	value_size  INTEGER NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1,
	created_by  TEXT NOT NULL REFERENCES users (id),
	created_at  INTEGER NOT NULL,
	updated_by  TEXT NOT NULL REFERENCES users (id),
	updated_at  INTEGER NOT NULL,
	deleted_by  TEXT REFERENCES users (id),
	deleted_at  INTEGER,
	-- nonce || AES-256-GCM(value); associated data binds org and secret ID. Last, so that reading the
	-- other columns never walks a large value's overflow pages.
	sealed      BLOB NOT NULL
);
-- A live name is unique in its organization; deleting a secret frees its name.
CREATE UNIQUE INDEX secrets_live_name ON secrets (org_id, name) WHERE deleted_at IS NULL;

-- Access to a secret: a user or a team holds the role owner or reader.
CREATE TABLE grants (
	secret_id      TEXT NOT NULL REFERENCES secrets (id),
	principal_kind TEXT NOT NULL CHECK (principal_kind IN ('user', 'team')),
	principal_id   TEXT NOT NULL,
	role           TEXT NOT NULL CHECK (role IN ('owner', 'reader')),
	created_by     TEXT NOT NULL REFERENCES users (id),
	created_at     INTEGER NOT NULL,
	PRIMARY KEY (secret_id, principal_kind, principal_id)
);
CREATE INDEX grants_principal ON grants (principal_kind, principal_id);

CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	org_id       TEXT NOT NULL REFERENCES orgs (id),
	user_id      TEXT NOT NULL REFERENCES users (id),
	label        TEXT NOT NULL,
	prefix       TEXT NOT NULL,        -- the first characters of the key, safe to show
	hash         BLOB NOT NULL UNIQUE, -- SHA-256 of the whole key; the key itself is never stored
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER,
	last_used_at INTEGER,
	revoked_at   INTEGER
);
CREATE INDEX api_keys_org_user ON api_keys (org_id, user_id);

-- Portal sessions live here, not in the cookie: the cookie holds an opaque random ID whose SHA-256
-- is the key, so any instance can read a session and sign-out ends it everywhere.
CREATE TABLE sessions (
	id_hash      BLOB PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id),
	org_id       TEXT NOT NULL DEFAULT '',
	data         TEXT NOT NULL DEFAULT '{}',
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-in counters per account and per client address (key is 'email:...' or 'ip:...').
CREATE TABLE login_failures (
	key          TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	window_start INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0
);

-- The audit trail. It never holds a value. Names are copied so that the trail still reads after
-- renames and deletions.
CREATE TABLE audit_events (
	id            INTEGER PRIMARY KEY, -- no AUTOINCREMENT: events are never deleted, and it would cost a page write per commit
	at            INTEGER NOT NULL,
	org_id        TEXT NOT NULL DEFAULT '',
	actor_id      TEXT NOT NULL DEFAULT '',
	actor_email   TEXT NOT NULL DEFAULT '',
	api_key_id    TEXT NOT NULL DEFAULT '',
	api_key_label TEXT NOT NULL DEFAULT '',
	source        TEXT NOT NULL DEFAULT '', -- portal, api, cli, system
	client_ip     TEXT NOT NULL DEFAULT '',
	action        TEXT NOT NULL,
	secret_id     TEXT NOT NULL DEFAULT '',
	secret_name   TEXT NOT NULL DEFAULT '',
	target_kind   TEXT NOT NULL DEFAULT '', -- user, team, api_key, org
	target_id     TEXT NOT NULL DEFAULT '',
	target_name   TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL DEFAULT '',
	detail        TEXT NOT NULL DEFAULT '',
	journal_id    INTEGER -- set on read events, which pass through the audit journal first
);
CREATE INDEX audit_org_at ON audit_events (org_id, at);
-- A read event replayed from the journal after a crash is inserted once.
CREATE UNIQUE INDEX audit_journal ON audit_events (journal_id) WHERE journal_id IS NOT NULL;
CREATE INDEX audit_secret ON audit_events (secret_id, at);
