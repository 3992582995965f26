package views

import "time"

// Props of the sharing part of the portal: the Members and Teams pages and
// the Share dialog. Handlers fill them from db; the views only draw them and
// hide what the viewer may not use.

// Person is a user as the sharing views name them.
type Person struct {
	// ID is the user's ID, sent back in forms and URLs.
	ID string
	// Name is the display name, e.g. "Ada Admin" (the email when no name
	// is set).
	Name string
	// Email is the user's email address.
	Email string
}

// MemberItem is one row of the members table.
type MemberItem struct {
	Person
	// Admin is true for an organization admin, false for a plain member.
	Admin bool
	// JoinedAt is when the user joined the organization.
	JoinedAt time.Time
	// You marks the signed-in user's own row.
	You bool
}

// MembersProps fills the Members page and its #members-table fragment.
type MembersProps struct {
	// Rows lists every member of the organization, by email.
	Rows []MemberItem
	// Invitations lists the organization's invitations, newest first (admins only).
	Invitations []InvitationItem
	// CanManage shows Invite, the role selects, Remove and the invitations (admins); without it the
	// list is read-only.
	CanManage bool
	// Now is the time that "joined 3 days ago" is measured from.
	Now time.Time
}

// InvitationItem is one row of the Invitations table.
type InvitationItem struct {
	// ID identifies the invitation in /invitations/{id}/revoke.
	ID string
	// Email is whom it invites.
	Email string
	// Admin is the role they will have.
	Admin bool
	// Teams names the teams they will join.
	Teams []string
	// InvitedBy names who invited ("keyhold CLI" for the operator).
	InvitedBy string
	// State is "Pending", "Expired", "Accepted", "Declined" or "Revoked".
	State string
	// CreatedAt is when it was made; ExpiresAt when its link stops working.
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InviteForm fills the Invite dialog. After an error it is drawn again with what was chosen.
type InviteForm struct {
	// Email is the typed email address.
	Email string
	// Admin is the chosen organization role.
	Admin bool
	// Teams are the organization's teams to choose from; Chosen the IDs chosen.
	Teams  []Option
	Chosen map[string]bool
	// Err is shown in the dialog's error box when not empty, or under the input ErrField
	// names.
	Err      string
	ErrField string
}

// InviteCreated fills the dialog that shows a new invitation's link, the one time it is ever shown.
type InviteCreated struct {
	Email string
	// Link is the whole invitation link, with its token.
	Link string
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time
	// Replaced says an earlier pending invitation of the same email was revoked.
	Replaced bool
}

// InviteRevoke fills the Revoke invitation confirmation.
type InviteRevoke struct {
	ID    string
	Email string
}

// MemberRemove fills the Remove member confirmation.
type MemberRemove struct {
	Person
	// Secrets names the secrets that will be deleted because the member is
	// their last Owner.
	Secrets []string
	// TrashDays is how many days the deleted secrets can be restored.
	TrashDays int
	// You is true when admins remove themselves.
	You bool
	// Err is shown instead of the Remove button when the removal is refused
	// (the last admin).
	Err string
}

// TeamItem is one team on the Teams page.
type TeamItem struct {
	// ID identifies the team in URLs such as /teams/{id}/edit.
	ID string
	// Name is the team's name, unique in the organization.
	Name string
	// Description says what the team is for; may be empty.
	Description string
	// Members lists the team's members, by email.
	Members []Person
	// MemberTeams names the teams nested directly in this one.
	MemberTeams []string
	// Inside lists where the team sits, each as the path of team names from the outermost inwards
	// to the team that contains it directly ("Platform", "Databases").
	Inside [][]string
	// Manage shows Members and Edit: an admin, or an Owner of this team.
	Manage bool
}

// TeamsProps fills the Teams page and its #teams-list fragment.
type TeamsProps struct {
	// Rows lists the organization's teams by name.
	Rows []TeamItem
	// CanManage shows New team and Delete, and the actions column (admins); an Owner of a team gets
	// Members and Edit on its row (TeamItem.Manage).
	CanManage bool
	// Actions shows the actions column: CanManage, or a row the viewer manages.
	Actions bool
}

// TeamForm fills the New team and Edit team dialogs.
type TeamForm struct {
	// ID is empty for a new team.
	ID string
	// Name and Description are what was typed (or stored).
	Name        string
	Description string
	// Err is shown in the dialog's error box when not empty, or under the input ErrField
	// names.
	Err      string
	ErrField string
}

// TeamMembersProps fills the team Members dialog.
type TeamMembersProps struct {
	// TeamID and TeamName identify the team.
	TeamID   string
	TeamName string
	// Members lists the team's members.
	Members []Person
	// Candidates lists the organization's members not in the team, offered
	// as suggestions for the email field.
	Candidates []Person
	// Email is what was typed in the add field, kept after an error.
	Email string
	// Err is shown in the dialog's error box when not empty, or under the input ErrField
	// names.
	Err      string
	ErrField string
}

// TeamConfirm fills the confirmation of a team change that may delete
// secrets: removing a member (Member set) or deleting the team.
type TeamConfirm struct {
	// TeamID and TeamName identify the team.
	TeamID   string
	TeamName string
	// Member is the user to take out of the team; zero when the team is to
	// be deleted.
	Member Person
	// Secrets names the secrets the change will delete because no Owner
	// user would be left.
	Secrets []string
	// TrashDays is how many days the deleted secrets can be restored.
	TrashDays int
	// Err is shown in the dialog's error box when not empty.
	Err string
}

// Roles a row of the Share dialog can hold. ShareRemove stages a revoke.
const (
	ShareOwner  = "owner"
	ShareReader = "reader"
	ShareRemove = "remove"
)

// ShareRow is one user or team in the Share dialog's access list. Its
// hidden inputs carry the staged change to POST /secrets/{id}/share:
// principal=KIND:ID, role_KIND:ID=owner|reader|remove and orig_KIND:ID, the
// role it has now ("" for a row added in the dialog).
type ShareRow struct {
	// SecretID is the secret being shared, for the row's URLs.
	SecretID string
	// Kind is "user" or "team"; ID is the user's or team's ID.
	Kind string
	ID   string
	// Name is the user's display name or the team's name.
	Name string
	// Detail is the user's email or the team's description.
	Detail string
	// Role is the staged role: ShareOwner, ShareReader or ShareRemove.
	Role string
	// Orig is the role the principal holds now; empty for a pending add.
	Orig string
	// You marks the signed-in user.
	You bool
	// Editable shows the controls (Owners); Readers see the row read-only.
	Editable bool
}

// ShareNested is a team that has access to a secret because it is inside a granted team.
type ShareNested struct {
	TeamID string
	Name   string
	// Path names the teams from the granted one inwards to the one this team is in ("Platform",
	// "Databases" for Postgres inside Databases inside Platform).
	Path []string
	// Owner is the role it holds through the path (else Reader).
	Owner bool
}

// ShareProps fills the Share dialog.
type ShareProps struct {
	// SecretID and SecretName identify the secret.
	SecretID   string
	SecretName string
	// Owner is true when the viewer may change access: search, role
	// selects, Remove Access and Save. Readers see the list read-only.
	Owner bool
	// Rows is the access list, with any staged changes.
	Rows []ShareRow
	// Nested lists the teams that have access through a granted team, read-only.
	Nested []ShareNested
	// Err is shown in the dialog's error box when not empty.
	Err string
}

// ShareMatch is one result of the Share dialog's type-ahead.
type ShareMatch struct {
	// Kind is "user" or "team"; ID is the user's or team's ID.
	Kind string
	ID   string
	// Name is the display name; Detail the email or the team description.
	Name   string
	Detail string
}

// ShareMatches fills the type-ahead's result list.
type ShareMatches struct {
	// SecretID is the secret being shared, for the pick URLs.
	SecretID string
	// Query is the typed text.
	Query string
	// Browse marks the list asked for with nothing typed (the field got the
	// focus): members and teams from the start of the list.
	Browse bool
	// Matches lists at most a handful of members and teams.
	Matches []ShareMatch
	// More is true when Matches stops at the limit: others may match too.
	More bool
}
