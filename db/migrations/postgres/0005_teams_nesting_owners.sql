-- 0005 for PostgreSQL (as migrations/0005_teams_nesting_owners.sql): nested teams and team Owners. A team may contain teams: a grant to a team reaches the members
-- of its member teams, transitively. Team Owners may manage their team without being admins.

-- outer_id contains inner_id (one edge, as the team's admin or Owner set it). No cycles: refused in db.
CREATE TABLE team_nesting (
	outer_id   TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	inner_id   TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (outer_id, inner_id)
);
CREATE INDEX team_nesting_inner ON team_nesting (inner_id);

-- The transitive closure of team_nesting, without the reflexive pairs: outer_id contains inner_id at
-- some depth. Rebuilt for the organization in every transaction that changes its nesting, so that the
-- permission rule (heldBy) stays one indexed lookup: the outer teams of the user's teams.
CREATE TABLE team_closure (
	inner_id TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	outer_id TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	PRIMARY KEY (inner_id, outer_id)
);
CREATE INDEX team_closure_outer ON team_closure (outer_id);

-- A team Owner may rename the team, change its members and member teams, and its Owners.
CREATE TABLE team_owners (
	team_id    TEXT COLLATE "C" NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_owners_user ON team_owners (user_id);
