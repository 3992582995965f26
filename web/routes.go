package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/keyhold/keyhold/handlers"
	"github.com/keyhold/keyhold/static"
)

// portalBodyLimit admits a 5 MB value form-encoded (up to 3 bytes per byte) plus the other fields.
const portalBodyLimit = "16M"

// routes is the one route table.
func routes(e *echo.Echo, m *middlewares, p *handlers.Pages) {
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
	e.Use(securityHeaders)

	e.GET("/healthz", func(c echo.Context) error {
		if err := m.store.Ping(c.Request().Context()); err != nil {
			return err
		}
		return c.String(http.StatusOK, "ok\n")
	})
	e.StaticFS("/static", static.FS)

	csrf := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		ContextKey:     handlers.CSRFKey,
		CookieName:     "kh_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   m.cfg.SecureCookies,
		CookieSameSite: http.SameSiteStrictMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "The form has expired or did not come from keyhold: reload the page and try again.")
		},
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/v1/") },
	})
	limit := middleware.BodyLimit(portalBodyLimit)

	public := e.Group("", limit, csrf, m.loadUser)
	public.GET("/", p.Home)
	public.GET("/setup", p.SetupPage)
	public.POST("/setup", p.Setup)
	public.GET("/login", p.LoginPage)
	public.POST("/login", p.Login)

	portal := e.Group("", limit, csrf, m.loadUser, requireLogin)
	portal.POST("/logout", p.Logout)
	portal.POST("/org/switch", p.OrgSwitch)
	portal.GET("/secrets", p.SecretsPage)
	portal.GET("/secrets/new", p.SecretNew)
	portal.POST("/secrets", p.SecretCreate)
	portal.GET("/secrets/:id/edit", p.SecretEdit)
	portal.GET("/secrets/:id/value", p.SecretReveal)
	portal.PUT("/secrets/:id", p.SecretUpdate)
	portal.GET("/secrets/:id/delete", p.SecretDeleteConfirm)
	portal.DELETE("/secrets/:id", p.SecretDelete)
}
