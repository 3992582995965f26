-- 0004: version history and the trash (see the SQLite migration of the same number).
CREATE TABLE secret_versions (
	secret_id   TEXT COLLATE "C" NOT NULL REFERENCES secrets (id),
	version     BIGINT NOT NULL,
	data_key_id TEXT COLLATE "C" NOT NULL REFERENCES data_keys (id),
	value_size  BIGINT NOT NULL,
	set_by      TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	set_at      BIGINT NOT NULL,
	sealed      BYTEA NOT NULL,
	PRIMARY KEY (secret_id, version)
);

CREATE INDEX secrets_trash ON secrets (org_id, deleted_at) WHERE deleted_at IS NOT NULL;
