package db

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what a secret may hold.
const (
	MaxNameLen     = 256
	MaxValueBytes  = 5 << 20 // 5 MiB = 5,242,880 bytes
	MinPasswordLen = 12
	maxTextLen     = 256 // organization, team, user names and labels
	maxDescLen     = 1024
)

// Role is a principal's access to a secret.
type Role string

// The two roles. The zero Role means no access.
const (
	RoleOwner  Role = "owner"
	RoleReader Role = "reader"
)

// ParseRole accepts "Owner"/"Reader" in any case.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "owner":
		return RoleOwner, nil
	case "reader":
		return RoleReader, nil
	}
	return "", Errorf(CodeInvalid, "Unknown role %q: use Owner or Reader.", s)
}

// Title is the role as the portal and the API spell it: "Owner" or "Reader".
func (r Role) Title() string {
	switch r {
	case RoleOwner:
		return "Owner"
	case RoleReader:
		return "Reader"
	}
	return ""
}

// CanRead reports whether the role may see the secret and its value.
func (r Role) CanRead() bool { return r == RoleOwner || r == RoleReader }

// CanEdit reports whether the role may change the value, share and delete the secret.
func (r Role) CanEdit() bool { return r == RoleOwner }

func roleFromRank(n int) Role {
	switch n {
	case 2:
		return RoleOwner
	case 1:
		return RoleReader
	}
	return ""
}

// OrgRole is a user's role in an organization.
type OrgRole string

// Organization roles.
const (
	OrgAdmin  OrgRole = "admin"
	OrgMember OrgRole = "member"
)

// ValidateSecretName checks the name rule: 1–256 characters of A–Z, a–z, 0–9 and _.
func ValidateSecretName(name string) error {
	if name == "" {
		return fieldErrorf(FieldName, CodeInvalid, "Name is required.")
	}
	var bad []string
	seen := map[rune]bool{}
	n := 0
	for _, r := range name {
		n++
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			continue
		}
		if !seen[r] && len(bad) < 5 {
			seen[r] = true
			bad = append(bad, describeRune(r))
		}
	}
	if len(bad) > 0 {
		return fieldErrorf(FieldName, CodeInvalid, "Name may contain only letters, digits and _ (not %s).", strings.Join(bad, ", "))
	}
	if n > MaxNameLen {
		return fieldErrorf(FieldName, CodeInvalid, "Name is %d characters long; the limit is %d.", n, MaxNameLen)
	}
	return nil
}

func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "spaces"
	case r == utf8.RuneError:
		return "invalid UTF-8"
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf("control character U+%04X", r)
	}
	return fmt.Sprintf("%q", string(r))
}

// ValidateSecretValue checks the value rule: non-empty UTF-8 text of at most 5 MiB.
func ValidateSecretValue[V string | []byte](value V) error {
	if len(value) > MaxValueBytes {
		return fieldErrorf(FieldValue, CodeTooLarge, "Value is %s bytes; the limit is %s.", commas(len(value)), sizeLimit(MaxValueBytes))
	}
	if len(value) == 0 {
		return fieldErrorf(FieldValue, CodeInvalid, "Value is required.")
	}
	var valid bool
	switch v := any(value).(type) {
	case string:
		valid = utf8.ValidString(v)
	case []byte:
		valid = utf8.Valid(v)
	}
	if !valid {
		return fieldErrorf(FieldValue, CodeInvalid, "Value must be UTF-8 text.")
	}
	return nil
}

// ValidateSecret checks a name and a value together.
func ValidateSecret[V string | []byte](name string, value V) error {
	if err := ValidateSecretName(name); err != nil {
		return err
	}
	return ValidateSecretValue(value)
}

// ValueOverLimit is CodeTooLarge for a value known only to be longer than limit bytes: a streamed
// body refused the moment its value crosses the limit, before the rest is read.
func ValueOverLimit(limit int) error {
	return Errorf(CodeTooLarge, "Value is larger than the limit of %s.", sizeLimit(limit))
}

// BodyOverLimit is CodeTooLarge for a request body longer than the limit its route allows. A route
// whose limit leaves room for a secret's value (with its encoding) says the value limit too; the small
// routes (sign-in, settings, sharing) say only their own.
func BodyOverLimit(limit int64) error {
	if limit > MaxValueBytes {
		return Errorf(CodeTooLarge, "The request body is too large: a value may be at most %s.", sizeLimit(MaxValueBytes))
	}
	return Errorf(CodeTooLarge, "The request body is too large: this request takes at most %d bytes.", limit)
}

// sizeLimit spells a size limit: "5 MB (5,242,880 bytes)", "64 bytes", "1 byte".
func sizeLimit(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB (%s bytes)", n>>20, commas(n))
	case n == 1:
		return "1 byte"
	}
	return commas(n) + " bytes"
}

// commas formats n with thousands separators: 5242881 → "5,242,881".
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// normalizeEmail validates an email address and returns it trimmed, with its lower-case key.
func normalizeEmail(email string) (string, string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", "", fieldErrorf(FieldEmail, CodeInvalid, "Email is required.")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return "", "", fieldErrorf(FieldEmail, CodeInvalid, "%q is not a valid email address.", email)
	}
	return email, emailKeyOf(email), nil
}

// emailKeyOf is the key an email is matched by: two addresses are one account's when their keys are
// equal, and by no looser comparison (strings.EqualFold folds ſ into s; ToLower does not).
func emailKeyOf(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// cleanText trims s and checks it is valid, printable and not too long; what names the input field
// (a Field… constant) to people.
func cleanText(field, what, s string, required bool, limit int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", fieldErrorf(field, CodeInvalid, "%s is required.", what)
	}
	if !utf8.ValidString(s) {
		return "", fieldErrorf(field, CodeInvalid, "%s must be UTF-8 text.", what)
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return "", fieldErrorf(field, CodeInvalid, "%s is %d characters long; the limit is %d.", what, n, limit)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return "", fieldErrorf(field, CodeInvalid, "%s must not contain control characters.", what)
		}
	}
	return s, nil
}

// ValidatePassword checks the password policy.
func ValidatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return fieldErrorf(FieldPassword, CodeInvalid, "Password must be at least %d characters long.", MinPasswordLen)
	}
	if len(pw) > 1024 {
		return fieldErrorf(FieldPassword, CodeInvalid, "Password is too long (at most 1024 bytes).")
	}
	return nil
}
