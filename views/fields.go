package views

import (
	"strconv"

	"github.com/a-h/templ"
)

// A form drawn again after a refusal shows the message under the input it is about (its ErrField,
// the input's name) rather than over the form: the input is marked invalid (aria-invalid, drawn red)
// and gets the focus, and the message is #ID-error under it. An error about no one input (ErrField
// empty) stays in the box over the form. app.js draws the browser's own refusals (a required field
// left empty, a name that breaks the pattern, a short password, a confirmation that differs) the same
// way, with the messages of the inputs' data-msg-* attributes.

// errAt is msg when the form's error is about the input named field, else "".
func errAt(msg, errField, field string) string {
	if errField != field {
		return ""
	}
	return msg
}

// formErr is msg when the form's error is about no one input, else "".
func formErr(msg, errField string) string {
	if errField != "" {
		return ""
	}
	return msg
}

// invalid marks the input with this id as the one the form's error is about, when bad.
func invalid(bad bool, id string) templ.Attributes {
	if !bad {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-errormessage": id + "-error"}
}

// Messages of the browser's own checks, put in data-msg-* attributes for app.js.
const (
	msgSecretName      = "Name may contain only letters, digits and _."
	msgPasswordsDiffer = "The two passwords do not match."
)

// passwordTooShort is the message of a password under minLen characters: db's own.
func passwordTooShort(minLen int) string {
	return "Password must be at least " + strconv.Itoa(minLen) + " characters long."
}
