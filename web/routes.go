package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/keyhold/keyhold/handlers"
)

// routes is the one route table.
func routes(e *echo.Echo, m *middlewares, p *handlers.Pages, api *handlers.API) {
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
	e.Use(securityHeaders)

	// Liveness (the container's HEALTHCHECK): 200 while the process serves, the body says whether
	// all is well. Readiness (a load balancer): 503 while changes cannot be written.
	e.GET("/healthz", func(c echo.Context) error {
		if h := m.store.Health(c.Request().Context()); !h.Ready {
			return c.String(http.StatusOK, "degraded: "+h.Reason+"\n")
		}
		return c.String(http.StatusOK, "ok\n")
	})
	e.GET("/readyz", func(c echo.Context) error {
		if h := m.store.Health(c.Request().Context()); !h.Ready {
			return c.String(http.StatusServiceUnavailable, "not ready: "+h.Reason+"\n")
		}
		return c.String(http.StatusOK, "ready\n")
	})
	e.Match([]string{http.MethodGet, http.MethodHead}, "/static/*", staticAsset)

	// A visitor who is not signed in may only send small forms; the signed-in portal sends small
	// forms too, but for a secret's value (a large body, read only once the session and the CSRF
	// token in the header are checked, and within the memory budget for bodies).
	public := e.Group("", formBody(publicBodyLimit), m.loadUser, m.csrf(true))
	public.GET("/", p.Home)
	public.GET("/setup", p.SetupPage)
	pace := m.attempts.pace // the routes that check or set a password
	public.POST("/setup", p.Setup, pace)
	public.GET("/login", p.LoginPage)
	public.POST("/login", p.Login, pace)
	public.GET("/invite/:token", p.InvitePage)
	public.POST("/invite/:token", p.InviteSignUp, pace)
	public.POST("/invite/:token/accept", p.InviteAccept, pace)
	public.POST("/invite/:token/refuse", p.InviteRefuse)
	public.GET("/reset/:token", p.ResetPage)
	public.POST("/reset/:token", p.Reset, pace)

	portal := e.Group("", formBody(portalSmallBodyLimit), m.loadUser, requireLogin, m.csrf(true))
	value := []echo.MiddlewareFunc{m.loadUser, requireLogin, m.csrf(false),
		m.bodies.reserve(formCost(portalBodyLimit)), formBody(portalBodyLimit)}
	portal.POST("/logout", p.Logout)
	portal.POST("/org/switch", p.OrgSwitch)
	portal.GET("/secrets", p.SecretsPage)
	portal.GET("/secrets/new", p.SecretNew)
	e.POST("/secrets", p.SecretCreate, value...)
	portal.GET("/secrets/:id/edit", p.SecretEdit)
	portal.POST("/secrets/:id/reveal", p.SecretReveal) // a POST: revealing is recorded in the audit trail
	portal.GET("/secrets/:id/masked", p.SecretValueHidden)
	portal.POST("/secrets/:id/download", p.SecretDownload)
	e.PUT("/secrets/:id", p.SecretUpdate, value...)
	e.POST("/secrets/:id/latest", p.SecretLatest, value...) // Load latest carries the typed value
	portal.GET("/secrets/:id/delete", p.SecretDeleteConfirm)
	portal.DELETE("/secrets/:id", p.SecretDelete)
	// Import: a pasted .env file may hold several 5 MB values, so it is capped as the API's import is
	// (about 30 MiB) and, like a value, read only once the session and the header's token are checked.
	portal.GET("/secrets/import", p.SecretImportDialog)
	e.POST("/secrets/import", p.SecretImport, m.loadUser, requireLogin, m.csrf(false),
		m.bodies.reserve(formCost(apiBodyLimit)), formBody(apiBodyLimit))

	// Sharing: members, invitations, teams, share dialog.
	portal.GET("/members", p.MembersPage)
	portal.GET("/members/invite", p.InviteNew)
	portal.POST("/invitations", p.InviteCreate)
	portal.GET("/invitations/:id/revoke", p.InviteRevokeConfirm)
	portal.DELETE("/invitations/:id", p.InviteRevoke)
	portal.POST("/members/:id/role", p.MemberRole)
	portal.GET("/members/:id/remove", p.MemberRemoveConfirm)
	portal.DELETE("/members/:id", p.MemberRemove)
	portal.GET("/teams", p.TeamsPage)
	portal.GET("/teams/new", p.TeamNew)
	portal.POST("/teams", p.TeamCreate)
	portal.GET("/teams/:id/edit", p.TeamEdit)
	portal.PUT("/teams/:id", p.TeamUpdate)
	portal.GET("/teams/:id/members", p.TeamMembers)
	portal.POST("/teams/:id/members", p.TeamMemberAdd)
	portal.GET("/teams/:id/members/:user/remove", p.TeamMemberRemoveConfirm)
	portal.DELETE("/teams/:id/members/:user", p.TeamMemberRemove)
	portal.GET("/teams/:id/delete", p.TeamDeleteConfirm)
	portal.DELETE("/teams/:id", p.TeamDelete)
	portal.GET("/secrets/:id/share", p.ShareDialog)
	portal.GET("/secrets/:id/share/search", p.ShareSearch)
	portal.GET("/secrets/:id/share/row", p.ShareRow)
	portal.POST("/secrets/:id/share", p.ShareSave)

	// API keys, audit log, activity.
	portal.GET("/apikeys", p.APIKeysPage)
	portal.GET("/apikeys/new", p.APIKeyNew)
	portal.POST("/apikeys", p.APIKeyCreate)
	portal.GET("/apikeys/:id/revoke", p.APIKeyRevokeConfirm)
	portal.DELETE("/apikeys/:id", p.APIKeyRevoke)
	portal.GET("/audit", p.AuditPage)
	portal.GET("/secrets/:id/activity", p.SecretActivityDialog)
	portal.GET("/secrets/:id/history", p.SecretHistory)
	portal.POST("/secrets/:id/versions/:n/reveal", p.SecretVersionReveal) // a POST: revealing is recorded
	portal.GET("/secrets/:id/versions/:n/hidden", p.SecretVersionHidden)
	portal.POST("/secrets/:id/versions/:n/restore", p.SecretVersionRestore)
	portal.GET("/secrets/trash", p.TrashPage)
	portal.POST("/secrets/trash/:id/restore", p.TrashRestore)
	portal.GET("/secrets/trash/:id/destroy", p.TrashDestroyConfirm)
	portal.DELETE("/secrets/trash/:id", p.TrashDestroy)

	// Account security.
	portal.GET("/account", p.AccountPage)
	portal.POST("/account/password", p.PasswordChange, pace)
	portal.POST("/account/sign-out-everywhere", p.SignOutEverywhere)

	// The JSON Management API: a bearer API key on every request; no cookies, no CSRF token.
	e.GET("/v1/openapi.json", api.OpenAPI) // no key: tools read it
	am := newAPIMiddleware(m.store, m.cfg)
	// Every route caps its body: a secret's create and update at apiBodyLimit, within the memory
	// budget for large bodies; every other at apiSmallBodyLimit, so that its 413 names its own limit.
	v1 := e.Group("/v1", am.authenticate, am.rateLimit, am.jsonType)
	small, secretBody := capBody(apiSmallBodyLimit), []echo.MiddlewareFunc{capBody(apiBodyLimit), m.bodies.reserve(apiSecretCost)}
	v1.GET("/organizations/current", api.OrgCurrent, small)
	v1.GET("/secrets", api.SecretList, small)
	v1.POST("/secrets", api.SecretCreate, secretBody...)
	v1.POST("/secrets/import", api.SecretImport, capBody(apiBodyLimit), m.bodies.reserve(formCost(apiBodyLimit))) // decoded whole: twice its bytes held
	v1.GET("/secrets/:secretID", api.SecretGet, small)
	v1.PATCH("/secrets/:secretID", api.SecretUpdate, secretBody...)
	v1.DELETE("/secrets/:secretID", api.SecretDelete, small)
	v1.GET("/secrets/:secretID/accessControls", api.SecretAccessList, small)
	v1.PATCH("/secrets/:secretID/accessControls", api.SecretAccessChange, small)
	v1.GET("/secrets/:secretID/versions", api.SecretVersions, small)
	v1.POST("/secrets/:secretID/versions/:version/restore", api.SecretVersionRestore, small)
	v1.GET("/trash", api.TrashList, small)
	v1.POST("/trash/:secretID/restore", api.TrashRestore, small)
	v1.DELETE("/trash/:secretID", api.TrashDestroy, small)
	v1.GET("/organizations/:organizationID/accessControls", api.OrgAccessList, small)
	v1.PATCH("/organizations/:organizationID/accessControls", api.OrgAccessChange, small)
	v1.GET("/users", api.UserList, small)
	v1.POST("/users", api.UserAdd, small)
	v1.GET("/users/current", api.UserCurrent, small)
	v1.GET("/users/:userID", api.UserGet, small)
	v1.DELETE("/users/:userID", api.UserRemove, small)
	v1.GET("/users/:userID/identityRoles", api.UserIdentityRoles, small)
	v1.GET("/invitations", api.InvitationList, small)
	v1.POST("/invitations", api.InvitationCreate, small)
	v1.GET("/invitations/:invitationID", api.InvitationGet, small)
	v1.DELETE("/invitations/:invitationID", api.InvitationRevoke, small)
	v1.GET("/teams", api.TeamList, small)
	v1.POST("/teams", api.TeamCreate, small)
	v1.GET("/teams/:teamID", api.TeamGet, small)
	v1.PATCH("/teams/:teamID", api.TeamUpdate, small)
	v1.DELETE("/teams/:teamID", api.TeamDelete, small)
	v1.GET("/teams/:teamID/identityRoles", api.TeamIdentityRoles, small)
	v1.GET("/teams/:teamID/accessControls", api.TeamAccessList, small)
	v1.PATCH("/teams/:teamID/accessControls", api.TeamAccessChange, small)
	methodNotAllowed(e, v1, "/v1")
}

// methodNotAllowed answers, on every path of the group (prefix), the methods it does not route with
// 405 and an Allow header naming those it does, rather than the group's catch-all 404.
func methodNotAllowed(e *echo.Echo, g *echo.Group, prefix string) {
	allowed := map[string][]string{}
	var paths []string
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, prefix+"/") || r.Method == echo.RouteNotFound {
			continue
		}
		if _, ok := allowed[r.Path]; !ok {
			paths = append(paths, r.Path)
		}
		allowed[r.Path] = append(allowed[r.Path], r.Method)
	}
	all := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	for _, p := range paths {
		methods := allowed[p]
		slices.Sort(methods)
		var others []string
		for _, m := range all {
			if !slices.Contains(methods, m) {
				others = append(others, m)
			}
		}
		allow := strings.Join(methods, ", ")
		g.Match(others, strings.TrimPrefix(p, prefix), func(c echo.Context) error {
			c.Response().Header().Set("Allow", allow)
			return echo.NewHTTPError(http.StatusMethodNotAllowed, "This path does not answer "+c.Request().Method+": use "+allow+".")
		})
	}
}
