package views

import "time"

// HistoryProps fills the History dialog of a secret, GET /secrets/{id}/history.
type HistoryProps struct {
	// ID and Name are the secret's.
	ID   string
	Name string
	// Owner is true for an Owner (Reveal and Restore on every version), false for a Reader (the
	// list, and Reveal of the current version only).
	Owner bool
	// Current is the current version: Restore sends it back, so a dialog opened before someone
	// else's change restores nothing.
	Current int64
	// Kept is how many versions the history keeps.
	Kept int
	// Versions are newest first.
	Versions []VersionItem
	// Now is the time relative times are measured from.
	Now time.Time
	// Err is shown in the dialog's error box when not empty.
	Err string
}

// VersionItem is one version in the History dialog: never its value.
type VersionItem struct {
	Number  int64
	Size    int
	SetBy   string
	SetAt   time.Time
	Current bool
}

// VersionValue is a revealed version's value in the History dialog.
type VersionValue struct {
	ID     string
	Number int64
	Value  string
}

// TrashProps fills the Recently deleted page, GET /secrets/trash, and its table fragment.
type TrashProps struct {
	Rows []TrashItem
	// Days is the trash window in days.
	Days int
	Now  time.Time
}

// TrashItem is a deleted secret the viewer may restore.
type TrashItem struct {
	ID        string
	Name      string
	DeletedBy string // a display name; "" for the command line
	DeletedAt time.Time
	PurgeAt   time.Time
	// Orphan: no Owner is left; the admin who restores it becomes its Owner.
	Orphan bool
}

// TrashRestore fills the dialog that asks for a new name when a deleted secret's name has been taken
// meanwhile.
type TrashRestore struct {
	ID   string
	Name string // the name it was deleted under
	// NewName is what the user typed; Err why it was refused.
	NewName string
	Err     string
}

// TrashDestroy fills the "Delete now" confirmation.
type TrashDestroy struct {
	ID   string
	Name string
}
