// Package views holds the portal's templ components: the layouts, the pages,
// the secrets table and the dialogs that htmx swaps into #dialog.
//
// Components take plain props structs built by the handlers, so this package
// imports nothing else of ours and makes no permission decisions: a handler
// says whether the viewer is an Owner and the views only hide buttons.
package views

import "time"

// LayoutProps is what Layout needs to draw the header and the navigation
// around a signed-in page.
type LayoutProps struct {
	// Title is the page name; the document title becomes "Title · keyhold".
	Title string
	// CSRF is the session's token, sent by htmx as the X-CSRF-Token header
	// and by plain forms (logout, organization switch) as the _csrf field.
	CSRF string
	// UserName is the signed-in user's display name, e.g. "Ada Admin".
	UserName string
	// UserEmail is the signed-in user's email address.
	UserEmail string
	// OrgName is the name of the current organization.
	OrgName string
	// Orgs lists the organizations the user belongs to. With more than one
	// the header shows a switcher that posts to /org/switch.
	Orgs []OrgOption
	// Active is the key of the highlighted navigation item: "secrets",
	// "members", "teams", "apikeys" or "audit".
	Active string
	// IsAdmin shows the "Audit log" navigation item.
	IsAdmin bool
}

// OrgOption is one entry of the organization switcher.
type OrgOption struct {
	// ID is sent as org_id to POST /org/switch.
	ID string
	// Name is shown in the switcher.
	Name string
	// Current marks the organization the user is working in.
	Current bool
}

// LoginProps fills the sign-in page. The password is never sent back.
type LoginProps struct {
	// Email is kept after a failed attempt.
	Email string
	// Next is the local path to return to after signing in.
	Next string
	// Err is shown in the error box when not empty.
	Err string
	// SignedOut says the visitor has just signed out (GET /login?signed_out=1).
	SignedOut bool
	// CSRF is sent as the _csrf field.
	CSRF string
}

// SetupProps fills the first-run page that creates the organization and its
// first admin. Passwords are never sent back.
type SetupProps struct {
	// OrgName is the organization's name as typed.
	OrgName string
	// FirstName is the admin's first name as typed.
	FirstName string
	// LastName is the admin's last name as typed.
	LastName string
	// Email is the admin's email address as typed.
	Email string
	// MinPassword is the shortest password db accepts, for the hint.
	MinPassword int
	// Err is shown in the error box when not empty, or under the input
	// ErrField names (org_name, first_name, last_name, email, password or
	// password_confirm).
	Err      string
	ErrField string
	// CSRF is sent as the _csrf field.
	CSRF string
}

// ErrorProps fills the full-page error.
type ErrorProps struct {
	// Status is the HTTP status code, e.g. 404.
	Status int
	// Message is shown as is, e.g. "Secret not found.".
	Message string
}

// SecretItem is one row of the secrets table. It carries no value: values
// never appear in the table.
type SecretItem struct {
	// ID identifies the secret in URLs such as /secrets/{id}/edit.
	ID string
	// Name is the secret's name, e.g. "STRIPE_API_KEY".
	Name string
	// CreatedBy is the display name of the user who created the secret.
	CreatedBy string
	// UpdatedBy is the display name of the user who last changed the value.
	UpdatedBy string
	// UpdatedAt is when the value last changed.
	UpdatedAt time.Time
	// Owner is true when the viewer holds the Owner role on the secret and
	// false when they are a Reader.
	Owner bool
	// SharedYou says the viewer holds a grant of their own; SharedPeople and
	// SharedTeams count the other users and the teams that hold one.
	SharedYou    bool
	SharedPeople int
	SharedTeams  int
}

// SecretsProps fills the secrets page and its table fragment.
type SecretsProps struct {
	// Rows holds the secrets on this page, at most PageSize of them.
	Rows []SecretItem
	// Query is the search text, echoed in the search box and the pager links.
	Query string
	// Only is the filter: "" (every secret), "owned" (Owner) or "shared" (Reader).
	Only string
	// Page is the 1-based page number.
	Page int
	// PageSize is the number of rows per page (50).
	PageSize int
	// Total counts every secret matching Query, over all pages.
	Total int
	// Now is the time that "3 minutes ago" is measured from.
	Now time.Time
}

// SecretForm fills the New Secret dialog. After an error the dialog is drawn
// again with what the user typed.
type SecretForm struct {
	// Name is the typed name.
	Name string
	// Value is the typed value.
	Value string
	// Err is shown in the dialog's error box when not empty, or under the
	// input ErrField names ("name" or "value").
	Err      string
	ErrField string
}

// SecretEdit fills the Edit (Owner) or View (Reader) dialog and the value
// field that the Reveal button fetches.
type SecretEdit struct {
	// ID identifies the secret in URLs.
	ID string
	// Name is the secret's name, shown read-only.
	Name string
	// Version is the version being edited, sent back in the hidden "version"
	// field so the server can refuse a stale update.
	Version int64
	// Owner is true for an Owner (editable dialog, Update button) and false
	// for a Reader (read-only dialog).
	Owner bool
	// Value is the text put in the value field: the stored value when
	// Revealed, or what the user typed when the dialog is drawn again after
	// an error. Leave it empty for a freshly opened dialog.
	Value string
	// Revealed says Value is the stored value: the field then shows a Copy
	// button instead of Reveal.
	Revealed bool
	// UpdatedBy is the display name of the user who last changed the value;
	// the dialog shows it with UpdatedAt when UpdatedAt is not zero.
	UpdatedBy string
	// UpdatedAt is when the value last changed.
	UpdatedAt time.Time
	// Now is the time that relative times are measured from.
	Now time.Time
	// Err is shown in the dialog's error box when not empty, e.g. a stale
	// edit message; or under the value when ErrField is "value".
	Err      string
	ErrField string
	// Size is the current value's length, shown masked until revealed.
	Size int
	// CSRF is the token the Download form sends.
	CSRF string
	// Stale says the secret changed since the dialog was opened: the error
	// box offers Load latest (POST /secrets/{id}/latest), which keeps what
	// was typed.
	Stale bool
	// Notice is shown above the value after Load latest.
	Notice string
}

// SecretDelete fills the Delete dialog.
type SecretDelete struct {
	// ID identifies the secret in URLs.
	ID string
	// Name is the secret's name.
	Name string
	// TrashDays is how many days the deleted secret can be restored.
	TrashDays int
	// Err is shown in the dialog's error box when not empty.
	Err string
}

// InviteProps fills the page an invitation link opens, GET /invite/{token}. Passwords are never sent
// back.
type InviteProps struct {
	// Token is the link's token, for the forms' actions.
	Token string
	// OrgName is the organization the invitation is to; Email whom it invites; InvitedBy who
	// invited ("" for the operator's command line).
	OrgName   string
	Email     string
	InvitedBy string
	// Admin is the role the person will have.
	Admin bool
	// Teams names the teams they will join.
	Teams []string
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time
	// SignedInAs is the signed-in user's email, "" when nobody is signed in.
	SignedInAs string
	// FirstName and LastName are kept after a refused Create account.
	FirstName string
	LastName  string
	// MinPassword is the shortest password db accepts, for the hint.
	MinPassword int
	// Err is shown over the form that failed: ErrSignIn over "I have an account", Err elsewhere; or
	// under the input of "Create your account" that ErrField names (first_name, last_name, password or
	// password_confirm).
	Err       string
	ErrField  string
	ErrSignIn string
	// Invalid means the link does not work: only Err is shown.
	Invalid bool
	// CSRF is sent as the _csrf field.
	CSRF string
}

// ResetProps fills the page a password-reset link opens, GET /reset/{token}.
type ResetProps struct {
	Token       string
	Email       string
	ExpiresAt   time.Time
	MinPassword int
	// Err is shown over the form, or under the input ErrField names (password or password_confirm).
	Err      string
	ErrField string
	// Invalid means the link does not work: only Err is shown.
	Invalid bool
	// Done says the password is set but the account belongs to no organization yet.
	Done bool
	CSRF string
}
