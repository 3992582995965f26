package db_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func TestValidateSecretName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		ok     bool
		msgHas []string // the message names these (the offending characters, or the limit)
		msgNot []string
	}{
		{name: "empty", in: "", msgHas: []string{"required"}},
		{name: "one letter", in: "A", ok: true},
		{name: "one underscore", in: "_", ok: true},
		{name: "one digit", in: "7", ok: true},
		{name: "mixed", in: "Api_Token_2", ok: true},
		{name: "256 chars", in: strings.Repeat("a", 256), ok: true},
		{name: "257 chars", in: strings.Repeat("a", 257), msgHas: []string{"257", "256"}},
		{name: "space", in: "API TOKEN", msgHas: []string{"spaces"}},
		{name: "leading space", in: " API", msgHas: []string{"spaces"}},
		{name: "dash", in: "API-TOKEN", msgHas: []string{`"-"`}},
		{name: "dot", in: "api.token", msgHas: []string{`"."`}},
		{name: "e acute", in: "café", msgHas: []string{`"é"`}, msgNot: []string{`"c"`, `"a"`, `"f"`}},
		{name: "256 e acute", in: strings.Repeat("é", 256), msgHas: []string{`"é"`}},
		{name: "emoji", in: "KEY_🔑", msgHas: []string{"🔑"}},
		{name: "NUL", in: "A\x00B", msgHas: []string{"U+0000"}},
		{name: "newline", in: "A\nB", msgHas: []string{"U+000A"}},
		{name: "trailing newline", in: "API_TOKEN\n", msgHas: []string{"U+000A"}},
		{name: "tab", in: "A\tB", msgHas: []string{"U+0009"}},
		{name: "invalid UTF-8", in: "A\xffB", msgHas: []string{"invalid UTF-8"}},
		{name: "several, each named once", in: "a-b.c d-e", msgHas: []string{`"-"`, `"."`, "spaces"}},
		{name: "too long and bad chars", in: strings.Repeat("a", 300) + "-", msgHas: []string{`"-"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.ValidateSecretName(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateSecretName(%q) = %v, want ok", tt.in, err)
				}
				return
			}
			wantCode(t, err, db.CodeInvalid)
			msg := db.ErrorMessage(err)
			for _, s := range tt.msgHas {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not mention %q", msg, s)
				}
			}
			for _, s := range tt.msgNot {
				if strings.Contains(msg, s) {
					t.Errorf("message %q mentions allowed %q", msg, s)
				}
			}
			if strings.Count(msg, `"-"`) > 1 {
				t.Errorf("message %q names a character twice", msg)
			}
		})
	}
}

func TestValidateSecretValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want db.Code // "" means valid
	}{
		{"empty", "", db.CodeInvalid},
		{"one byte", "x", ""},
		{"one space", " ", ""},
		{"newline only", "\n", ""},
		{"NUL byte is text", "a\x00b", ""},
		{"emoji", "🔑", ""},
		{"exactly 5 MiB", strings.Repeat("v", 5_242_880), ""},
		{"exactly 5 MiB of two-byte runes", strings.Repeat("é", 5_242_880/2), ""},
		{"one byte over", strings.Repeat("v", 5_242_881), db.CodeTooLarge},
		{"far over", strings.Repeat("v", 6<<20), db.CodeTooLarge},
		{"invalid UTF-8", "abc\xff", db.CodeInvalid},
		{"truncated rune", "é"[:1], db.CodeInvalid},
		{"UTF-16 surrogate as UTF-8", "\xed\xa0\x80", db.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.ValidateSecretValue(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want ok", err)
				}
				return
			}
			wantCode(t, err, tt.want)
			if strings.Contains(db.ErrorMessage(err), tt.in) && tt.in != "" {
				t.Errorf("the message repeats the value")
			}
		})
	}
	if db.MaxValueBytes != 5_242_880 {
		t.Errorf("MaxValueBytes=%d, want 5242880", db.MaxValueBytes)
	}
}

func TestValidateSecret_NameCheckedFirst(t *testing.T) {
	t.Parallel()
	wantCode(t, db.ValidateSecret("bad name", strings.Repeat("v", 6<<20)), db.CodeInvalid)
	wantCode(t, db.ValidateSecret("OK", ""), db.CodeInvalid)
	if err := db.ValidateSecret("OK", "v"); err != nil {
		t.Fatal(err)
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want db.Role
		ok   bool
	}{
		{"owner", db.RoleOwner, true},
		{"Owner", db.RoleOwner, true},
		{"OWNER", db.RoleOwner, true},
		{" reader ", db.RoleReader, true},
		{"Reader", db.RoleReader, true},
		{"", "", false},
		{"admin", "", false},
		{"own", "", false},
		{"readers", "", false},
		{"owner reader", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := db.ParseRole(tt.in)
			if !tt.ok {
				wantCode(t, err, db.CodeInvalid)
				if got != "" {
					t.Errorf("role=%q on error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRole(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRole_Permissions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role       db.Role
		read, edit bool
		title      string
	}{
		{db.RoleOwner, true, true, "Owner"},
		{db.RoleReader, true, false, "Reader"},
		{"", false, false, ""},
		{"admin", false, false, ""},
	}
	for _, tt := range tests {
		if got := tt.role.CanRead(); got != tt.read {
			t.Errorf("%q.CanRead()=%v", tt.role, got)
		}
		if got := tt.role.CanEdit(); got != tt.edit {
			t.Errorf("%q.CanEdit()=%v", tt.role, got)
		}
		if got := tt.role.Title(); got != tt.title {
			t.Errorf("%q.Title()=%q", tt.role, got)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"empty", "", false},
		{"11 chars", "abcdefghijk", false},
		{"12 chars", "abcdefghijkl", true},
		{"11 two-byte runes (22 bytes)", strings.Repeat("é", 11), false},
		{"12 two-byte runes", strings.Repeat("é", 12), true},
		{"12 spaces", strings.Repeat(" ", 12), true},
		{"1024 bytes", strings.Repeat("p", 1024), true},
		{"1025 bytes", strings.Repeat("p", 1025), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.ValidatePassword(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v, want ok", err)
				}
				return
			}
			wantCode(t, err, db.CodeInvalid)
		})
	}
}

// TestRules_ErrorField: each rule's refusal names the input it is about, for the form to show it
// there.
func TestRules_ErrorField(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"empty name", db.ValidateSecretName(""), db.FieldName},
		{"bad name", db.ValidateSecretName("a-b"), db.FieldName},
		{"long name", db.ValidateSecretName(strings.Repeat("A", db.MaxNameLen+1)), db.FieldName},
		{"empty value", db.ValidateSecretValue(""), db.FieldValue},
		{"value not UTF-8", db.ValidateSecretValue("\xff"), db.FieldValue},
		{"value too large", db.ValidateSecretValue(make([]byte, db.MaxValueBytes+1)), db.FieldValue},
		{"bad name before an empty value", db.ValidateSecret("a b", ""), db.FieldName},
		{"short password", db.ValidatePassword("short"), db.FieldPassword},
		{"another error", errors.New("disk on fire"), ""},
	} {
		if got := db.ErrorField(tc.err); got != tc.want {
			t.Errorf("%s: field %q, want %q", tc.name, got, tc.want)
		}
	}
}
