package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDoc is the OpenAPI 3.0 description of the Management API: every path, method, body, response
// and error. web's tests keep it in step with the route table and with what the handlers emit.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI handles GET /v1/openapi.json, served without a key so that tools can read it.
func (a *API) OpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc)
}
