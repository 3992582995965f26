package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/handlers/jsonbody"
)

// API serves the JSON Management API under /v1, wire-compatible with SingleStore's Management API
// clients (handlers/openapi.json documents it). web's middleware authenticates the bearer key,
// limits the body and the rate, and checks the Content-Type before a handler runs.
type API struct {
	Store *db.Store
	// PublicURL is where people reach keyhold, for the invitation links the API hands out; empty: the
	// address of the request.
	PublicURL string
}

// link makes path (such as /invite/TOKEN) an absolute URL for people, as the portal's links are.
func (a *API) link(c echo.Context, path string) string {
	if a.PublicURL != "" {
		return strings.TrimSuffix(a.PublicURL, "/") + path
	}
	return c.Scheme() + "://" + c.Request().Host + path
}

// decodeJSON decodes the request body, one JSON object, into dst with encoding/json (jsonbody.Decode).
// It reads through the body limit web installed, so an oversized body fails while it is read, and
// never holds more than that limit. Its messages say what is wrong and where, never a value.
func decodeJSON(c echo.Context, dst any) error {
	return jsonbody.Decode(c.Request().Body, dst)
}

// required returns *p, or missing(field).
func required(field string, p *string) (string, error) {
	if p == nil {
		return "", missing(field)
	}
	return *p, nil
}

// missing is CodeInvalid naming a required string field the body lacks.
func missing(field string) error {
	return db.Errorf(db.CodeInvalid, "%q is required: send it as a JSON string.", field)
}

// pathID returns the named path parameter as an ID: IDs are lower-case UUIDs, so upper-case input is
// accepted too. Anything that is not an ID matches nothing and db answers 404.
func pathID(c echo.Context, name string) string {
	return strings.ToLower(strings.TrimSpace(c.Param(name)))
}

// sendJSON answers 200 with v as JSON: compatible clients decode only the exact success status.
func sendJSON(c echo.Context, v any) error {
	return c.JSON(http.StatusOK, v)
}

// lowerAll lower-cases IDs, which are lower-case UUIDs.
func lowerAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.ToLower(strings.TrimSpace(id))
	}
	return out
}
