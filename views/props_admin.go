package views

import "time"

// APIKeyItem is one row of the API keys table. It never holds the key: only
// its short, non-secret prefix.
type APIKeyItem struct {
	// ID identifies the key in URLs such as /apikeys/{id}/revoke.
	ID string
	// Label is what the key is for, e.g. "CI deploys".
	Label string
	// Prefix is the start of the key, e.g. "kh_AbC123", shown as "kh_AbC123…".
	Prefix string
	// OwnerName is the display name of the user the key acts as.
	OwnerName string
	// OwnerEmail is that user's email address.
	OwnerEmail string
	// Mine is true when the key belongs to the viewer.
	Mine bool
	// CreatedAt is when the key was created.
	CreatedAt time.Time
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time
	// LastUsedAt is when the key last authenticated a request; zero means never.
	LastUsedAt time.Time
}

// APIKeysProps fills the API keys page and its table fragment.
type APIKeysProps struct {
	// Rows holds the live keys the viewer may see, newest first.
	Rows []APIKeyItem
	// IsAdmin says the rows are every key of the organization, not only the
	// viewer's own.
	IsAdmin bool
	// Now is the time that relative times and expiry are measured from.
	Now time.Time
}

// APIKeyForm fills the Create API key dialog. After an error the dialog is
// drawn again with what the user typed.
type APIKeyForm struct {
	// Label is the typed label.
	Label string
	// Expires is the typed expiry date, "2006-01-02", or "" for never.
	Expires string
	// MinDate is the earliest date the date picker offers: today, UTC.
	MinDate string
	// Err is shown in the dialog's error box when not empty, or under the input ErrField
	// names.
	Err      string
	ErrField string
}

// APIKeyCreated fills the dialog that shows a new key, the one time it is
// ever shown.
type APIKeyCreated struct {
	// Label is the new key's label.
	Label string
	// Key is the whole key, e.g. "kh_…". It is never stored or shown again.
	Key string
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time
	// BaseURL is this server's address for the code snippets, e.g.
	// "https://keyhold.example.com" (no /v1).
	BaseURL string
}

// APIKeyRevoke fills the Revoke confirmation dialog.
type APIKeyRevoke struct {
	// ID identifies the key in DELETE /apikeys/{id}.
	ID string
	// Label is the key's label.
	Label string
	// Prefix is the start of the key, for recognizing it.
	Prefix string
	// OwnerName is the display name of the user the key acts as.
	OwnerName string
	// Mine is true when the key belongs to the viewer.
	Mine bool
}

// AuditItem is one audit event as the audit log and the Activity dialog show
// it. It never holds a secret value: events do not record values.
type AuditItem struct {
	// ID is the event's number; the audit log pages with before=ID.
	ID int64
	// At is when it happened.
	At time.Time
	// ActorEmail is who acted; empty for the command line.
	ActorEmail string
	// ActorName is the actor's name beside their email ("" when they gave
	// none), or, without an email, who acted instead: "keyhold CLI".
	ActorName string
	// APIKeyLabel is the label of the API key the actor used, if any.
	APIKeyLabel string
	// Source is how: "portal", "api", "cli" or "system".
	Source string
	// ClientIP is the address the request came from.
	ClientIP string
	// Action is the action code, e.g. "secret.read".
	Action string
	// ActionLabel is the action for people, e.g. "Read value".
	ActionLabel string
	// SecretID and SecretName name the secret the event is about, if any.
	SecretID   string
	SecretName string
	// TargetKind is what else the event is about: "user", "team",
	// "api_key", "org" or "".
	TargetKind string
	// TargetName names it: an email, a team name, a key label.
	TargetName string
	// Role is the role granted or given, e.g. "Owner" or "Admin".
	Role string
	// Detail adds what changed, e.g. "version 3" or "was Reader".
	Detail string
}

// AuditFilterForm is the audit log's filter bar as submitted, echoed back in
// the form and in the pager links.
type AuditFilterForm struct {
	// Actor is the user ID of the person filter, "" for everyone.
	Actor string
	// Secret is the secret filter as typed: a secret ID or a part of a name.
	Secret string
	// Action is the action code, "" for all.
	Action string
	// From and To are the date range, "2006-01-02" each, "" for open.
	From string
	To   string
}

// Option is one entry of a select.
type Option struct {
	// Value is sent with the form.
	Value string
	// Label is shown.
	Label string
}

// AuditProps fills the audit log page and its table fragment.
type AuditProps struct {
	// Rows holds the events on this page, newest first.
	Rows []AuditItem
	// Filter is the current filter.
	Filter AuditFilterForm
	// People lists the members for the person filter (value: user ID).
	People []Option
	// Actions lists the actions for the action filter (value: action code).
	Actions []Option
	// Before is the page's before=ID, 0 on the newest page.
	Before int64
	// Older is the before=ID of the next (older) page, 0 when this is the
	// last one.
	Older int64
	// Note explains an empty result that is not simply "no events", e.g. an
	// unknown secret name.
	Note string
	// Now is the time that relative times are measured from.
	Now time.Time
}

// ActivityProps fills the Activity dialog of one secret.
type ActivityProps struct {
	// SecretName is the secret's name.
	SecretName string
	// Rows holds its latest events, newest first.
	Rows []AuditItem
	// Limit is the most events shown; when Rows reaches it the dialog says
	// that older ones are in the audit log.
	Limit int
	// Now is the time that relative times are measured from.
	Now time.Time
}
