package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// The History dialog and Recently deleted (the trash) in the portal.

// SecretHistory handles GET /secrets/:id/history: the History dialog.
func (p *Pages) SecretHistory(c echo.Context) error {
	h, err := p.Store.SecretHistory(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.HistoryDialog(historyProps(h)))
}

func historyProps(h *db.SecretHistory) views.HistoryProps {
	props := views.HistoryProps{ID: h.Secret.ID, Name: h.Secret.Name, Owner: h.Secret.Access.CanEdit(), Current: h.Secret.Version,
		Kept: h.Kept, Now: time.Now()}
	for _, v := range h.Versions {
		props.Versions = append(props.Versions, views.VersionItem{Number: v.Number, Size: v.Size, SetBy: v.SetBy.Name, SetAt: v.SetAt, Current: v.Current})
	}
	return props
}

// versionNumber reads the :n path parameter; anything but a version number is not found.
func versionNumber(c echo.Context) (int64, error) {
	n, err := strconv.ParseInt(c.Param("n"), 10, 64)
	if err != nil || n < 1 {
		return 0, db.Errorf(db.CodeNotFound, "No such version.")
	}
	return n, nil
}

// SecretVersionReveal handles POST /secrets/:id/versions/:n/reveal: the row under version n with its
// value, once the read is recorded as a read of that version.
func (p *Pages) SecretVersionReveal(c echo.Context) error {
	n, err := versionNumber(c)
	if err != nil {
		return err
	}
	sec, v, err := p.Store.RevealVersion(c.Request().Context(), actor(c), c.Param("id"), n)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.VersionValueRow(views.VersionValue{ID: sec.ID, Number: v.Number, Value: v.Value}))
}

// SecretVersionHidden handles GET /secrets/:id/versions/:n/hidden: the empty row Hide puts back. It
// reads nothing.
func (p *Pages) SecretVersionHidden(c echo.Context) error {
	n, err := versionNumber(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.VersionValueRow(views.VersionValue{ID: c.Param("id"), Number: n}))
}

// SecretVersionRestore handles POST /secrets/:id/versions/:n/restore from the History dialog: version
// n's value becomes the secret's new version, if the secret is still at the version the dialog showed.
// A refusal draws the dialog again with the reason and the history as it is now.
func (p *Pages) SecretVersionRestore(c echo.Context) error {
	n, err := versionNumber(c)
	if err != nil {
		return err
	}
	current, err := strconv.ParseInt(c.FormValue("current"), 10, 64)
	if err != nil || current < 1 {
		return db.Errorf(db.CodeInvalid, "The form is missing the secret's current version: open History again.")
	}
	ctx, a := c.Request().Context(), actor(c)
	sec, err := p.Store.RestoreVersion(ctx, a, c.Param("id"), n, current)
	if code := db.ErrorCode(err); code == db.CodeConflict || code == db.CodeInvalid || code == db.CodeForbidden {
		h, herr := p.Store.SecretHistory(ctx, a, c.Param("id"))
		if herr != nil {
			return herr
		}
		props := historyProps(h)
		props.Err = db.ErrorMessage(err)
		if code == db.CodeConflict {
			props.Err = fmt.Sprintf("%s changed while this dialog was open: here is its history now. Nothing was restored.", h.Secret.Name)
		}
		return render(c, http.StatusUnprocessableEntity, views.HistoryDialog(props))
	} else if err != nil {
		return err
	}
	return notify(c, "secrets-changed", fmt.Sprintf("Restored version %d of %s as version %d.", n, sec.Name, sec.Version))
}

// TrashPage handles GET /secrets/trash: Recently deleted, or with HX-Request its table fragment.
func (p *Pages) TrashPage(c echo.Context) error {
	trash, err := p.Store.Trash(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	props := views.TrashProps{Days: p.trashDays(), Now: time.Now()}
	for _, d := range trash {
		props.Rows = append(props.Rows, views.TrashItem{ID: d.ID, Name: d.Name, DeletedBy: d.DeletedByUser.Name,
			DeletedAt: d.DeletedAt, PurgeAt: d.PurgeAt, Orphan: d.Orphan})
	}
	if request.IsFragment(c) {
		return render(c, http.StatusOK, views.TrashTable(props))
	}
	return p.page(c, "Recently deleted", "secrets", views.TrashPage(props))
}

// trashDays is the trash window in whole days, for people.
func (p *Pages) trashDays() int {
	return int(p.Store.TrashWindow().Round(24*time.Hour) / (24 * time.Hour))
}

// TrashRestore handles POST /secrets/trash/:id/restore: the secret comes back under its name, or the
// form's name. When the name is taken or the new one is refused, the dialog asks (again) for a name;
// the form's "was", the name it was deleted under, only labels that dialog.
func (p *Pages) TrashRestore(c echo.Context) error {
	name := c.FormValue("name")
	sec, err := p.Store.RestoreSecret(c.Request().Context(), actor(c), c.Param("id"), name)
	if code := db.ErrorCode(err); code == db.CodeConflict || code == db.CodeInvalid {
		props := views.TrashRestore{ID: c.Param("id"), Name: c.FormValue("was"), NewName: name, Err: db.ErrorMessage(err)}
		if props.Name == "" {
			props.Name = name
		}
		return render(c, http.StatusUnprocessableEntity, views.TrashRestoreDialog(props))
	} else if err != nil {
		return err
	}
	return notify(c, "trash-changed, secrets-changed", "Restored "+sec.Name+".")
}

// TrashDestroyConfirm handles GET /secrets/trash/:id/destroy: the "Delete now" confirmation.
func (p *Pages) TrashDestroyConfirm(c echo.Context) error {
	d, err := p.Store.DeletedSecret(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TrashDestroyDialog(views.TrashDestroy{ID: d.ID, Name: d.Name}))
}

// TrashDestroy handles DELETE /secrets/trash/:id: destroyed at once, for good.
func (p *Pages) TrashDestroy(c echo.Context) error {
	d, err := p.Store.DestroySecret(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return notify(c, "trash-changed", "Destroyed "+d.Name+" for good.")
}
