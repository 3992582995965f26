package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

// API serves the JSON Management API under /v1, wire-compatible with SingleStore's Management API
// clients (handlers/openapi.json documents it). web's middleware authenticates the bearer key,
// limits the body and the rate, and checks the Content-Type before a handler runs.
type API struct {
	Store *db.Store
}

// decodeJSON decodes the request body, one JSON object, into dst. It reads through the body limit web
// installed, so an oversized body fails while it is read, and never holds more than that limit. Its
// messages say what is wrong and where, never a value.
func decodeJSON(c echo.Context, dst any) error {
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	// One object and nothing after it but white space.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return jsonError(err)
		}
		return db.Errorf(db.CodeInvalid, "Invalid JSON body: unexpected data after the JSON object.")
	}
	return nil
}

// jsonError turns a decoding failure into a message a person can act on.
func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		big *http.MaxBytesError
	)
	switch {
	case errors.As(err, &big):
		return db.Errorf(db.CodeTooLarge, "The request body is larger than %d bytes: a value may be at most 5 MB (5,242,880 bytes).", big.Limit)
	case errors.Is(err, io.EOF):
		return db.Errorf(db.CodeInvalid, "Invalid JSON body: the body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return db.Errorf(db.CodeInvalid, "Invalid JSON body: it ends before the JSON object is complete.")
	case errors.As(err, &syn):
		return db.Errorf(db.CodeInvalid, "Invalid JSON body: syntax error at byte %d.", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return db.Errorf(db.CodeInvalid, "Invalid JSON body: expected a JSON object, got %s.", withArticle(typ.Value))
		}
		return db.Errorf(db.CodeInvalid, "Invalid JSON body: %q must be %s, not %s.", typ.Field, jsonKind(typ.Type), withArticle(typ.Value))
	}
	// Anything else is the transport failing (a connection closed half-way): there is no body to blame.
	return db.Errorf(db.CodeInvalid, "Invalid JSON body: the body could not be read.")
}

// jsonKind names the JSON kind that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// withArticle turns a JSON kind as encoding/json reports it ("number", "array", "string") into a phrase.
func withArticle(kind string) string {
	kind, _, _ = strings.Cut(kind, " ")
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "true or false"
	}
	return "a " + kind
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
