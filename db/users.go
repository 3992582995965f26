package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Org is an organization: the namespace of secrets, members and teams.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person who can sign in.
type User struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	CreatedAt time.Time
}

// Name is the user's full name, or the email when no name is set.
func (u User) Name() string {
	return displayName(u.FirstName, u.LastName, u.Email)
}

func displayName(first, last, email string) string {
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return n
	}
	return email
}

// Member is a user's membership of an organization.
type Member struct {
	User
	OrgID    string
	OrgName  string
	Role     OrgRole
	JoinedAt time.Time
}

// Actor is who is acting, in which organization, and through what. Every Store method that reads or
// changes organization data takes one; handlers build it from the session or the API key.
type Actor struct {
	UserID string
	Email  string
	Name   string
	OrgID  string
	Role   OrgRole
	// Source is "portal", "api", "cli" or "system".
	Source      string
	ClientIP    string
	APIKeyID    string
	APIKeyLabel string
}

// IsAdmin reports whether the actor administers its organization.
func (a Actor) IsAdmin() bool { return a.Role == OrgAdmin }

// SystemActor acts for the command line in org: the operator who runs the server, an admin of the
// organization that is no user, so it has no access to any secret.
func SystemActor(orgID string) Actor {
	return Actor{OrgID: orgID, Role: OrgAdmin, Source: "cli", Name: "keyhold CLI"}
}

// IsOperator reports whether the actor is the operator's command line (SystemActor), which alone may
// create an account with a password it chose.
func (a Actor) IsOperator() bool { return a.UserID == "" && a.Role == OrgAdmin && a.Source == "cli" }

// NewUser describes a user to create or find.
type NewUser struct {
	Email     string
	FirstName string
	LastName  string
	// Password is required when the user does not exist yet, and ignored otherwise.
	Password string
}

// HasOrgs reports whether any organization exists (first-run setup is offered until one does).
func (s *Store) HasOrgs(ctx context.Context) (bool, error) {
	var any bool
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM orgs)`).Scan(&any)
	return any, err
}

// CreateOrg creates an organization with admin as its first admin. When admin's email belongs to an
// existing user, that user becomes the admin and the password is ignored. It returns CodeInvalid or
// CodeConflict (name taken).
func (s *Store) CreateOrg(ctx context.Context, name string, admin NewUser, source string) (*Org, *User, error) {
	return s.createOrg(ctx, name, admin, source, false)
}

// SetupFirstOrg is first-run setup: CreateOrg, refused with CodeConflict once any organization exists
// (checked in the same transaction, so two racing setups cannot both succeed).
func (s *Store) SetupFirstOrg(ctx context.Context, name string, admin NewUser) (*Org, *User, error) {
	return s.createOrg(ctx, name, admin, "portal", true)
}

func (s *Store) createOrg(ctx context.Context, name string, admin NewUser, source string, first bool) (*Org, *User, error) {
	name, err := cleanText(FieldOrgName, "Organization name", name, true, maxTextLen)
	if err != nil {
		return nil, nil, err
	}
	email, emailKey, err := normalizeEmail(admin.Email)
	if err != nil {
		return nil, nil, err
	}
	type result struct {
		org  *Org
		user *User
	}
	hash, err := s.newUserPasswordHash(ctx, emailKey, admin.Password)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	res, err := inTxTouching(ctx, s, func(r result) touches { return touchesAccess(r.org.ID) }, func(tx *sql.Tx) (result, error) {
		if first {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs`).Scan(&n); err != nil || n > 0 {
				return result{}, errors.Join(err, Errorf(CodeConflict, "keyhold is already set up: sign in instead."))
			}
		}
		org := &Org{ID: newID(), Name: name, CreatedAt: now.UTC().Truncate(time.Millisecond)}
		_, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, name, name_key, created_at) VALUES (?, ?, ?, ?)`,
			org.ID, org.Name, strings.ToLower(name), ms(now))
		if isUniqueViolation(err) {
			return result{}, fieldErrorf(FieldOrgName, CodeConflict, "An organization named %q already exists.", name)
		} else if err != nil {
			return result{}, err
		}
		if err := s.createDataKey(ctx, tx, org.ID); err != nil {
			return result{}, err
		}
		u, err := s.findOrCreateUser(ctx, tx, email, emailKey, admin, hash)
		if err != nil {
			return result{}, err
		}
		if err := insertMembership(ctx, tx, org.ID, u.ID, OrgAdmin, now); err != nil {
			return result{}, err
		}
		a := Actor{UserID: u.ID, Email: u.Email, Name: u.Name(), OrgID: org.ID, Role: OrgAdmin, Source: source}
		err = s.recordTx(ctx, tx, a, now, Event{Action: ActionOrgCreate, TargetKind: "org", TargetID: org.ID, TargetName: org.Name})
		return result{org, u}, err
	})
	return res.org, res.user, err
}

// newPasswordHash checks pw against the policy and hashes it (in a hashing slot, before any write
// transaction: argon2id is slow).
func (s *Store) newPasswordHash(ctx context.Context, pw string) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	return s.hashPassword(ctx, pw)
}

// newUserPasswordHash is newPasswordHash for an account that may already exist: an existing account
// keeps its password, so nothing is hashed for it (argon2id costs a core for tens of milliseconds) and
// the hash is "".
func (s *Store) newUserPasswordHash(ctx context.Context, emailKey, pw string) (string, error) {
	if _, err := userByEmailKey(ctx, s.r, emailKey); err == nil {
		return "", nil
	} else if ErrorCode(err) != CodeNotFound {
		return "", err
	}
	return s.newPasswordHash(ctx, pw)
}

// findOrCreateUser returns the user with emailKey, or creates one with nu's names and the password
// hash newUserPasswordHash made ("" when the account existed then). Only CreateOrg calls it.
func (s *Store) findOrCreateUser(ctx context.Context, tx *sql.Tx, email, emailKey string, nu NewUser, hash string) (*User, error) {
	u, err := userByEmailKey(ctx, tx, emailKey)
	if err == nil {
		return u, nil
	} else if ErrorCode(err) != CodeNotFound {
		return nil, err
	}
	if hash == "" {
		return nil, Errorf(CodeConflict, "The account of %s was removed meanwhile: try again.", email)
	}
	return s.insertUser(ctx, tx, email, emailKey, nu.FirstName, nu.LastName, hash)
}

// insertUser creates an account. It returns CodeInvalid (names) or CodeConflict (the email has one).
func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, email, emailKey, first, last, hash string) (*User, error) {
	first, err := cleanText(FieldFirstName, "First name", first, false, maxTextLen)
	if err != nil {
		return nil, err
	}
	last, err = cleanText(FieldLastName, "Last name", last, false, maxTextLen)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &User{ID: newID(), Email: email, FirstName: first, LastName: last, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	_, err = tx.ExecContext(ctx, `INSERT INTO users (id, email, email_key, first_name, last_name, password_hash, created_at, password_changed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Email, emailKey, u.FirstName, u.LastName, hash, ms(now), ms(now))
	if isUniqueViolation(err) {
		return nil, fieldErrorf(FieldEmail, CodeConflict, "A user with email %s already exists.", email)
	}
	return u, err
}

func userByEmailKey(ctx context.Context, q queryer, emailKey string) (*User, error) {
	u, _, err := userWithHash(ctx, q, emailKey)
	return u, err
}

func insertMembership(ctx context.Context, tx *sql.Tx, orgID, userID string, role OrgRole, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
		orgID, userID, string(role), ms(now))
	if isUniqueViolation(err) {
		return Errorf(CodeConflict, "That user is already a member of this organization.")
	}
	return err
}

// OrgByName finds an organization by name, case-insensitively. It returns CodeNotFound.
func (s *Store) OrgByName(ctx context.Context, name string) (*Org, error) {
	var o Org
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM orgs WHERE name_key = ?`, strings.ToLower(strings.TrimSpace(name))).
		Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(CodeNotFound, "No organization named %q.", strings.TrimSpace(name))
	} else if err != nil {
		return nil, err
	}
	o.CreatedAt = fromMS(created)
	return &o, nil
}

// Org returns the actor's organization.
func (s *Store) Org(ctx context.Context, a Actor) (*Org, error) {
	var o Org
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM orgs WHERE id = ?`, a.OrgID).Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(CodeNotFound, "No such organization.")
	} else if err != nil {
		return nil, err
	}
	o.CreatedAt = fromMS(created)
	return &o, nil
}

// SignIn checks an email and password for the portal and returns the user and the organization to
// sign in to (the first of theirs by name). Attempts are throttled per account and per client address
// (counted before the password is checked, so racing attempts cannot pass the limit) and hashed in a
// bounded number of slots. Every wrong email or password gets the same CodeUnauthorized message and
// takes as long. It returns CodeUnauthorized, CodeRateLimited, CodeUnavailable (busy: try again) or
// CodeForbidden (the account belongs to no organization).
func (s *Store) SignIn(ctx context.Context, email, password, clientIP string) (*User, string, error) {
	u, err := s.passwordAttempt(ctx, email, password, clientIP)
	if ErrorCode(err) == CodeUnauthorized {
		return nil, "", Errorf(CodeUnauthorized, "Incorrect email or password.")
	} else if err != nil {
		return nil, "", err
	}
	orgID, err := firstOrgID(ctx, s.r, u.ID)
	if err != nil {
		return nil, "", err
	}
	if orgID == "" {
		return nil, "", Errorf(CodeForbidden, "Your account is not a member of any organization. Ask an organization admin to invite you.")
	}
	return u, orgID, nil
}

// passwordAttempt is one throttled check of the password of the account email (see checkAttempt):
// the user when it is right, CodeUnauthorized when it is not or there is no such account (in as much
// time), or checkAttempt's refusals.
func (s *Store) passwordAttempt(ctx context.Context, email, password, clientIP string) (*User, error) {
	var u *User
	ok, err := s.checkAttempt(ctx, email, clientIP, func() (bool, error) {
		var (
			hash string
			err  error
		)
		u, hash, err = userWithHash(ctx, s.r, emailKeyOf(email))
		if ErrorCode(err) == CodeNotFound {
			return verifyPassword("", password), nil // as long as a real check
		} else if err != nil {
			return false, err
		}
		return verifyPassword(hash, password), nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, Errorf(CodeUnauthorized, "Incorrect password.")
	}
	return u, nil
}

// userWithHash returns the user with emailKey and their password hash, or CodeNotFound.
func userWithHash(ctx context.Context, q queryer, emailKey string) (*User, string, error) {
	return userWhere(ctx, q, "email_key = ?", emailKey, "No user with that email.")
}

// userWhere reads the one user matching where (with arg) and their password hash; missing is the
// CodeNotFound message when there is none.
func userWhere(ctx context.Context, q queryer, where string, arg any, missing string) (*User, string, error) {
	var (
		u       User
		hash    string
		created int64
	)
	err := q.QueryRowContext(ctx, `SELECT id, email, first_name, last_name, created_at, password_hash FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &created, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", Errorf(CodeNotFound, "%s", missing)
	} else if err != nil {
		return nil, "", err
	}
	u.CreatedAt = fromMS(created)
	return &u, hash, nil
}

// Memberships lists the organizations userID belongs to, by name.
func (s *Store) Memberships(ctx context.Context, userID string) ([]Member, error) {
	return membershipsOf(ctx, s.r, userID)
}

func membershipsOf(ctx context.Context, q queryer, userID string) ([]Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT o.id, o.name, m.role, m.created_at, u.id, u.email, u.first_name, u.last_name, u.created_at
		FROM memberships m JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id
		WHERE m.user_id = ? ORDER BY o.name_key`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		var joined, created int64
		if err := rows.Scan(&m.OrgID, &m.OrgName, &m.Role, &joined, &m.ID, &m.Email, &m.FirstName, &m.LastName, &created); err != nil {
			return nil, err
		}
		m.JoinedAt, m.CreatedAt = fromMS(joined), fromMS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ActorFor builds the actor for userID acting in orgID. It returns CodeForbidden when the user is not
// a member of the organization (any more).
func (s *Store) ActorFor(ctx context.Context, userID, orgID, source, clientIP string) (Actor, error) {
	a := Actor{UserID: userID, OrgID: orgID, Source: source, ClientIP: clientIP}
	var first, last string
	err := s.r.QueryRowContext(ctx, `SELECT u.email, u.first_name, u.last_name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID).Scan(&a.Email, &first, &last, &a.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return Actor{}, Errorf(CodeForbidden, "You are not a member of this organization.")
	} else if err != nil {
		return Actor{}, err
	}
	a.Name = displayName(first, last, a.Email)
	return a, nil
}

// AddMember creates an account with nu.Password and makes it a member of the actor's organization.
// Only the operator's command line (SystemActor) may: it runs the server and may set up accounts for
// bootstrap and automation. Organization admins invite instead (CreateInvitation), so that nobody but
// an account's owner chooses its password. An email that already has an account is refused: its
// holder joins by accepting an invitation with their own password, since whoever created the account
// (an admin of another organization, through an invitation link they hold) may not be the person the
// operator means. It returns CodeForbidden, CodeInvalid or CodeConflict.
func (s *Store) AddMember(ctx context.Context, a Actor, nu NewUser, role OrgRole) (*Member, error) {
	if !a.IsOperator() {
		return nil, Errorf(CodeForbidden, "Members join by invitation: invite them instead.")
	}
	if role != OrgAdmin && role != OrgMember {
		return nil, Errorf(CodeInvalid, "Unknown organization role %q: use admin or member.", role)
	}
	email, emailKey, err := normalizeEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	hasAccount := Errorf(CodeConflict, "%s already has a keyhold account: invite them (keyhold user invite) and they join by signing in with it.", email)
	hash, err := s.newUserPasswordHash(ctx, emailKey, nu.Password)
	if err != nil {
		return nil, err
	} else if hash == "" {
		if _, err := s.MemberByEmail(ctx, a, email); err == nil {
			return nil, fieldErrorf(FieldEmail, CodeConflict, "%s is already a member of this organization.", email)
		}
		return nil, hasAccount
	}
	now := s.now()
	return inTx(ctx, s, touchesAccess(a.OrgID), func(tx *sql.Tx) (*Member, error) {
		u, err := s.insertUser(ctx, tx, email, emailKey, nu.FirstName, nu.LastName, hash)
		if ErrorCode(err) == CodeConflict {
			return nil, hasAccount
		} else if err != nil {
			return nil, err
		}
		if err := insertMembership(ctx, tx, a.OrgID, u.ID, role, now); err != nil {
			return nil, err
		}
		err = s.recordTx(ctx, tx, a, now, Event{Action: ActionMemberAdd, TargetKind: "user", TargetID: u.ID, TargetName: u.Email, Role: string(role)})
		return &Member{User: *u, OrgID: a.OrgID, Role: role, JoinedAt: now.UTC().Truncate(time.Millisecond)}, err
	})
}

// ListMembers lists the members of the actor's organization, by email. email, when set, filters to
// that one address.
func (s *Store) ListMembers(ctx context.Context, a Actor, email string) ([]Member, error) {
	return listMembersTx(ctx, s.r, a.OrgID, email)
}

// Roster is what the Members page shows: the organization's members by email and, for an admin, its
// invitations, newest first.
type Roster struct {
	Members     []Member
	Invitations []Invitation
}

// Roster reads the organization's members and, when the actor is an admin, its invitations, from one
// snapshot.
func (s *Store) Roster(ctx context.Context, a Actor) (*Roster, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) (*Roster, error) {
		ms, err := listMembersTx(ctx, tx, a.OrgID, "")
		if err != nil || !a.IsAdmin() {
			return &Roster{Members: ms}, err
		}
		invs, err := listInvitationsTx(ctx, tx, a.OrgID, InvitationFilter{})
		return &Roster{Members: ms, Invitations: invs}, err
	})
}

func listMembersTx(ctx context.Context, q queryer, orgID, email string) ([]Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.id, u.email, u.first_name, u.last_name, u.created_at, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND (CAST(? AS TEXT) = '' OR u.email_key = ?) ORDER BY u.email_key`, orgID, email, emailKeyOf(email))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		m := Member{OrgID: orgID}
		var created, joined int64
		if err := rows.Scan(&m.ID, &m.Email, &m.FirstName, &m.LastName, &created, &m.Role, &joined); err != nil {
			return nil, err
		}
		m.CreatedAt, m.JoinedAt = fromMS(created), fromMS(joined)
		out = append(out, m)
	}
	return out, rows.Err()
}

// MemberByID returns a member of the actor's organization. It returns CodeNotFound.
func (s *Store) MemberByID(ctx context.Context, a Actor, userID string) (*Member, error) {
	return memberTx(ctx, s.r, a.OrgID, userID)
}

// MemberByEmail finds a member of the actor's organization by email. It returns CodeNotFound.
func (s *Store) MemberByEmail(ctx context.Context, a Actor, email string) (*Member, error) {
	ms, err := s.ListMembers(ctx, a, email)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 || strings.TrimSpace(email) == "" {
		return nil, Errorf(CodeNotFound, "%s is not a member of this organization.", strings.TrimSpace(email))
	}
	return &ms[0], nil
}

// UserByEmail finds a user by email, case-insensitively. It returns CodeNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	return userByEmailKey(ctx, s.r, emailKeyOf(email))
}
