package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

// The invitations of the Management API: the portal's invitation model (db/invitations.go), the same
// states, expiry and single use, with the teams joined on acceptance. keyhold sends no email: the
// answer to a new invitation carries its link once, for the caller to hand over. No call sets a
// password.

// invitationStates spells the states as the API does.
var invitationStates = map[db.InvitationState]string{
	db.InvitationPending:  "Pending",
	db.InvitationAccepted: "Accepted",
	db.InvitationRefused:  "Refused",
	db.InvitationRevoked:  "Revoked",
}

func newInvitationJSON(inv *db.Invitation) invitationJSON {
	out := invitationJSON{InvitationID: inv.ID, Email: inv.Email, State: invitationStates[inv.State], TeamIDs: []string{},
		Message: inv.Message, CreatedAt: apiTime(inv.CreatedAt), ActedAt: apiTime(inv.ActedAt), ExpiresAt: apiTime(inv.ExpiresAt)}
	for _, t := range inv.Teams {
		out.TeamIDs = append(out.TeamIDs, t.ID)
	}
	return out
}

// InvitationList handles GET /v1/invitations, admins only: ?email= (a value or a regular expression)
// and ?state= (Pending, Accepted, Refused, Revoked) filter, ?fields= trims.
func (a *API) InvitationList(c echo.Context) error {
	email, err := db.ParseTextMatch("email", c.QueryParam("email"))
	if err != nil {
		return err
	}
	f := db.InvitationFilter{EmailMatch: email}
	if st := c.QueryParam("state"); st != "" {
		for k, v := range invitationStates {
			if strings.EqualFold(st, v) {
				f.State = k
			}
		}
		if f.State == "" {
			return db.Errorf(db.CodeInvalid, "Unknown state %q: use Pending, Accepted, Refused or Revoked.", st)
		}
	}
	invs, err := a.Store.ListInvitations(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := []invitationJSON{}
	for i := range invs {
		out = append(out, newInvitationJSON(&invs[i]))
	}
	return sendFields(c, out)
}

// InvitationCreate handles POST /v1/invitations, admins only: a Pending invitation whose person joins
// teamIDs on accepting it. The answer carries the link, once.
func (a *API) InvitationCreate(c echo.Context) error {
	var in createInvitationRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	return a.invite(c, in)
}

func (a *API) invite(c echo.Context, in createInvitationRequest) error {
	email, err := required("email", in.Email)
	if err != nil {
		return err
	}
	token, inv, err := a.Store.CreateInvitation(c.Request().Context(), actor(c),
		db.NewInvitation{Email: email, TeamIDs: lowerAll(in.TeamIDs), Message: in.Message})
	if err != nil {
		return err
	}
	out := newInvitationJSON(inv)
	out.Link = a.link(c, "/invite/"+token)
	return sendJSON(c, out)
}

// InvitationGet handles GET /v1/invitations/{invitationID}, admins only.
func (a *API) InvitationGet(c echo.Context) error {
	inv, err := a.Store.InvitationByID(c.Request().Context(), actor(c), pathID(c, "invitationID"))
	if err != nil {
		return err
	}
	return sendJSON(c, newInvitationJSON(inv))
}

// InvitationRevoke handles DELETE /v1/invitations/{invitationID}, admins only: a Pending invitation
// becomes Revoked and its link stops working; any other state is 409.
func (a *API) InvitationRevoke(c echo.Context) error {
	inv, err := a.Store.RevokeInvitation(c.Request().Context(), actor(c), pathID(c, "invitationID"))
	if err != nil {
		return err
	}
	return sendJSON(c, invitationIDJSON{InvitationID: inv.ID})
}

// UserAdd handles POST /v1/users, admins only: a person joins the organization by accepting an
// invitation, so this makes one (the answer is the invitation, with its link); a person who already
// belongs (db's CodeConflict) is answered as the User. No password is ever set here.
func (a *API) UserAdd(c echo.Context) error {
	var in createInvitationRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	err := a.invite(c, in)
	if db.ErrorCode(err) != db.CodeConflict {
		return err
	}
	m, merr := a.Store.MemberByEmail(c.Request().Context(), actor(c), *in.Email)
	if merr != nil {
		return err
	}
	return sendJSON(c, newUserJSON(m.User))
}
