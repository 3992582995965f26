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

// SystemActor acts for the command line in org: an admin of the organization that is no user, so it
// has no access to any secret.
func SystemActor(orgID string) Actor {
	return Actor{OrgID: orgID, Role: OrgAdmin, Source: "cli", Name: "keyhold CLI"}
}

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
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM orgs)`).Scan(&n)
	return n == 1, err
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
	name, err := cleanText("Organization name", name, true, maxTextLen)
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
	now := s.now()
	res, err := inTx(ctx, s, func(tx *sql.Tx) (result, error) {
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
			return result{}, Errorf(CodeConflict, "An organization named %q already exists.", name)
		} else if err != nil {
			return result{}, err
		}
		if err := s.createDataKey(ctx, tx, org.ID); err != nil {
			return result{}, err
		}
		u, err := s.findOrCreateUser(ctx, tx, email, emailKey, admin)
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

func (s *Store) findOrCreateUser(ctx context.Context, tx *sql.Tx, email, emailKey string, nu NewUser) (*User, error) {
	u, err := userByEmailKey(ctx, tx, emailKey)
	if err == nil {
		return u, nil
	} else if ErrorCode(err) != CodeNotFound {
		return nil, err
	}
	first, err := cleanText("First name", nu.FirstName, false, maxTextLen)
	if err != nil {
		return nil, err
	}
	last, err := cleanText("Last name", nu.LastName, false, maxTextLen)
	if err != nil {
		return nil, err
	}
	if err := ValidatePassword(nu.Password); err != nil {
		return nil, err
	}
	now := s.now()
	u = &User{ID: newID(), Email: email, FirstName: first, LastName: last, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	_, err = tx.ExecContext(ctx, `INSERT INTO users (id, email, email_key, first_name, last_name, password_hash, created_at, password_changed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Email, emailKey, u.FirstName, u.LastName, hashPassword(nu.Password), ms(now), ms(now))
	if isUniqueViolation(err) {
		return nil, Errorf(CodeConflict, "A user with email %s already exists.", email)
	}
	return u, err
}

func userByEmailKey(ctx context.Context, q queryer, emailKey string) (*User, error) {
	var u User
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, email, first_name, last_name, created_at FROM users WHERE email_key = ?`, emailKey).
		Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(CodeNotFound, "No user with that email.")
	} else if err != nil {
		return nil, err
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
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

// Authenticate checks an email and password. Every failure returns the same CodeUnauthorized
// message, and takes as long whether or not the email exists.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	fail := Errorf(CodeUnauthorized, "Incorrect email or password.")
	var (
		u       User
		hash    string
		created int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, email, first_name, last_name, created_at, password_hash FROM users WHERE email_key = ?`,
		strings.ToLower(strings.TrimSpace(email))).Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &created, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		checkPassword(dummyHash(), password)
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if !checkPassword(hash, password) {
		return nil, fail
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
}

// Memberships lists the organizations userID belongs to, by name.
func (s *Store) Memberships(ctx context.Context, userID string) ([]Member, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, o.name, m.role, m.created_at, u.id, u.email, u.first_name, u.last_name, u.created_at
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

// AddMember adds a user to the actor's organization, creating the user when the email is new (then
// nu.Password is required). Admins only. It returns CodeForbidden, CodeInvalid or CodeConflict (already
// a member).
func (s *Store) AddMember(ctx context.Context, a Actor, nu NewUser, role OrgRole) (*Member, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can add members.")
	}
	if role != OrgAdmin && role != OrgMember {
		return nil, Errorf(CodeInvalid, "Unknown organization role %q: use admin or member.", role)
	}
	email, emailKey, err := normalizeEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return inTx(ctx, s, func(tx *sql.Tx) (*Member, error) {
		u, err := s.findOrCreateUser(ctx, tx, email, emailKey, nu)
		if err != nil {
			return nil, err
		}
		if err := insertMembership(ctx, tx, a.OrgID, u.ID, role, now); err != nil {
			if ErrorCode(err) == CodeConflict {
				return nil, Errorf(CodeConflict, "%s is already a member of this organization.", u.Email)
			}
			return nil, err
		}
		err = s.recordTx(ctx, tx, a, now, Event{Action: ActionMemberAdd, TargetKind: "user", TargetID: u.ID, TargetName: u.Email, Role: string(role)})
		return &Member{User: *u, OrgID: a.OrgID, Role: role, JoinedAt: now.UTC().Truncate(time.Millisecond)}, err
	})
}

// ListMembers lists the members of the actor's organization, by email. email, when set, filters to
// that one address.
func (s *Store) ListMembers(ctx context.Context, a Actor, email string) ([]Member, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.email, u.first_name, u.last_name, u.created_at, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND (? = '' OR u.email_key = ?) ORDER BY u.email_key`, a.OrgID, email, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		m := Member{OrgID: a.OrgID}
		var created, joined int64
		if err := rows.Scan(&m.ID, &m.Email, &m.FirstName, &m.LastName, &created, &m.Role, &joined); err != nil {
			return nil, err
		}
		m.CreatedAt, m.JoinedAt = fromMS(created), fromMS(joined)
		out = append(out, m)
	}
	return out, rows.Err()
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
	return userByEmailKey(ctx, s.r, strings.ToLower(strings.TrimSpace(email)))
}
