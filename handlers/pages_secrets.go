package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// secretsPageSize is how many rows the Secrets table shows at once.
const secretsPageSize = 50

// page renders body inside the signed-in layout, or alone for an htmx fragment request.
func (p *Pages) page(c echo.Context, title, active string, body templ.Component) error {
	if request.IsFragment(c) {
		return render(c, http.StatusOK, body)
	}
	return render(c, http.StatusOK, views.Page(layout(c, title, active), body))
}

// SecretsPage handles GET /secrets: the Secrets tab, or with HX-Request its table fragment (search,
// the owned/shared filter, paging, refresh after a change).
func (p *Pages) SecretsPage(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	if pageNo < 1 {
		pageNo = 1
	}
	only, roles := c.QueryParam("only"), []db.Role(nil)
	switch only {
	case "owned":
		roles = []db.Role{db.RoleOwner}
	case "shared":
		roles = []db.Role{db.RoleReader}
	default:
		only = "" // anything else is every secret
	}
	list, err := p.Store.ListSecrets(c.Request().Context(), actor(c), q, (pageNo-1)*secretsPageSize, secretsPageSize, roles...)
	if err != nil {
		return err
	}
	props := views.SecretsProps{Query: q, Only: only, Page: pageNo, PageSize: secretsPageSize, Total: list.Total, Now: time.Now()}
	for _, s := range list.Secrets {
		props.Rows = append(props.Rows, views.SecretItem{ID: s.ID, Name: s.Name, CreatedBy: s.CreatedBy.Name,
			UpdatedBy: s.UpdatedBy.Name, UpdatedAt: s.UpdatedAt, Owner: s.Access.CanEdit(),
			SharedYou: s.Sharing.You, SharedPeople: s.Sharing.People, SharedTeams: s.Sharing.Teams})
	}
	if request.IsFragment(c) {
		return render(c, http.StatusOK, views.SecretsTable(props))
	}
	return p.page(c, "Secrets", "secrets", views.SecretsPage(props))
}

// SecretNew handles GET /secrets/new: the New Secret dialog.
func (p *Pages) SecretNew(c echo.Context) error {
	return render(c, http.StatusOK, views.NewSecretDialog(views.SecretForm{}))
}

// SecretCreate handles POST /secrets from the New Secret dialog.
func (p *Pages) SecretCreate(c echo.Context) error {
	form := views.SecretForm{Name: strings.TrimSpace(c.FormValue("name")), Value: c.FormValue("value")}
	sec, err := p.Store.CreateSecret(c.Request().Context(), actor(c), form.Name, []byte(form.Value))
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeConflict || code == db.CodeTooLarge {
		form.Err, form.ErrField = db.ErrorMessage(err), fieldOf(err, db.FieldName, db.FieldValue)
		if code == db.CodeTooLarge {
			form.Value = "" // do not send 5 MB back
		}
		return render(c, http.StatusUnprocessableEntity, views.NewSecretDialog(form))
	} else if err != nil {
		return err
	}
	return notify(c, "secrets-changed", "Created "+sec.Name+".")
}

// SecretEdit handles GET /secrets/:id/edit: the Edit dialog for Owners, the View dialog for Readers.
func (p *Pages) SecretEdit(c echo.Context) error {
	sec, err := p.Store.SecretByID(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EditSecretDialog(editProps(c, sec)))
}

func editProps(c echo.Context, sec *db.Secret) views.SecretEdit {
	return views.SecretEdit{ID: sec.ID, Name: sec.Name, Version: sec.Version, Owner: sec.Access.CanEdit(), Size: sec.Size,
		UpdatedBy: sec.UpdatedBy.Name, UpdatedAt: sec.UpdatedAt, Now: time.Now(), CSRF: request.CSRF(c)}
}

// SecretReveal handles GET /secrets/:id/value: the value field filled with the value. The read is
// audited before the value is sent.
func (p *Pages) SecretReveal(c echo.Context) error {
	sec, err := p.Store.RevealSecret(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	props := editProps(c, sec)
	props.Value, props.Revealed = sec.Value, true
	return render(c, http.StatusOK, views.SecretValueField(props))
}

// SecretValueHidden handles GET /secrets/:id/masked, Hide after a reveal: the value field hidden again.
func (p *Pages) SecretValueHidden(c echo.Context) error {
	sec, err := p.Store.SecretByID(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SecretValueField(editProps(c, sec)))
}

// SecretDownload handles POST /secrets/:id/download: the whole value as a file, for values too large to
// show; the read is audited first, as a reveal is.
func (p *Pages) SecretDownload(c echo.Context) error {
	sec, err := p.Store.RevealSecret(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+sec.Name+`.txt"`) // names are [A-Za-z0-9_]
	return c.Blob(http.StatusOK, "application/octet-stream", []byte(sec.Value))
}

// SecretUpdate handles PUT /secrets/:id from the Edit dialog. The version the dialog was opened at
// comes along, so an edit from a stale copy is refused instead of overwriting.
func (p *Pages) SecretUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	version, err := strconv.ParseInt(c.FormValue("version"), 10, 64)
	if err != nil || version < 1 {
		return db.Errorf(db.CodeInvalid, "The form is missing the secret's version: reload the page.")
	}
	value := c.FormValue("value")
	sec, err := p.Store.UpdateSecret(ctx, a, c.Param("id"), []byte(value), version)
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeConflict || code == db.CodeTooLarge {
		cur, gerr := p.Store.SecretByID(ctx, a, c.Param("id"))
		if gerr != nil {
			return gerr
		}
		props := editProps(c, cur)
		props.Version = version // keep the stale version: Load latest moves to the current one
		props.Err, props.ErrField, props.Stale = db.ErrorMessage(err), fieldOf(err, db.FieldValue), code == db.CodeConflict
		if code != db.CodeTooLarge {
			props.Value = value
		}
		return render(c, http.StatusUnprocessableEntity, views.EditSecretDialog(props))
	} else if err != nil {
		return err
	}
	return notify(c, "secrets-changed", "Updated "+sec.Name+".")
}

// SecretLatest handles POST /secrets/:id/latest, Load latest in an Edit dialog refused as stale: the
// dialog at the secret's current version, saying who set it and when, with the value the user typed
// kept, so that Update now saves it over that version deliberately.
func (p *Pages) SecretLatest(c echo.Context) error {
	sec, err := p.Store.SecretByID(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	props := editProps(c, sec)
	props.Value = c.FormValue("value")
	props.Notice = fmt.Sprintf("Loaded version %d, set by %s %s. Your text is kept: Update saves it as version %d.",
		sec.Version, sec.UpdatedBy.Name, sec.UpdatedAt.UTC().Format("on 2006-01-02 at 15:04 UTC"), sec.Version+1)
	return render(c, http.StatusOK, views.EditSecretDialog(props))
}

// SecretDeleteConfirm handles GET /secrets/:id/delete: the confirmation dialog (Owners only).
func (p *Pages) SecretDeleteConfirm(c echo.Context) error {
	sec, err := p.Store.SecretByID(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	if !sec.Access.CanEdit() {
		return db.Errorf(db.CodeForbidden, "Only Owners can delete %s.", sec.Name)
	}
	return render(c, http.StatusOK, views.DeleteSecretDialog(views.SecretDelete{ID: sec.ID, Name: sec.Name, TrashDays: p.trashDays()}))
}

// SecretDelete handles DELETE /secrets/:id.
func (p *Pages) SecretDelete(c echo.Context) error {
	sec, err := p.Store.DeleteSecret(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return notify(c, "secrets-changed", "Deleted "+sec.Name+".")
}
