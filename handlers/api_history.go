package handlers

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

// Version history and the trash over the API. GET /v1/secrets/{secretID}?version=N and
// GET /v1/secrets/{secretID}/versions extend the compatible routes without changing their answers;
// the restore routes and /v1/trash are keyhold's own.

// versionJSON is one version of a secret, without its value.
type versionJSON struct {
	Version   int64  `json:"version"`
	Current   bool   `json:"current"`
	Size      int    `json:"size"`
	CreatedBy string `json:"createdBy"`
	CreatedAt string `json:"createdAt"`
}

// versionsJSON is the answer of GET /v1/secrets/{secretID}/versions.
type versionsJSON struct {
	SecretID string        `json:"secretID"`
	Name     string        `json:"name"`
	Versions []versionJSON `json:"versions"`
}

// deletedSecretJSON is a secret in the trash: the Secret shape with deletedBy and deletedAt, and
// when it will be destroyed.
type deletedSecretJSON struct {
	secretJSON
	PurgeAt string `json:"purgeAt"`
}

type trashJSON struct {
	Secrets []deletedSecretJSON `json:"secrets"`
}

// versionParam reads a version number from the query or the path.
func versionParam(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, db.Errorf(db.CodeInvalid, "version must be one of the secret's version numbers: 1, 2, 3…")
	}
	return n, nil
}

// secretVersionGet is GET /v1/secrets/{secretID}?version=N: that version with its value, in the shape
// of the secret, lastUpdatedBy and lastUpdatedAt saying who set that version and when. Earlier
// versions are for Owners; the read is audited as a read of that version.
func (a *API) secretVersionGet(c echo.Context) error {
	n, err := versionParam(c.QueryParam("version"))
	if err != nil {
		return err
	}
	sec, v, err := a.Store.RevealVersion(c.Request().Context(), actor(c), pathID(c, "secretID"), n)
	if err != nil {
		return err
	}
	out := newSecretJSON(sec, false)
	out.Value, out.LastUpdatedBy, out.LastUpdatedAt = &v.Value, v.SetBy.ID, apiTime(v.SetAt)
	c.Response().Header().Set("ETag", strconv.Quote(strconv.FormatInt(v.Number, 10)))
	return sendJSON(c, out)
}

// SecretVersions handles GET /v1/secrets/{secretID}/versions: the versions the history keeps, newest
// first, without values; for Owners and Readers.
func (a *API) SecretVersions(c echo.Context) error {
	h, err := a.Store.SecretHistory(c.Request().Context(), actor(c), pathID(c, "secretID"))
	if err != nil {
		return err
	}
	out := versionsJSON{SecretID: h.Secret.ID, Name: h.Secret.Name, Versions: make([]versionJSON, 0, len(h.Versions))}
	for _, v := range h.Versions {
		out.Versions = append(out.Versions, versionJSON{Version: v.Number, Current: v.Current, Size: v.Size,
			CreatedBy: v.SetBy.ID, CreatedAt: apiTime(v.SetAt)})
	}
	return sendJSON(c, out)
}

// SecretVersionRestore handles POST /v1/secrets/{secretID}/versions/{version}/restore: that version's
// value becomes the secret's new version, Owners only. If-Match makes it conditional, as for PATCH.
func (a *API) SecretVersionRestore(c echo.Context) error {
	expect, err := ifMatchVersion(c.Request().Header.Get("If-Match"))
	if err != nil {
		return err
	}
	n, err := versionParam(c.Param("version"))
	if err != nil {
		return err
	}
	sec, err := a.Store.RestoreVersion(c.Request().Context(), actor(c), pathID(c, "secretID"), n, expect)
	if db.ErrorCode(err) == db.CodeConflict && expect != 0 {
		return staleVersion(expect) // db's message speaks to the portal's editor
	} else if err != nil {
		return err
	}
	setETag(c, sec)
	return sendJSON(c, newSecretJSON(sec, false))
}

// TrashList handles GET /v1/trash: the deleted secrets the caller may restore (those it owned; for
// an admin also those no Owner is left on), newest deletion first.
func (a *API) TrashList(c echo.Context) error {
	trash, err := a.Store.Trash(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	out := trashJSON{Secrets: make([]deletedSecretJSON, 0, len(trash))}
	for i := range trash {
		out.Secrets = append(out.Secrets, deletedSecretJSON{secretJSON: newSecretJSON(&trash[i].Secret, false), PurgeAt: apiTime(trash[i].PurgeAt)})
	}
	return sendJSON(c, out)
}

// restoreRequest is the optional body of POST /v1/trash/{secretID}/restore.
type restoreRequest struct {
	Name *string `json:"name"`
}

// TrashRestore handles POST /v1/trash/{secretID}/restore: the secret comes back with its value,
// versions and grants, under its name or the body's "name" (409 when the name is taken).
func (a *API) TrashRestore(c echo.Context) error {
	var in restoreRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	name := ""
	if in.Name != nil {
		if name = *in.Name; name == "" {
			return db.Errorf(db.CodeInvalid, `"name" is empty: leave it out to restore the secret under its own name.`)
		}
	}
	sec, err := a.Store.RestoreSecret(c.Request().Context(), actor(c), pathID(c, "secretID"), name)
	if err != nil {
		return err
	}
	return sendJSON(c, newSecretJSON(sec, false))
}

// TrashDestroy handles DELETE /v1/trash/{secretID}: the deleted secret is destroyed at once.
func (a *API) TrashDestroy(c echo.Context) error {
	d, err := a.Store.DestroySecret(c.Request().Context(), actor(c), pathID(c, "secretID"))
	if err != nil {
		return err
	}
	return sendJSON(c, secretIDJSON{SecretID: d.ID})
}
