package views

// Props of account security: the Account page. Passwords are never sent back
// to the browser.

// Password form fields the Account page can point an error at.
const (
	PasswordFieldCurrent = "current"
	PasswordFieldNew     = "new"
	PasswordFieldConfirm = "confirm"
)

// AccountProps fills the Account page, GET /account.
type AccountProps struct {
	// Name is the signed-in user's display name, e.g. "Ada Admin".
	Name string
	// Email is the signed-in user's email address.
	Email string
	// CSRF is sent as the _csrf field of the page's plain forms (Sign out
	// everywhere, and the password form when htmx is not running).
	CSRF string
	// Password fills the Change password card.
	Password PasswordForm
}

// PasswordForm fills the Change password card, the #password-card fragment
// that POST /account/password answers with.
type PasswordForm struct {
	// Email is the account's email, for password managers (a hidden
	// username field).
	Email string
	// MinPassword is the shortest password db accepts, for the hint.
	MinPassword int
	// CSRF is sent as the _csrf field.
	CSRF string
	// Err is shown in the card's error box when not empty.
	Err string
	// ErrField is the field Err is about: PasswordFieldCurrent,
	// PasswordFieldNew or PasswordFieldConfirm. It gets the focus and
	// aria-invalid.
	ErrField string
	// Done is the success message, shown in place of an error after a change.
	Done string
	// KeepAPIKeys unticks "Also revoke my API keys" (after a refused change
	// in which it was unticked); by default it is ticked.
	KeepAPIKeys bool
}
