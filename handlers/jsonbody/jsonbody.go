// Package jsonbody decodes the JSON bodies of API requests for handlers. Every failure is a db.Error,
// CodeInvalid or CodeTooLarge, whose message says what is wrong and where, and never repeats a byte
// of a value.
//
// Decode is encoding/json, for the small bodies. DecodeSecret is for the bodies that carry a secret's
// value (create and update, up to 5 MB): a streaming decoder that unescapes the value straight from a
// small read buffer into the one buffer db then seals in place, where encoding/json would hold the
// body, a copy of it and the unquoted string. What DecodeSecret guarantees, each pinned by the test
// named after it:
//
//   - It answers as Decode into {"name", "value"} *string fields would, the same name and value byte
//     for byte and the same error code and message (syntax errors at the same byte), but for the two
//     refusals below (FuzzSecretBody compares them on any body, read in any pieces, under a body
//     limit; TestSecretBody).
//   - The value is byte-exact: a value that is not UTF-8 text (a byte that is not UTF-8, or the \u
//     escape of a surrogate that is not half of a pair) is refused with CodeInvalid, naming where in
//     the body. encoding/json would store U+FFFD in its place: a credential other than the one sent
//     (TestSecretBody_NotText).
//   - A value over the limit is refused with CodeTooLarge as soon as it crosses the limit, having read
//     at most one read buffer more; encoding/json would read the whole body first
//     (TestSecretBody_StopsAtLimit).
//   - Both refusals come at once, so they stand even when a later duplicate "value" key would have
//     replaced the value, or the body turns out to be malformed further on
//     (TestSecretBody_DuplicateOverLimit, TestSecretBody_NotText).
//   - The value lands in one buffer, sized from the body's declared length when there is one (at first
//     at most 1 MiB of it, so a client that declares 5 MB and stalls holds 1 MiB), with room for db
//     to seal it in place; no other part of the body is kept (TestSecretBody_Memory). No copy of the
//     body outlives the call: the pooled read buffer, and what is left of a replaced value in the
//     returned one, are cleared (TestSecretBody_LeavesNoCopy), and so is a refused value.
//
// One more difference from encoding/json: a reader that returns no data and no error 100 times in a
// row fails as unreadable (io.ErrNoProgress) rather than being called for ever.
package jsonbody

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/keyhold/keyhold/db"
)

// Decode decodes r, one JSON object and nothing after it but white space, into dst with encoding/json.
// r is the request body read through web's body limit, so an oversized body fails while it is read,
// and never more than that limit is held.
func Decode(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
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
		return db.BodyOverLimit(big.Limit)
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
