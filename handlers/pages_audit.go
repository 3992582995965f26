package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

const (
	// auditPageSize is how many events the audit log shows at once.
	auditPageSize = 50
	// activityLimit is how many events the Activity dialog shows.
	activityLimit = 100
)

// auditActions lists every audited action with its label for people, in the order of the action
// filter.
var auditActions = []views.Option{
	{Value: db.ActionSecretCreate, Label: "Created secret"},
	{Value: db.ActionSecretUpdate, Label: "Changed value"},
	{Value: db.ActionSecretDelete, Label: "Deleted secret"},
	{Value: db.ActionSecretRead, Label: "Read value"},
	{Value: db.ActionSecretRestore, Label: "Restored secret"},
	{Value: db.ActionSecretPurge, Label: "Destroyed secret"},
	{Value: db.ActionAccessGrant, Label: "Granted access"},
	{Value: db.ActionAccessRevoke, Label: "Revoked access"},
	{Value: db.ActionMemberAdd, Label: "Member added"},
	{Value: db.ActionMemberRole, Label: "Member role changed"},
	{Value: db.ActionMemberRemove, Label: "Member removed"},
	{Value: db.ActionTeamCreate, Label: "Created team"},
	{Value: db.ActionTeamUpdate, Label: "Changed team"},
	{Value: db.ActionTeamDelete, Label: "Deleted team"},
	{Value: db.ActionTeamMemberAdd, Label: "Added to team"},
	{Value: db.ActionTeamMemberDrop, Label: "Removed from team"},
	{Value: db.ActionAPIKeyCreate, Label: "Created API key"},
	{Value: db.ActionAPIKeyRevoke, Label: "Revoked API key"},
	{Value: db.ActionAccessViaTeam, Label: "Gained access through a team"},
	{Value: db.ActionInvitationCreate, Label: "Invited"},
	{Value: db.ActionInvitationRevoke, Label: "Revoked invitation"},
	{Value: db.ActionInvitationAccept, Label: "Accepted invitation"},
	{Value: db.ActionInvitationRefuse, Label: "Declined invitation"},
	{Value: db.ActionPasswordChange, Label: "Changed password"},
	{Value: db.ActionPasswordReset, Label: "Password reset by the operator"},
	{Value: db.ActionPasswordResetUsed, Label: "Set password from a reset link"},
	{Value: db.ActionMemberPasswordSet, Label: "Set member password"},
	{Value: db.ActionOrgCreate, Label: "Created organization"},
}

// actionLabel is the label of an action code, or the code itself for one this list does not know.
func actionLabel(action string) string {
	for _, o := range auditActions {
		if o.Value == action {
			return o.Label
		}
	}
	return action
}

// roleTitle spells a recorded role for people: "owner" becomes "Owner", "admin" "Admin".
func roleTitle(role string) string {
	if t := db.Role(role).Title(); t != "" {
		return t
	}
	if role == "" {
		return ""
	}
	return strings.ToUpper(role[:1]) + role[1:]
}

func auditItem(e db.AuditEvent) views.AuditItem {
	it := views.AuditItem{ID: e.ID, At: e.At, ActorEmail: e.ActorEmail, APIKeyLabel: e.APIKeyLabel, Source: e.Source,
		ClientIP: e.ClientIP, Action: e.Action, ActionLabel: actionLabel(e.Action), SecretID: e.SecretID, SecretName: e.SecretName,
		TargetKind: e.TargetKind, TargetName: e.TargetName, Role: roleTitle(e.Role), Detail: e.Detail, ActorName: e.ActorName}
	if it.ActorEmail == "" {
		it.ActorName = "keyhold CLI"
		if e.Source != "cli" {
			it.ActorName = "keyhold"
		}
	}
	return it
}

// AuditPage handles GET /audit (admins only): the organization's audit log, newest first, filtered by
// person, secret (an ID or a part of a name), action and dates, paged by before=ID. With HX-Request it answers with the table
// fragment alone.
func (p *Pages) AuditPage(c echo.Context) error {
	form := views.AuditFilterForm{
		Actor:  strings.TrimSpace(c.QueryParam("actor")),
		Secret: strings.TrimSpace(c.QueryParam("secret")),
		Action: strings.TrimSpace(c.QueryParam("action")),
		From:   strings.TrimSpace(c.QueryParam("from")),
		To:     strings.TrimSpace(c.QueryParam("to")),
	}
	f, err := auditFilter(form, c.QueryParam("before"))
	if err != nil {
		return err
	}
	props := views.AuditProps{Filter: form, Actions: auditActions, Before: f.Before, Now: time.Now()}
	f.Secret = form.Secret
	f.Limit = auditPageSize + 1 // one more tells whether an older page exists
	f.People = !request.IsFragment(c)
	l, err := p.Store.AuditLog(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	events := l.Events
	if len(events) == 0 && form.Secret != "" && f.Before == 0 {
		props.Note = "No event names a secret whose name holds “" + form.Secret + "”."
	}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		props.Older = events[len(events)-1].ID
	}
	for _, e := range events {
		props.Rows = append(props.Rows, auditItem(e))
	}
	if request.IsFragment(c) {
		return render(c, http.StatusOK, views.AuditTable(props))
	}
	for _, m := range l.People {
		label := m.Email
		if n := m.Name(); n != m.Email {
			label = n + " (" + m.Email + ")"
		}
		props.People = append(props.People, views.Option{Value: m.ID, Label: label})
	}
	return p.page(c, "Audit log", "audit", views.AuditPage(props))
}

// auditFilter turns the filter form into a db.AuditFilter: dates are whole days in UTC, To included.
func auditFilter(form views.AuditFilterForm, before string) (db.AuditFilter, error) {
	f := db.AuditFilter{ActorID: form.Actor, Action: form.Action}
	if f.Action != "" && actionLabel(f.Action) == f.Action {
		return f, db.Errorf(db.CodeInvalid, "Unknown action: choose one from the list.")
	}
	var err error
	if before != "" {
		if f.Before, err = strconv.ParseInt(before, 10, 64); err != nil || f.Before <= 0 {
			return f, db.Errorf(db.CodeInvalid, "The page to show is not one of this log's: open the audit log again.")
		}
	}
	if form.From != "" {
		if f.From, err = time.Parse(dateLayout, form.From); err != nil {
			return f, db.Errorf(db.CodeInvalid, "Enter the From date as 2006-01-02.")
		}
	}
	if form.To != "" {
		to, err := time.Parse(dateLayout, form.To)
		if err != nil {
			return f, db.Errorf(db.CodeInvalid, "Enter the To date as 2006-01-02.")
		}
		f.To = to.AddDate(0, 0, 1)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, db.Errorf(db.CodeInvalid, "The From date is after the To date.")
	}
	return f, nil
}

// SecretActivityDialog handles GET /secrets/:id/activity (Owners only): who created, changed, shared,
// revealed or fetched the secret, when and from where.
func (p *Pages) SecretActivityDialog(c echo.Context) error {
	events, err := p.Store.SecretActivity(c.Request().Context(), actor(c), c.Param("id"), activityLimit)
	if err != nil {
		return err
	}
	props := views.ActivityProps{Limit: activityLimit, Now: time.Now()}
	for _, e := range events {
		if props.SecretName == "" {
			props.SecretName = e.SecretName
		}
		props.Rows = append(props.Rows, auditItem(e))
	}
	return render(c, http.StatusOK, views.ActivityDialog(props))
}
