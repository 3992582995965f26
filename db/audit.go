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
	ID          int64
	At          time.Time
	OrgID       string
	ActorID     string
	ActorEmail  string
	APIKeyID    string
	APIKeyLabel string
	Source      string
	ClientIP    string
}

// AuditFilter selects audit events. Zero fields match everything.
type AuditFilter struct {
	ActorID string
	// Secret is a secret's ID, or its exact name: then the events of every secret of the
	// organization that has or had that name, deleted ones included.
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, org_id, actor_id, actor_email, api_key_id, api_key_label, source, client_ip,
		action, secret_id, secret_name, target_kind, target_id, target_name, role, detail
		FROM audit_events
		WHERE org_id = ?1 AND (?2 = '' OR actor_id = ?2) AND (?3 = '' OR action = ?3)
		AND (?4 = '' OR secret_id = ?4 OR secret_id IN (SELECT id FROM secrets WHERE org_id = ?1 AND name = ?4))
		AND (CAST(?5 AS BIGINT) = 0 OR at >= ?5) AND (CAST(?6 AS BIGINT) = 0 OR at < ?6) AND (CAST(?7 AS BIGINT) = 0 OR id < ?7)
		ORDER BY id DESC LIMIT ?8`,
		orgID, f.ActorID, f.Action, f.Secret, from, to, f.Before, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.OrgID, &e.ActorID, &e.ActorEmail, &e.APIKeyID, &e.APIKeyLabel, &e.Source, &e.ClientIP,
			&e.Action, &e.SecretID, &e.SecretName, &e.TargetKind, &e.TargetID, &e.TargetName, &e.Role, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
