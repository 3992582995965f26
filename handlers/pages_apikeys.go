package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// dateLayout is how <input type="date"> sends a date.
const dateLayout = "2006-01-02"

// APIKeysPage handles GET /apikeys: the API Keys tab, or with HX-Request its table fragment (refresh
// after a change). Members see their own keys, admins every key of the organization.
func (p *Pages) APIKeysPage(c echo.Context) error {
	a := actor(c)
	keys, err := p.Store.ListAPIKeys(c.Request().Context(), a)
	if err != nil {
		return err
	}
	props := views.APIKeysProps{IsAdmin: a.IsAdmin(), Now: time.Now()}
	for _, k := range keys {
		props.Rows = append(props.Rows, apiKeyItem(a, k))
	}
	if request.IsFragment(c) {
		return render(c, http.StatusOK, views.APIKeysTable(props))
	}
	return p.page(c, "API Keys", "apikeys", views.APIKeysPage(props))
}

func apiKeyItem(a db.Actor, k db.APIKey) views.APIKeyItem {
	return views.APIKeyItem{ID: k.ID, Label: k.Label, Prefix: k.Prefix, OwnerName: k.User.Name, OwnerEmail: k.User.Email,
		Mine: k.User.ID == a.UserID, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt}
}

// APIKeyNew handles GET /apikeys/new: the Create API key dialog.
func (p *Pages) APIKeyNew(c echo.Context) error {
	return render(c, http.StatusOK, views.NewAPIKeyDialog(views.APIKeyForm{MinDate: today()}))
}

// APIKeyCreate handles POST /apikeys from the Create API key dialog. On success the dialog is replaced
// by one that shows the key, and code that uses it with this server's address: the only time it is
// ever sent. The key is never logged.
func (p *Pages) APIKeyCreate(c echo.Context) error {
	form := views.APIKeyForm{Label: strings.TrimSpace(c.FormValue("label")), Expires: strings.TrimSpace(c.FormValue("expires")), MinDate: today()}
	expires, err := endOfDay(form.Expires)
	var key string
	var rec *db.APIKey
	if err == nil {
		key, rec, err = p.Store.CreateAPIKey(c.Request().Context(), actor(c), form.Label, expires)
	}
	if db.ErrorCode(err) == db.CodeInvalid {
		form.Err, form.ErrField = db.ErrorMessage(err), fieldOf(err, db.FieldLabel, db.FieldExpires)
		return render(c, http.StatusUnprocessableEntity, views.NewAPIKeyDialog(form))
	} else if err != nil {
		return err
	}
	c.Response().Header().Set("HX-Trigger", "apikeys-changed")
	return render(c, http.StatusOK, views.APIKeyCreatedDialog(views.APIKeyCreated{Label: rec.Label, Key: key, ExpiresAt: rec.ExpiresAt,
		BaseURL: p.link(c, "")}))
}

// endOfDay turns a date from the expiry field into the last millisecond of that day, UTC; "" is
// never (the zero time).
func endOfDay(date string) (time.Time, error) {
	if date == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(dateLayout, date)
	if err != nil {
		return time.Time{}, &db.Error{Code: db.CodeInvalid, Field: db.FieldExpires, Message: "Enter the expiry as a date, e.g. 2030-12-31, or leave it empty."}
	}
	return d.Add(24*time.Hour - time.Millisecond), nil
}

// today is the current date in UTC, as the date field wants it.
func today() string { return time.Now().UTC().Format(dateLayout) }

// APIKeyRevokeConfirm handles GET /apikeys/:id/revoke: the confirmation dialog. A key the viewer may
// not see (another member's, for a non-admin) is not found.
func (p *Pages) APIKeyRevokeConfirm(c echo.Context) error {
	a := actor(c)
	keys, err := p.Store.ListAPIKeys(c.Request().Context(), a)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == c.Param("id") {
			return render(c, http.StatusOK, views.RevokeAPIKeyDialog(views.APIKeyRevoke{ID: k.ID, Label: k.Label,
				Prefix: k.Prefix, OwnerName: k.User.Name, Mine: k.User.ID == a.UserID}))
		}
	}
	return db.Errorf(db.CodeNotFound, "No such API key.")
}

// APIKeyRevoke handles DELETE /apikeys/:id: the key stops working at once.
func (p *Pages) APIKeyRevoke(c echo.Context) error {
	if err := p.Store.RevokeAPIKey(c.Request().Context(), actor(c), c.Param("id")); err != nil {
		return err
	}
	c.Response().Header().Set("HX-Trigger", "apikeys-changed")
	return render(c, http.StatusOK, views.Toast("API key revoked."))
}
