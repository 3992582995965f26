package db

import (
	"context"
	"time"
)

// Audit actions.
const (
	ActionOrgCreate      = "org.create"
	ActionMemberAdd      = "member.add"
	ActionMemberRole     = "member.role"
	ActionMemberRemove   = "member.remove"
	ActionSecretCreate   = "secret.create"
	ActionSecretUpdate   = "secret.update"
	ActionSecretDelete   = "secret.delete"
	ActionSecretRead     = "secret.read"
	ActionSecretRestore  = "secret.restore" // out of the trash
	ActionSecretPurge    = "secret.purge"   // destroyed: from the trash, or when its window passed
	ActionAccessGrant    = "access.grant"
	ActionAccessRevoke   = "access.revoke"
	ActionTeamCreate     = "team.create"
	ActionTeamUpdate     = "team.update"
	ActionTeamDelete     = "team.delete"
	ActionTeamMemberAdd  = "team.member_add"
	ActionTeamMemberDrop = "team.member_remove"
	ActionAPIKeyCreate   = "apikey.create"
	ActionAPIKeyRevoke   = "apikey.revoke"
	// ActionPasswordChange is a user changing their own password (recorded in each of their
	// organizations). ActionPasswordReset is the operator resetting a forgotten one, and
	// ActionPasswordResetUsed the user choosing a new one through the reset link.
	ActionPasswordChange    = "user.password_change"
	ActionPasswordReset     = "user.password_reset"
	ActionPasswordResetUsed = "user.password_reset_used"
	// ActionMemberPasswordSet is an admin setting a member's password: no longer possible, kept so
	// that events recorded before read as they did.
	ActionMemberPasswordSet = "member.password_set"
	ActionInvitationCreate  = "invitation.create"
	ActionInvitationRevoke  = "invitation.revoke"
	ActionInvitationAccept  = "invitation.accept"
	ActionInvitationRefuse  = "invitation.refuse"
	// ActionAccessViaTeam is recorded on a secret when someone joins a team that holds a grant on
	// it: they gained the role through the team. TargetName is the person; Detail is the team's name,
	// "; ", and who made it so ("added by <email>" or "invited by <email>"). That last part is always
	// there and never holds a ";" (no email does), so a reader splits Detail at its last "; ": a team
	// name may itself hold "; invited by …".
	ActionAccessViaTeam = "access.via_team"
)

// Event is one audit record. It never holds a secret value.
type Event struct {
	Action     string
	SecretID   string
	SecretName string
	TargetKind string
	TargetID   string
	TargetName string
	Role       string
	Detail     string
}

// AuditEvent is a recorded Event with who, where and when.
type AuditEvent struct {
	Event
	ID         int64
	At         time.Time
	OrgID      string
	ActorID    string
	ActorEmail string
	// ActorName is the actor's name as it is now (events record the email, not the name): "" when
	// they gave none, and for the command line and the system.
	ActorName   string
	APIKeyID    string
	APIKeyLabel string
	Source      string
	ClientIP    string
}

// AuditFilter selects audit events. Zero fields match everything.
type AuditFilter struct {
	ActorID string
	// Secret is a secret's ID, or a part of a name in any case (likePattern): then the events whose
	// secret's name holds it, as the event recorded it or as the secret is named now (one restored
	// under a new name), deleted secrets included. No name holds an ID (IDs have a "-", names never
	// do), so an ID matches its secret's events alone.
	Secret   string
	Action   string
	From, To time.Time
	// Before pages backwards: only events with ID < Before.
	Before int64
	Limit  int
	// People asks AuditLog for the organization's members too, for a filter by person.
	People bool
}

// AuditLog is a page of the audit log and, when the filter asked for them, the organization's
// members by email.
type AuditLog struct {
	Events []AuditEvent
	People []Member
}

// AuditLog reads the organization's audit events, newest first, and its members if f.People. Admins
// only. It returns CodeForbidden.
func (s *Store) AuditLog(ctx context.Context, a Actor, f AuditFilter) (*AuditLog, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can read the audit log.")
	}
	events, err := s.listAudit(ctx, a.OrgID, f)
	if err != nil || !f.People {
		return &AuditLog{Events: events}, err
	}
	people, err := listMembersTx(ctx, s.r, a.OrgID, "")
	return &AuditLog{Events: events, People: people}, err
}

// ListAudit lists the organization's audit events, newest first. Admins only.
func (s *Store) ListAudit(ctx context.Context, a Actor, f AuditFilter) ([]AuditEvent, error) {
	l, err := s.AuditLog(ctx, a, f)
	if err != nil {
		return nil, err
	}
	return l.Events, nil
}

// SecretActivity lists the audit events of one secret, newest first. Owners only.
func (s *Store) SecretActivity(ctx context.Context, a Actor, secretID string, limit int) ([]AuditEvent, error) {
	sec, err := s.SecretByID(ctx, a, secretID)
	if err != nil {
		return nil, err
	}
	if !sec.Access.CanEdit() {
		return nil, Errorf(CodeForbidden, "Only Owners can see a secret's activity.")
	}
	return s.listAudit(ctx, a.OrgID, AuditFilter{Secret: secretID, Limit: limit})
}

func (s *Store) listAudit(ctx context.Context, orgID string, f AuditFilter) ([]AuditEvent, error) {
	if err := s.m.syncAudit(ctx); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var from, to int64
	if !f.From.IsZero() {
		from = ms(f.From)
	}
	if !f.To.IsZero() {
		to = ms(f.To)
	}
	// Pages are keyed by event ID (Before), not by offset: events written while someone pages
	// (they get higher IDs) neither shift nor repeat the older pages.
	rows, err := s.r.QueryContext(ctx, `SELECT e.id, e.at, e.org_id, e.actor_id, e.actor_email, e.api_key_id, e.api_key_label, e.source, e.client_ip,
		e.action, e.secret_id, e.secret_name, e.target_kind, e.target_id, e.target_name, e.role, e.detail,
		COALESCE(u.first_name, ''), COALESCE(u.last_name, '')
		FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id
		WHERE e.org_id = ?1 AND (?2 = '' OR e.actor_id = ?2) AND (?3 = '' OR e.action = ?3)
		AND (?4 = '' OR e.secret_id = ?4 OR lower(e.secret_name) LIKE ?9 ESCAPE '\'
			OR e.secret_id IN (SELECT id FROM secrets WHERE org_id = ?1 AND lower(name) LIKE ?9 ESCAPE '\'))
		AND (CAST(?5 AS BIGINT) = 0 OR e.at >= ?5) AND (CAST(?6 AS BIGINT) = 0 OR e.at < ?6) AND (CAST(?7 AS BIGINT) = 0 OR e.id < ?7)
		ORDER BY e.id DESC LIMIT ?8`,
		orgID, f.ActorID, f.Action, f.Secret, from, to, f.Before, f.Limit, likePattern(f.Secret))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		var first, last string
		if err := rows.Scan(&e.ID, &at, &e.OrgID, &e.ActorID, &e.ActorEmail, &e.APIKeyID, &e.APIKeyLabel, &e.Source, &e.ClientIP,
			&e.Action, &e.SecretID, &e.SecretName, &e.TargetKind, &e.TargetID, &e.TargetName, &e.Role, &e.Detail, &first, &last); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		e.ActorName = displayName(first, last, "")
		out = append(out, e)
	}
	return out, rows.Err()
}
