package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// InvitationState is where an invitation stands. It moves once, from pending to one of the others.
type InvitationState string

// The invitation states (the API spells them Pending, Accepted, Refused, Revoked).
const (
	InvitationPending  InvitationState = "pending"
	InvitationAccepted InvitationState = "accepted"
	InvitationRefused  InvitationState = "refused"
	InvitationRevoked  InvitationState = "revoked"
)

// TeamRef names a team.
type TeamRef struct {
	ID          string
	Name        string
	Description string // where the listing has it
}

// Invitation asks a person, by email, to join an organization. Its link (a random token, shown once
// to whoever invites) is the only way in: the person opens it and sets their own password, or signs in
// to the account they already have and accepts. keyhold sends no email, so the link passes through
// the inviter, who could open it themselves for an email that has no account yet: the account so made
// is in this organization only, and enters another only through an invitation accepted with its
// password (the operator's AddMember refuses an existing account). An existing account's password is
// never set through a link.
type Invitation struct {
	ID      string
	OrgID   string
	OrgName string
	Email   string
	Role    OrgRole
	Message string
	State   InvitationState
	// Teams are the teams the person joins on accepting (those that still exist).
	Teams []TeamRef
	// CreatedBy is who invited; zero for the operator's command line.
	CreatedBy UserRef
	CreatedAt time.Time
	ExpiresAt time.Time
	// ActedAt is when the state last changed; zero while pending.
	ActedAt time.Time
	// Replaced is set by CreateInvitation when it revoked an earlier pending invitation of the email.
	Replaced bool
}

// Expired reports whether the invitation is pending but its link no longer works.
func (i Invitation) Expired(now time.Time) bool {
	return i.State == InvitationPending && !now.Before(i.ExpiresAt)
}

// NewInvitation describes an invitation to make.
type NewInvitation struct {
	Email   string
	Role    OrgRole // OrgMember when empty
	TeamIDs []string
	Message string
}

// InvitationFilter selects invitations. Zero fields match everything.
type InvitationFilter struct {
	State InvitationState
	Email string
	// EmailMatch keeps the invitations whose email passes it (a value or a regular expression).
	EmailMatch *TextMatch
}

// CreateInvitation invites a person to the actor's organization and returns the link's token (shown
// once, never stored) with the invitation. An earlier pending invitation of the same email is
// revoked: its link stops working. The answer and the work are the same whether or not the email has
// a keyhold account anywhere: no account is looked at (the link's page tells its holder, who must be
// able to sign in). Admins (and the operator) only. It returns
// CodeForbidden, CodeInvalid (email, role, a team not in the organization, message) or CodeConflict
// (already a member).
func (s *Store) CreateInvitation(ctx context.Context, a Actor, in NewInvitation) (string, *Invitation, error) {
	if !a.IsAdmin() {
		return "", nil, Errorf(CodeForbidden, "Only organization admins can invite people.")
	}
	email, emailKey, err := normalizeEmail(in.Email)
	if err != nil {
		return "", nil, err
	}
	if in.Role == "" {
		in.Role = OrgMember
	}
	if in.Role != OrgAdmin && in.Role != OrgMember {
		return "", nil, Errorf(CodeInvalid, "Unknown organization role %q: use admin or member.", in.Role)
	}
	msg, err := cleanText(FieldMessage, "Message", in.Message, false, maxDescLen)
	if err != nil {
		return "", nil, err
	}
	token := newToken("")
	now := s.now()
	inv, err := inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (*Invitation, error) {
		var member bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.org_id = ? AND u.email_key = ?)`, a.OrgID, emailKey).Scan(&member); err != nil {
			return nil, err
		}
		if member {
			return nil, fieldErrorf(FieldEmail, CodeConflict, "%s is already a member of this organization.", email)
		}
		teams, err := orgTeams(ctx, tx, a.OrgID, in.TeamIDs)
		if err != nil {
			return nil, err
		}
		replaced, err := s.revokePendingTx(ctx, tx, a, now, "email_key", emailKey, "replaced by a new invitation")
		if err != nil {
			return nil, err
		}
		inv := &Invitation{ID: newID(), OrgID: a.OrgID, Email: email, Role: in.Role, Message: msg, State: InvitationPending, Teams: teams,
			CreatedBy: UserRef{ID: a.UserID, Email: a.Email, Name: a.Name}, CreatedAt: now.UTC().Truncate(time.Millisecond),
			ExpiresAt: now.Add(s.inviteTTL).UTC().Truncate(time.Millisecond), Replaced: replaced > 0}
		if _, err := tx.ExecContext(ctx, `INSERT INTO invitations (id, org_id, email, email_key, role, message, token_hash, state, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`, inv.ID, a.OrgID, email, emailKey, string(in.Role), msg, tokenHash(token),
			a.UserID, ms(now), ms(inv.ExpiresAt)); err != nil {
			return nil, err
		}
		var names []string
		for _, t := range teams {
			if _, err := tx.ExecContext(ctx, `INSERT INTO invitation_teams (invitation_id, team_id) VALUES (?, ?)`, inv.ID, t.ID); err != nil {
				return nil, err
			}
			names = append(names, t.Name)
		}
		detail := ""
		if len(names) > 0 {
			detail = "teams: " + strings.Join(names, ", ")
		}
		return inv, s.recordTx(ctx, tx, a, now, Event{Action: ActionInvitationCreate, TargetKind: "invitation", TargetID: inv.ID,
			TargetName: email, Role: string(in.Role), Detail: detail})
	})
	if err != nil {
		return "", nil, err
	}
	return token, inv, nil
}

// InvitationTeams lists the teams of the actor's organization an invitation may put someone in, by
// name: what the Invite dialog offers. Admins (and the operator) only. It returns CodeForbidden.
func (s *Store) InvitationTeams(ctx context.Context, a Actor) ([]TeamRef, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can invite people.")
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, name FROM teams WHERE org_id = ? ORDER BY name_key`, a.OrgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TeamRef
	for rows.Next() {
		var t TeamRef
		if err := rows.Scan(&t.ID, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// orgTeams resolves team IDs of org, in order and without repeats, or CodeInvalid naming a stranger.
func orgTeams(ctx context.Context, q queryer, orgID string, ids []string) ([]TeamRef, error) {
	var out []TeamRef
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if seen[id] {
			continue
		}
		seen[id] = true
		t := TeamRef{ID: id}
		err := q.QueryRowContext(ctx, `SELECT name FROM teams WHERE id = ? AND org_id = ?`, id, orgID).Scan(&t.Name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(CodeInvalid, "Team %s is not a team of this organization.", id)
		} else if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// revokePendingTx revokes the actor's organization's pending invitations where column = value:
// email_key (a new invitation replaces the pending one) or created_by (an admin who leaves, or stops
// being one, must not keep links that let people, or themselves under another email, in).
func (s *Store) revokePendingTx(ctx context.Context, tx *sql.Tx, a Actor, now time.Time, column, value, why string) (int, error) {
	if column != "email_key" && column != "created_by" {
		return 0, fmt.Errorf("revokePendingTx: column %q", column)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, email FROM invitations WHERE org_id = ? AND `+column+` = ? AND state = 'pending'`, a.OrgID, value)
	if err != nil {
		return 0, err
	}
	var pending [][2]string
	for rows.Next() {
		var idEmail [2]string
		if err := rows.Scan(&idEmail[0], &idEmail[1]); err != nil {
			rows.Close()
			return 0, err
		}
		pending = append(pending, idEmail)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, p := range pending {
		if err := s.revokeInvitationTx(ctx, tx, a, now, p[0], p[1], why); err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}

// revokeUserInvitationsTx revokes the pending invitations userID made, in every organization they
// belong to (as actorIn there): with their API keys, what a stolen password or session could have
// let someone hand out. It returns how many it revoked.
func (s *Store) revokeUserInvitationsTx(ctx context.Context, tx *sql.Tx, userID string, actorIn func(orgID string) Actor, now time.Time, why string) (int, error) {
	orgs, err := userOrgIDs(ctx, tx, userID)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, orgID := range orgs {
		n, err := s.revokePendingTx(ctx, tx, actorIn(orgID), now, "created_by", userID, why)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// revokeInvitationTx marks invitation id (to email) revoked and audits it.
func (s *Store) revokeInvitationTx(ctx context.Context, tx *sql.Tx, a Actor, now time.Time, id, email, why string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE invitations SET state = 'revoked', acted_at = ?, acted_by = ? WHERE id = ?`, ms(now), a.UserID, id); err != nil {
		return err
	}
	return s.recordTx(ctx, tx, a, now, Event{Action: ActionInvitationRevoke, TargetKind: "invitation", TargetID: id, TargetName: email, Detail: why})
}

const invitationCols = `i.id, i.org_id, o.name, i.email, i.role, i.message, i.state, i.created_by, coalesce(u.email, ''),
	coalesce(u.first_name, ''), coalesce(u.last_name, ''), i.created_at, i.expires_at, i.acted_at`

const invitationFrom = `FROM invitations i JOIN orgs o ON o.id = i.org_id LEFT JOIN users u ON u.id = i.created_by`

func scanInvitation(row scanner) (*Invitation, error) {
	var (
		inv                       Invitation
		first, last               string
		created, expires          int64
		acted                     sql.NullInt64
		role, state               string
		createdByEmail, createdBy string
	)
	if err := row.Scan(&inv.ID, &inv.OrgID, &inv.OrgName, &inv.Email, &role, &inv.Message, &state, &createdBy, &createdByEmail,
		&first, &last, &created, &expires, &acted); err != nil {
		return nil, err
	}
	inv.Role, inv.State = OrgRole(role), InvitationState(state)
	if createdBy != "" {
		inv.CreatedBy = UserRef{ID: createdBy, Email: createdByEmail, Name: displayName(first, last, createdByEmail), FirstName: first, LastName: last}
	}
	inv.CreatedAt, inv.ExpiresAt, inv.ActedAt = fromMS(created), fromMS(expires), fromNullMS(acted)
	return &inv, nil
}

// invitationTeamsTx fills in the teams of invs, in one query.
func invitationTeamsTx(ctx context.Context, q queryer, invs []*Invitation) error {
	if len(invs) == 0 {
		return nil
	}
	byID := make(map[string]*Invitation, len(invs))
	args := make([]any, len(invs))
	for i, inv := range invs {
		byID[inv.ID], args[i] = inv, inv.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT it.invitation_id, t.id, t.name FROM invitation_teams it JOIN teams t ON t.id = it.team_id
		WHERE it.invitation_id IN (?`+strings.Repeat(", ?", len(invs)-1)+`) ORDER BY t.name_key`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var invID string
		var t TeamRef
		if err := rows.Scan(&invID, &t.ID, &t.Name); err != nil {
			return err
		}
		byID[invID].Teams = append(byID[invID].Teams, t)
	}
	return rows.Err()
}

// ListInvitations lists the invitations of the actor's organization, newest first. Admins only. It
// returns CodeForbidden.
func (s *Store) ListInvitations(ctx context.Context, a Actor, f InvitationFilter) ([]Invitation, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can see invitations.")
	}
	return inReadTx(ctx, s, func(tx *sql.Tx) ([]Invitation, error) { return listInvitationsTx(ctx, tx, a.OrgID, f) })
}

func listInvitationsTx(ctx context.Context, tx *sql.Tx, orgID string, f InvitationFilter) ([]Invitation, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+invitationCols+` `+invitationFrom+`
		WHERE i.org_id = ? AND (CAST(? AS TEXT) = '' OR i.state = ?) AND (CAST(? AS TEXT) = '' OR i.email_key = ?) ORDER BY i.created_at DESC, i.id DESC LIMIT 1000`,
		orgID, string(f.State), string(f.State), f.Email, emailKeyOf(f.Email))
	if err != nil {
		return nil, err
	}
	var invs []*Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if !f.EmailMatch.Matches(inv.Email) {
			continue
		}
		invs = append(invs, inv)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := invitationTeamsTx(ctx, tx, invs); err != nil {
		return nil, err
	}
	out := make([]Invitation, len(invs))
	for i, inv := range invs {
		out[i] = *inv
	}
	return out, nil
}

// InvitationByID returns one invitation of the actor's organization. Admins only. It returns
// CodeForbidden or CodeNotFound.
func (s *Store) InvitationByID(ctx context.Context, a Actor, id string) (*Invitation, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can see invitations.")
	}
	return inReadTx(ctx, s, func(tx *sql.Tx) (*Invitation, error) {
		inv, err := scanInvitation(tx.QueryRowContext(ctx, `SELECT `+invitationCols+` `+invitationFrom+` WHERE i.id = ? AND i.org_id = ?`, id, a.OrgID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(CodeNotFound, "No such invitation.")
		} else if err != nil {
			return nil, err
		}
		return inv, invitationTeamsTx(ctx, tx, []*Invitation{inv})
	})
}

// RevokeInvitation makes a pending invitation of the actor's organization revoked: its link stops
// working. Admins only. It returns CodeForbidden, CodeNotFound or CodeConflict (no longer pending).
func (s *Store) RevokeInvitation(ctx context.Context, a Actor, id string) (*Invitation, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can revoke invitations.")
	}
	now := s.now()
	return inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (*Invitation, error) {
		inv, err := scanInvitation(tx.QueryRowContext(ctx, `SELECT `+invitationCols+` `+invitationFrom+` WHERE i.id = ? AND i.org_id = ?`, id, a.OrgID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(CodeNotFound, "No such invitation.")
		} else if err != nil {
			return nil, err
		}
		if inv.State != InvitationPending {
			return nil, Errorf(CodeConflict, "The invitation of %s is already %s.", inv.Email, inv.State)
		}
		inv.State, inv.ActedAt = InvitationRevoked, now.UTC().Truncate(time.Millisecond)
		return inv, s.revokeInvitationTx(ctx, tx, a, now, id, inv.Email, "")
	})
}

// errInvitationLink is the one answer to an invitation link that does not work, whatever the reason:
// the link's holder learns nothing more from it.
func errInvitationLink() error {
	return Errorf(CodeNotFound, "This invitation link does not work: it may have expired, been revoked or been used already. Ask your organization admin for a new one.")
}

// liveInvitation returns the pending, unexpired invitation whose link carries token, or
// errInvitationLink.
func (s *Store) liveInvitation(ctx context.Context, q queryer, token string) (*Invitation, error) {
	if token == "" || len(token) > 128 {
		return nil, errInvitationLink()
	}
	inv, err := scanInvitation(q.QueryRowContext(ctx, `SELECT `+invitationCols+` `+invitationFrom+` WHERE i.token_hash = ?`, tokenHash(token)))
	if errors.Is(err, sql.ErrNoRows) || err == nil && (inv.State != InvitationPending || inv.Expired(s.now())) {
		return nil, errInvitationLink()
	} else if err != nil {
		return nil, err
	}
	return inv, invitationTeamsTx(ctx, q, []*Invitation{inv})
}

// InvitationByToken returns the live invitation whose link carries token, for its page: which
// organization, which email, who invited. It returns CodeNotFound.
func (s *Store) InvitationByToken(ctx context.Context, token string) (*Invitation, error) {
	return s.liveInvitation(ctx, s.r, token)
}

// NewAccount is what a person chooses when they accept an invitation without an account.
type NewAccount struct {
	FirstName string
	LastName  string
	Password  string
	ClientIP  string
}

// AcceptInvitationNewAccount accepts the invitation whose link carries token by creating the account
// of its email, with the password the person chose, and joining the organization (and the
// invitation's teams) in one transaction. It returns the new user and the organization's ID, or
// CodeNotFound (the link does not work), CodeInvalid (names, password policy), CodeConflict (the email
// already has an account: sign in with it and accept) or CodeUnavailable (busy).
func (s *Store) AcceptInvitationNewAccount(ctx context.Context, token string, acc NewAccount) (*User, string, error) {
	if _, err := s.liveInvitation(ctx, s.r, token); err != nil {
		return nil, "", err
	}
	if err := ValidatePassword(acc.Password); err != nil {
		return nil, "", err
	}
	hash, err := s.hashPassword(ctx, acc.Password)
	if err != nil {
		return nil, "", err
	}
	type result struct {
		u     *User
		orgID string
	}
	res, err := inTxTouching(ctx, s, func(r result) touches { return touchesAccess(r.orgID) }, func(tx *sql.Tx) (result, error) {
		inv, err := s.liveInvitation(ctx, tx, token)
		if err != nil {
			return result{}, err
		}
		email, emailKey, err := normalizeEmail(inv.Email)
		if err != nil {
			return result{}, err
		}
		u, err := s.insertUser(ctx, tx, email, emailKey, acc.FirstName, acc.LastName, hash)
		if ErrorCode(err) == CodeConflict {
			return result{}, Errorf(CodeConflict, "%s already has a keyhold account: sign in with it to accept the invitation. If you forgot its password, ask whoever runs keyhold to reset it.", email)
		} else if err != nil {
			return result{}, err
		}
		return result{u, inv.OrgID}, s.joinTx(ctx, tx, inv, u, acc.ClientIP)
	})
	return res.u, res.orgID, err
}

// AcceptInvitation accepts the invitation whose link carries token as the signed-in user userID, whose
// email must be the invitation's: they join the organization and the invitation's teams in one
// transaction. It returns the organization's ID, or CodeNotFound (the link does not work), CodeForbidden
// (another account's invitation) or CodeConflict (already a member).
func (s *Store) AcceptInvitation(ctx context.Context, token, userID, clientIP string) (string, error) {
	return inTxTouching(ctx, s, touchesAccess, func(tx *sql.Tx) (string, error) {
		inv, err := s.liveInvitation(ctx, tx, token)
		if err != nil {
			return "", err
		}
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return "", err
		}
		if emailKeyOf(u.Email) != emailKeyOf(inv.Email) {
			return "", Errorf(CodeForbidden, "This invitation is for %s, and you are signed in as %s: sign out, then open the link again.", inv.Email, u.Email)
		}
		return inv.OrgID, s.joinTx(ctx, tx, inv, u, clientIP)
	})
}

// joinTx makes u a member of inv's organization and of its teams, marks inv accepted, and records it
// all, with the access each team gives u on its secrets.
func (s *Store) joinTx(ctx context.Context, tx *sql.Tx, inv *Invitation, u *User, clientIP string) error {
	now := s.now()
	if err := insertMembership(ctx, tx, inv.OrgID, u.ID, inv.Role, now); err != nil {
		if ErrorCode(err) == CodeConflict {
			return Errorf(CodeConflict, "You are already a member of %s.", inv.OrgName)
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invitations SET state = 'accepted', acted_at = ?, acted_by = ? WHERE id = ?`, ms(now), u.ID, inv.ID); err != nil {
		return err
	}
	a := Actor{UserID: u.ID, Email: u.Email, Name: u.Name(), OrgID: inv.OrgID, Role: inv.Role, Source: "portal", ClientIP: clientIP}
	invitedBy := "the operator"
	if inv.CreatedBy.ID != "" {
		invitedBy = inv.CreatedBy.Email
	}
	for _, ev := range []Event{
		{Action: ActionInvitationAccept, TargetKind: "invitation", TargetID: inv.ID, TargetName: inv.Email, Detail: "invited by " + invitedBy},
		{Action: ActionMemberAdd, TargetKind: "user", TargetID: u.ID, TargetName: u.Email, Role: string(inv.Role), Detail: "accepted an invitation from " + invitedBy},
	} {
		if err := s.recordTx(ctx, tx, a, now, ev); err != nil {
			return err
		}
	}
	for _, t := range inv.Teams {
		if err := s.addTeamMemberTx(ctx, tx, a, now, t, Member{User: *u, OrgID: inv.OrgID, Role: inv.Role}, "invited by "+invitedBy); err != nil {
			return err
		}
	}
	return nil
}

// RefuseInvitation declines the invitation whose link carries token: its link stops working. It
// returns the invitation as it was, or CodeNotFound (the link does not work).
func (s *Store) RefuseInvitation(ctx context.Context, token, clientIP string) (*Invitation, error) {
	now := s.now()
	return inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (*Invitation, error) {
		inv, err := s.liveInvitation(ctx, tx, token)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET state = 'refused', acted_at = ? WHERE id = ?`, ms(now), inv.ID); err != nil {
			return nil, err
		}
		a := Actor{Email: inv.Email, Name: inv.Email, OrgID: inv.OrgID, Source: "portal", ClientIP: clientIP}
		return inv, s.recordTx(ctx, tx, a, now, Event{Action: ActionInvitationRefuse, TargetKind: "invitation", TargetID: inv.ID, TargetName: inv.Email})
	})
}

// AcceptInvitationSignIn accepts the invitation whose link carries token for the person who already
// has an account with its email and proves it with their password (throttled like a sign-in). It
// returns the user and the organization's ID, or CodeNotFound (the link does not work),
// CodeUnauthorized (wrong password, or no such account), CodeRateLimited, CodeUnavailable (busy) or
// CodeConflict (already a member).
func (s *Store) AcceptInvitationSignIn(ctx context.Context, token, password, clientIP string) (*User, string, error) {
	inv, err := s.liveInvitation(ctx, s.r, token)
	if err != nil {
		return nil, "", err
	}
	u, err := s.passwordAttempt(ctx, inv.Email, password, clientIP)
	if ErrorCode(err) == CodeUnauthorized {
		return nil, "", Errorf(CodeUnauthorized, "That password does not open a keyhold account of %s. New to keyhold? Create your account instead.", inv.Email)
	} else if err != nil {
		return nil, "", err
	}
	orgID, err := s.AcceptInvitation(ctx, token, u.ID, clientIP)
	return u, orgID, err
}
