package handlers

import (
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/handlers/jsonbody"
)

// SecretList handles GET /v1/secrets: every secret the caller can read, without values. With ?name=
// it is the SDK's fetch by name instead: that one secret with its value (the read is audited), or an
// empty list when there is no such secret or the caller cannot read it.
func (a *API) SecretList(c echo.Context) error {
	ctx := c.Request().Context()
	if c.QueryParams().Has("name") {
		sec, err := a.Store.SecretByName(ctx, actor(c), c.QueryParam("name"))
		if db.ErrorCode(err) == db.CodeNotFound {
			return sendJSON(c, secretsJSON{Secrets: []secretJSON{}})
		} else if err != nil {
			return err
		}
		return sendJSON(c, secretsJSON{Secrets: []secretJSON{newSecretJSON(sec, true)}})
	}
	secs, err := a.Store.AllSecrets(ctx, actor(c))
	if err != nil {
		return err
	}
	out := secretsJSON{Secrets: make([]secretJSON, 0, len(secs))}
	for i := range secs {
		out.Secrets = append(out.Secrets, newSecretJSON(&secs[i], false))
	}
	return sendJSON(c, out)
}

// SecretCreate handles POST /v1/secrets: the caller becomes the new secret's only Owner.
func (a *API) SecretCreate(c echo.Context) error {
	in, err := decodeSecretRequest(c, true)
	if err != nil {
		return err
	}
	name, err := required("name", in.Name)
	if err != nil {
		return err
	}
	sec, err := a.Store.CreateSecret(c.Request().Context(), actor(c), name, in.Value)
	if err != nil {
		return err
	}
	setETag(c, sec)
	return sendJSON(c, newSecretJSON(sec, false)) // 200, not 201: compatible clients decode 200 only
}

// SecretGet handles GET /v1/secrets/{secretID}: the secret with its value, once the read is audited;
// with ?version=N, that version of it (secretVersionGet).
func (a *API) SecretGet(c echo.Context) error {
	if c.QueryParams().Has("version") {
		return a.secretVersionGet(c)
	}
	sec, err := a.Store.RevealSecret(c.Request().Context(), actor(c), pathID(c, "secretID"))
	if err != nil {
		return err
	}
	setETag(c, sec)
	return sendJSON(c, newSecretJSON(sec, true))
}

// SecretUpdate handles PATCH /v1/secrets/{secretID}: a new value, Owners only. An If-Match header
// naming a version (the ETag of an earlier response) makes the change conditional on it. A body
// without "value" changes nothing and answers the secret (the value is optional in the contract).
func (a *API) SecretUpdate(c echo.Context) error {
	version, err := ifMatchVersion(c.Request().Header.Get("If-Match"))
	if err != nil {
		return err
	}
	req := c.Request()
	in, err := jsonbody.DecodeSecret(req.Body, req.ContentLength, false, db.MaxValueBytes)
	if err != nil {
		return err
	}
	if in.Value == nil {
		return a.secretUnchanged(c, version)
	}
	sec, err := a.Store.UpdateSecret(req.Context(), actor(c), pathID(c, "secretID"), in.Value, version)
	if db.ErrorCode(err) == db.CodeConflict && version != 0 {
		return staleVersion(version) // db's message speaks to the portal's editor
	} else if err != nil {
		return err
	}
	setETag(c, sec)
	return sendJSON(c, newSecretJSON(sec, false))
}

// SecretDelete handles DELETE /v1/secrets/{secretID}, Owners only.
func (a *API) SecretDelete(c echo.Context) error {
	sec, err := a.Store.DeleteSecret(c.Request().Context(), actor(c), pathID(c, "secretID"))
	if err != nil {
		return err
	}
	return sendJSON(c, secretIDJSON{SecretID: sec.ID})
}

// SecretAccessList handles GET /v1/secrets/{secretID}/accessControls: one entry per role that has
// grants, for Owners and Readers; teams inside a granted team are listed with inheritedFrom.
func (a *API) SecretAccessList(c echo.Context) error {
	_, grants, nested, err := a.Store.SecretNestedAccess(c.Request().Context(), actor(c), pathID(c, "secretID"))
	if err != nil {
		return err
	}
	return sendJSON(c, newResourceRolesJSON(grants, nested))
}

// SecretAccessChange handles PATCH /v1/secrets/{secretID}/accessControls: grants and revokes applied
// together or not at all (one store call, one transaction), Owners only.
func (a *API) SecretAccessChange(c echo.Context) error {
	var in controlAccessRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var changes []db.AccessChange
	add := func(items []roleChangeJSON, revoke bool) error {
		for _, rc := range items {
			role, err := db.ParseRole(rc.Role)
			if err != nil {
				return err
			}
			for _, id := range lowerAll(rc.Users) {
				changes = append(changes, db.AccessChange{Kind: db.PrincipalUser, ID: id, Role: role, Revoke: revoke})
			}
			for _, id := range lowerAll(rc.Teams) {
				changes = append(changes, db.AccessChange{Kind: db.PrincipalTeam, ID: id, Role: role, Revoke: revoke})
			}
		}
		return nil
	}
	if err := add(in.Revokes, true); err != nil {
		return err
	}
	if err := add(in.Grants, false); err != nil {
		return err
	}
	if err := a.Store.ChangeAccess(c.Request().Context(), actor(c), pathID(c, "secretID"), changes); err != nil {
		return err
	}
	return sendJSON(c, struct{}{})
}

// decodeSecretRequest decodes a create (withName) or update body as it streams in: the value lands in
// one buffer that db seals in place, and a value over the limit is refused with 413 as soon as it
// crosses it, without reading the rest. The value is required.
func decodeSecretRequest(c echo.Context, withName bool) (jsonbody.Secret, error) {
	req := c.Request()
	in, err := jsonbody.DecodeSecret(req.Body, req.ContentLength, withName, db.MaxValueBytes)
	if err != nil {
		return in, err
	}
	if in.Value == nil {
		return in, missing("value")
	}
	return in, nil
}

// setETag names the secret's version, for If-Match on a later PATCH.
func setETag(c echo.Context, sec *db.Secret) {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.FormatInt(sec.Version, 10)))
}

// ifMatchVersion reads an If-Match header: absent or * is 0 (no check); otherwise one version, quoted
// as in an ETag ("3") or bare (3).
func ifMatchVersion(h string) (int64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	v := strings.TrimPrefix(h, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, db.Errorf(db.CodeInvalid, `If-Match must name one version of the secret, as its ETag does: "3".`)
	}
	return n, nil
}

// secretUnchanged answers a PATCH without a value: the secret as it is, for its Owners, under the same
// If-Match check as a change.
func (a *API) secretUnchanged(c echo.Context, version int64) error {
	sec, err := a.Store.SecretByID(c.Request().Context(), actor(c), pathID(c, "secretID"))
	if err != nil {
		return err
	}
	if !sec.Access.CanEdit() {
		return db.Errorf(db.CodeForbidden, "Only Owners can change %s.", sec.Name)
	}
	if version != 0 && version != sec.Version {
		return staleVersion(version)
	}
	setETag(c, sec)
	return sendJSON(c, newSecretJSON(sec, false))
}

// staleVersion is the API's 409 for an If-Match naming a version that is no longer current.
func staleVersion(version int64) error {
	return db.Errorf(db.CodeConflict, "The secret changed since version %d; fetch it again (its ETag names the current version).", version)
}
