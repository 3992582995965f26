-- 0001 for PostgreSQL: the same schema as migrations/0001_init.sql, in PostgreSQL's types. Never
-- edit a migration once applied: add a new file, here and beside SQLite's, with the same number.
-- Times are Unix milliseconds (UTC) in BIGINT; IDs are lower-case hyphenated UUIDs stored as text.
-- Every text column uses the "C" collation: ordering and lower() are SQLite's (byte order, ASCII
-- case), whatever the database's default collation.

CREATE TABLE meta (
	key   TEXT COLLATE "C" PRIMARY KEY,
	value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE orgs (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL,
	name_key   TEXT COLLATE "C" NOT NULL UNIQUE, -- lower(name): organization names are unique case-insensitively
	created_at BIGINT NOT NULL
);

CREATE TABLE users (
	id                  TEXT COLLATE "C" PRIMARY KEY,
	email               TEXT COLLATE "C" NOT NULL,
	email_key           TEXT COLLATE "C" NOT NULL UNIQUE, -- lower(email)
	first_name          TEXT COLLATE "C" NOT NULL DEFAULT '',
	last_name           TEXT COLLATE "C" NOT NULL DEFAULT '',
	password_hash       TEXT COLLATE "C" NOT NULL,
	created_at          BIGINT NOT NULL,
	password_changed_at BIGINT NOT NULL
);

CREATE TABLE memberships (
	org_id     TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	role       TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'member')),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE teams (
	id          TEXT COLLATE "C" PRIMARY KEY,
	org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
	name        TEXT COLLATE "C" NOT NULL,
	name_key    TEXT COLLATE "C" NOT NULL,
	description TEXT COLLATE "C" NOT NULL DEFAULT '',
	created_by  TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_at  BIGINT NOT NULL,
	UNIQUE (org_id, name_key)
);

CREATE TABLE team_members (
	team_id    TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Envelope encryption: one data key per organization, stored wrapped (AES-256-GCM) under the master
-- key identified by master_key_id. Values are sealed with their organization's data key.
CREATE TABLE data_keys (
	id            TEXT COLLATE "C" PRIMARY KEY,
	org_id        TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
	wrapped       BYTEA NOT NULL,
	master_key_id TEXT COLLATE "C" NOT NULL,
	created_at    BIGINT NOT NULL
);
CREATE INDEX data_keys_org ON data_keys (org_id);

CREATE TABLE secrets (
	id          TEXT COLLATE "C" PRIMARY KEY,
	org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
	name        TEXT COLLATE "C" NOT NULL,
	data_key_id TEXT COLLATE "C" NOT NULL REFERENCES data_keys (id),
	value_size  BIGINT NOT NULL,
	version     BIGINT NOT NULL DEFAULT 1,
	created_by  TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_at  BIGINT NOT NULL,
	updated_by  TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	updated_at  BIGINT NOT NULL,
	deleted_by  TEXT COLLATE "C" REFERENCES users (id),
	deleted_at  BIGINT,
	-- nonce || AES-256-GCM(value); associated data binds org and secret ID. Last, so that reading the
	-- other columns never walks a large value's overflow pages.
	sealed      BYTEA NOT NULL
);
-- A live name is unique in its organization; deleting a secret frees its name.
CREATE UNIQUE INDEX secrets_live_name ON secrets (org_id, name) WHERE deleted_at IS NULL;

-- Access to a secret: a user or a team holds the role owner or reader.
CREATE TABLE grants (
	secret_id      TEXT COLLATE "C" NOT NULL REFERENCES secrets (id),
	principal_kind TEXT COLLATE "C" NOT NULL CHECK (principal_kind IN ('user', 'team')),
	principal_id   TEXT COLLATE "C" NOT NULL,
	role           TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'reader')),
	created_by     TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_at     BIGINT NOT NULL,
	PRIMARY KEY (secret_id, principal_kind, principal_id)
);
CREATE INDEX grants_principal ON grants (principal_kind, principal_id);

CREATE TABLE api_keys (
	id           TEXT COLLATE "C" PRIMARY KEY,
	org_id       TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
	user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	label        TEXT COLLATE "C" NOT NULL,
	prefix       TEXT COLLATE "C" NOT NULL,        -- the first characters of the key, safe to show
	hash         BYTEA NOT NULL UNIQUE, -- SHA-256 of the whole key; the key itself is never stored
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT,
	last_used_at BIGINT,
	revoked_at   BIGINT
);
CREATE INDEX api_keys_org_user ON api_keys (org_id, user_id);

-- Portal sessions live here, not in the cookie: the cookie holds an opaque random ID whose SHA-256
-- is the key, so any instance can read a session and sign-out ends it everywhere.
CREATE TABLE sessions (
	id_hash      BYTEA PRIMARY KEY,
	user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	org_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
	data         TEXT COLLATE "C" NOT NULL DEFAULT '{}',
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-in counters per account and per client address (key is 'email:...' or 'ip:...').
CREATE TABLE login_failures (
	key          TEXT COLLATE "C" PRIMARY KEY,
	failures     BIGINT NOT NULL,
	window_start BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0
);

-- The audit trail. It never holds a value. Names are copied so that the trail still reads after
-- renames and deletions.
CREATE TABLE audit_events (
	id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	at            BIGINT NOT NULL,
	org_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
	actor_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
	actor_email   TEXT COLLATE "C" NOT NULL DEFAULT '',
	api_key_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
	api_key_label TEXT COLLATE "C" NOT NULL DEFAULT '',
	source        TEXT COLLATE "C" NOT NULL DEFAULT '', -- portal, api, cli, system
	client_ip     TEXT COLLATE "C" NOT NULL DEFAULT '',
	action        TEXT COLLATE "C" NOT NULL,
	secret_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
	secret_name   TEXT COLLATE "C" NOT NULL DEFAULT '',
	target_kind   TEXT COLLATE "C" NOT NULL DEFAULT '', -- user, team, api_key, org
	target_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
	target_name   TEXT COLLATE "C" NOT NULL DEFAULT '',
	role          TEXT COLLATE "C" NOT NULL DEFAULT '',
	detail        TEXT COLLATE "C" NOT NULL DEFAULT '',
	journal_id    BIGINT -- SQLite's: set on read events that pass through its audit journal; NULL here
);
CREATE INDEX audit_org_at ON audit_events (org_id, at);
-- A read event replayed from the journal after a crash is inserted once.
CREATE UNIQUE INDEX audit_journal ON audit_events (journal_id) WHERE journal_id IS NOT NULL;
CREATE INDEX audit_secret ON audit_events (secret_id, at);
