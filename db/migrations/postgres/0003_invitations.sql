-- 0003 for PostgreSQL (as migrations/0003_invitations.sql): people join an organization by accepting an invitation, and nobody but an account's owner
-- chooses its password: a forgotten one is reset through a one-time link the operator hands over.

-- An invitation to join org as role. Its link carries a random token; only the token's SHA-256 is
-- stored. State moves once from pending to accepted, refused or revoked; a pending invitation past
-- expires_at no longer works.
CREATE TABLE invitations (
	id          TEXT COLLATE "C" PRIMARY KEY,
	org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
	email       TEXT COLLATE "C" NOT NULL,
	email_key   TEXT COLLATE "C" NOT NULL, -- lower(email)
	role        TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'member')),
	message     TEXT COLLATE "C" NOT NULL DEFAULT '',
	token_hash  BYTEA NOT NULL UNIQUE,
	state       TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'accepted', 'refused', 'revoked')),
	created_by  TEXT COLLATE "C" NOT NULL DEFAULT '', -- the inviting user; '' for the operator's command line
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	acted_at    BIGINT,
	acted_by    TEXT COLLATE "C" NOT NULL DEFAULT '' -- the user who accepted, or who revoked
);
CREATE INDEX invitations_org ON invitations (org_id, created_at);
-- One pending invitation per person and organization: inviting again replaces it.
CREATE UNIQUE INDEX invitations_pending ON invitations (org_id, email_key) WHERE state = 'pending';

-- The teams an invitation's person joins on accepting it.
CREATE TABLE invitation_teams (
	invitation_id TEXT COLLATE "C" NOT NULL REFERENCES invitations (id),
	team_id       TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	PRIMARY KEY (invitation_id, team_id)
);

-- A password-reset link the operator created for a user: single use, expiring.
CREATE TABLE password_resets (
	token_hash BYTEA PRIMARY KEY,
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);
