-- 0004: version history and the trash.
-- The earlier values of each secret, one row per version, sealed as they were when they were current
-- (same data key; the associated data binds organization, secret and version: see crypto.go). The
-- current value stays in secrets. At most Options.MaxVersions versions of a secret are kept, the
-- current one included; older rows are deleted, and with secure_delete their pages are zeroed.
CREATE TABLE secret_versions (
	secret_id   TEXT NOT NULL REFERENCES secrets (id),
	version     INTEGER NOT NULL,
	data_key_id TEXT NOT NULL REFERENCES data_keys (id),
	value_size  INTEGER NOT NULL,
	set_by      TEXT NOT NULL REFERENCES users (id),
	set_at      INTEGER NOT NULL,
	sealed      BLOB NOT NULL, -- last, as in secrets
	PRIMARY KEY (secret_id, version)
);

-- A deleted secret (deleted_at set) is in the trash until Options.TrashWindow has passed; then it is
-- purged with its versions and grants. This index finds an organization's trash, and what to purge.
CREATE INDEX secrets_trash ON secrets (org_id, deleted_at) WHERE deleted_at IS NOT NULL;
