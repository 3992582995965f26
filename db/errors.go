package db

import (
	"errors"
	"fmt"
)

// Code classifies a failure a person can act on. The web layer maps each code to an HTTP status.
type Code string

// The error codes Store methods return. Any other error is internal.
const (
	CodeInvalid      Code = "invalid"      // bad input: 400 / dialog message
	CodeUnauthorized Code = "unauthorized" // no valid credentials: 401
	CodeForbidden    Code = "forbidden"    // authenticated but not allowed: 403
	CodeNotFound     Code = "not_found"    // no such object, or not visible to the actor: 404
	CodeConflict     Code = "conflict"     // name taken, last Owner, stale version: 409
	CodeTooLarge     Code = "too_large"    // value over the size limit: 413
	CodeRateLimited  Code = "rate_limited" // too many attempts: 429
	CodeUnavailable  Code = "unavailable"  // the audit trail could not record a read: 503
	CodeStorageFull  Code = "storage_full" // the disk is full, nothing was stored: 507
)

// Error is a failure whose Message is safe to show to the person who caused it. It never carries a
// secret value.
type Error struct {
	Code    Code
	Message string
	// Field names the input a refusal is about (one of the Field… constants), so that a form can show
	// Message under it; "" when it is about no one input.
	Field string
	// RetryAfterSeconds is set with CodeRateLimited.
	RetryAfterSeconds int
	// cause is the failure behind the message, when there is one (a CodeStorageFull's SQLite error).
	cause error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the failure behind the message, or nil.
func (e *Error) Unwrap() error { return e.cause }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// The inputs a refusal can be about (Error.Field). They are the names the portal's forms and the
// API's bodies give them.
const (
	FieldName      = "name" // a secret's or a team's
	FieldValue     = "value"
	FieldEmail     = "email"
	FieldPassword  = "password"
	FieldOrgName   = "org_name"
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
	FieldLabel     = "label"
	FieldExpires   = "expires"
	FieldDesc      = "description"
	FieldMessage   = "message"
)

// fieldErrorf is Errorf about one input.
func fieldErrorf(field string, code Code, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.Field = field
	return e
}

// ErrorField returns the Field of an *Error: the input the refusal is about, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorCode returns the Code of err: an *Error's, CodeUnavailable while the database is out of reach
// (Unreachable), or "" when err is nil or any other error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if Unreachable(err) {
		return CodeUnavailable
	}
	return ""
}

// UnreachableMessage is what a request is told while the database is out of reach.
const UnreachableMessage = "The database cannot be reached: try again shortly."

// ErrorMessage returns the message of an *Error, UnreachableMessage while the database is out of
// reach, or "Internal error." for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if Unreachable(err) {
		return UnreachableMessage
	}
	return "Internal error."
}
