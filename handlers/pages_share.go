package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
)

// shareMatchLimit is how many matches the Share dialog's type-ahead lists.
const shareMatchLimit = 8

// ShareDialog handles GET /secrets/:id/share: who has access, with the controls for Owners and
// read-only for Readers, and the teams that have it through a granted team ("via Platform ›
// Databases"). Anyone else gets 404 from db.
func (p *Pages) ShareDialog(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	sec, grants, nested, err := p.Store.SecretNestedAccess(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	props := shareProps(a, sec)
	for _, g := range grants {
		role := string(g.Role)
		props.Rows = append(props.Rows, views.ShareRow{SecretID: sec.ID, Kind: g.Kind, ID: g.ID, Name: g.Name,
			Detail: grantDetail(g), Role: role, Orig: role, You: g.Kind == db.PrincipalUser && g.ID == a.UserID, Editable: props.Owner})
	}
	for _, n := range nested {
		path := n.Via.Path[:len(n.Via.Path)-1] // the granted team inwards to the one it is in
		props.Nested = append(props.Nested, views.ShareNested{TeamID: n.Team.ID, Name: n.Team.Name, Path: path, Owner: n.Role == db.RoleOwner})
	}
	return render(c, http.StatusOK, views.ShareDialog(props))
}

// ShareSearch handles GET /secrets/:id/share/search?q=: the members and teams matching q by name or
// email, or with an empty q (the field got the focus) the first of them all, leaving out the
// principals already listed in the dialog (sent along as principal=KIND:ID).
func (p *Pages) ShareSearch(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	sec, found, err := p.Store.SearchPrincipals(c.Request().Context(), actor(c), c.Param("id"), q, c.QueryParams()["principal"], shareMatchLimit)
	if err != nil {
		return err
	}
	res := views.ShareMatches{SecretID: sec.ID, Query: q, Browse: q == "", More: len(found) == shareMatchLimit}
	for _, m := range found {
		res.Matches = append(res.Matches, shareMatch(m))
	}
	return render(c, http.StatusOK, views.ShareSearchResults(res))
}

func shareMatch(m db.Principal) views.ShareMatch {
	return views.ShareMatch{Kind: m.Kind, ID: m.ID, Name: m.Name, Detail: m.Detail}
}

// ShareRow handles GET /secrets/:id/share/row: one row of the access list in its staged state. The
// query names the principal (principal=KIND:ID), the role it has now (orig, empty for a new row) and
// the staged role (role, else the row's own select role_KIND:ID, else new_role for a pick). With
// pick the answer also empties the search box and its results.
func (p *Pages) ShareRow(c echo.Context) error {
	a := actor(c)
	principal := c.QueryParam("principal")
	role := firstNonEmpty(c.QueryParam("role"), c.QueryParam("role_"+principal), c.QueryParam("new_role"))
	orig := c.QueryParam("orig")
	sec, found, err := p.Store.PrincipalsByRef(c.Request().Context(), a, c.Param("id"), []string{principal})
	if err != nil {
		return err
	}
	if role == views.ShareRemove && orig == "" {
		return c.NoContent(http.StatusOK) // a row added in the dialog just goes
	}
	m, ok := found[principal]
	if !ok {
		return db.Errorf(db.CodeInvalid, "%s is not a member or team of this organization.", principal)
	}
	row := views.ShareRow{SecretID: sec.ID, Kind: m.Kind, ID: m.ID, Name: m.Name, Detail: m.Detail, Role: role, Orig: orig,
		You: m.Kind == db.PrincipalUser && m.ID == a.UserID, Editable: sec.Access.CanEdit()}
	if c.QueryParam("pick") != "" {
		return render(c, http.StatusOK, views.SharePicked(row))
	}
	return render(c, http.StatusOK, views.ShareAccessRow(row))
}

// ShareSave handles POST /secrets/:id/share from the Share dialog: every staged row whose role differs
// from the one it had becomes one change, and ChangeAccess applies them all in one transaction or
// none. A refusal (the last Owner, someone outside the organization) draws the dialog again with the
// staged rows and db's message.
func (p *Pages) ShareSave(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	rows := stagedRows(c)
	var changes []db.AccessChange
	for _, r := range rows {
		switch {
		case r.Role == views.ShareRemove && r.Orig != "":
			changes = append(changes, db.AccessChange{Kind: r.Kind, ID: r.ID, Revoke: true})
		case r.Role != views.ShareRemove && r.Role != r.Orig:
			changes = append(changes, db.AccessChange{Kind: r.Kind, ID: r.ID, Role: db.Role(r.Role)})
		}
	}
	err := p.Store.ChangeAccess(ctx, a, c.Param("id"), changes)
	if code := db.ErrorCode(err); code == db.CodeInvalid {
		return p.shareRefused(c, rows, err, http.StatusUnprocessableEntity)
	} else if code == db.CodeConflict {
		return p.shareRefused(c, rows, err, http.StatusConflict)
	} else if err != nil {
		return err
	}
	if len(changes) == 0 {
		return notify(c, "secrets-changed", "Nothing changed.")
	}
	return notify(c, "secrets-changed", "Access updated.")
}

// shareRefused draws the Share dialog again with the staged rows and the refusal. The refused change
// changed nothing; the rows the browser staged are named again in one read.
func (p *Pages) shareRefused(c echo.Context, staged []views.ShareRow, refusal error, status int) error {
	a := actor(c)
	var refs []string
	for _, r := range staged {
		refs = append(refs, r.Kind+":"+r.ID)
	}
	sec, found, err := p.Store.PrincipalsByRef(c.Request().Context(), a, c.Param("id"), refs)
	if err != nil {
		return err
	}
	props := shareProps(a, sec)
	props.Err = db.ErrorMessage(refusal)
	for _, r := range staged {
		if r.Role == views.ShareRemove && r.Orig == "" {
			continue
		}
		if m, ok := found[r.Kind+":"+r.ID]; ok {
			r.Name, r.Detail = m.Name, m.Detail
		} else {
			r.Name, r.Detail = r.ID, "Not in this organization"
		}
		r.SecretID, r.Editable, r.You = sec.ID, props.Owner, r.Kind == db.PrincipalUser && r.ID == a.UserID
		props.Rows = append(props.Rows, r)
	}
	return render(c, status, views.ShareDialog(props))
}

// stagedRows reads the dialog's rows: principal=KIND:ID with role_KIND:ID and orig_KIND:ID.
func stagedRows(c echo.Context) []views.ShareRow {
	form, _ := c.FormParams()
	var out []views.ShareRow
	seen := map[string]bool{}
	for _, pr := range form["principal"] {
		if seen[pr] {
			continue
		}
		seen[pr] = true
		kind, id, _ := strings.Cut(pr, ":")
		out = append(out, views.ShareRow{Kind: kind, ID: id, Role: form.Get("role_" + pr), Orig: form.Get("orig_" + pr)})
	}
	return out
}

func shareProps(a db.Actor, sec *db.Secret) views.ShareProps {
	return views.ShareProps{SecretID: sec.ID, SecretName: sec.Name, Owner: sec.Access.CanEdit()}
}

func grantDetail(g db.Grant) string {
	if g.Kind == db.PrincipalTeam {
		return g.Description
	}
	return g.Email
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
