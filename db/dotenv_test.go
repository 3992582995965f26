package db_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// ent is an expected entry: line, name, value, and what ParseDotenv says of it.
type ent struct {
	line       int
	name       string
	value      string
	problem    string
	overridden bool
}

const (
	nameCharset   = `Name may contain only letters, digits and _ (not "-").`
	valueRequired = "Value is required."
)

// dotenvCases are the tricky files: each is parsed and compared entry by entry, value byte for byte.
var dotenvCases = []struct {
	name string
	file string
	want []ent
}{
	{"plain", "KEY=value\n", []ent{{1, "KEY", "value", "", false}}},
	{"no final newline", "A=1\nB=2", []ent{{1, "A", "1", "", false}, {2, "B", "2", "", false}}},
	{"export", "export KEY=value\n", []ent{{1, "KEY", "value", "", false}}},
	{"export with tabs and spaces", "export\t  KEY = v\n", []ent{{1, "KEY", "v", "", false}}},
	{"a name export", "export=1\nexport =2\n", []ent{{1, "export", "1", "", true}, {2, "export", "2", "", false}}},
	{"empty value", "KEY=\n", []ent{{1, "KEY", "", valueRequired, false}}},
	{"empty quoted values", "A=\"\"\nB=''\n", []ent{{1, "A", "", valueRequired, false}, {2, "B", "", valueRequired, false}}},
	{"spaces around =", "KEY = value\n", []ent{{1, "KEY", "value", "", false}}},
	{"spaces around = with quotes", "KEY =  \" v \" \n", []ent{{1, "KEY", " v ", "", false}}},
	{"unquoted trimmed, comment removed", "KEY =   two words   # a comment\n", []ent{{1, "KEY", "two words", "", false}}},
	{"# not after a blank stays", "KEY=a#b\nK2=#x\n", []ent{{1, "KEY", "a#b", "", false}, {2, "K2", "#x", "", false}}},
	{"# after a blank right after =", "KEY= #only a comment\n", []ent{{1, "KEY", "", valueRequired, false}}},
	{"# after a tab", "KEY=v\t#c\n", []ent{{1, "KEY", "v", "", false}}},
	{"= inside values", "URL=postgres://u:p@h/db?sslmode=disable&a==b\n", []ent{{1, "URL", "postgres://u:p@h/db?sslmode=disable&a==b", "", false}}},
	{"single quotes are literal", `K='a\n "b" #c $HOME \\ \'` + "\n",
		[]ent{{1, "K", `a\n "b" #c $HOME \\ \`, "", false}}},
	{"double-quote escapes", `K="a\nb\"c\\d\te\rf"` + "\n", []ent{{1, "K", "a\nb\"c\\d\te\rf", "", false}}},
	{"other escapes kept", `K="C:\Users\x\$HOME"` + "\n", []ent{{1, "K", `C:\Users\x\$HOME`, "", false}}},
	{"escaped backslash before the closing quote", `K="a\\"` + "\n", []ent{{1, "K", `a\`, "", false}}},
	{"multi-line double-quoted", "K=\"-----BEGIN-----\nabc\n-----END-----\"\nNEXT=1\n",
		[]ent{{1, "K", "-----BEGIN-----\nabc\n-----END-----", "", false}, {4, "NEXT", "1", "", false}}},
	{"multi-line single-quoted", "K='one\ntwo'\nNEXT=1\n", []ent{{1, "K", "one\ntwo", "", false}, {3, "NEXT", "1", "", false}}},
	{"quoted then comment", "K=\"v\" # comment\nK2='w'#c\n", []ent{{1, "K", "v", "", false}, {2, "K2", "w", "", false}}},
	{"# inside quotes", "K=\"a #b\"\nK2='a #b'\n", []ent{{1, "K", "a #b", "", false}, {2, "K2", "a #b", "", false}}},
	{"blanks kept inside quotes", "K=\"  v\t \"\n", []ent{{1, "K", "  v\t ", "", false}}},
	{"tabs", "\tK\t=\tvalue\there\t\n", []ent{{1, "K", "value\there", "", false}}},
	{"blank and comment lines", "\n# comment\n   \n\t# indented comment\nK=v\n\n", []ent{{5, "K", "v", "", false}}},
	{"CRLF", "A=1\r\nB=\"x\r\ny\"\r\nC='p\r\nq'\r\n", []ent{{1, "A", "1", "", false}, {2, "B", "x\ny", "", false}, {4, "C", "p\nq", "", false}}},
	{"CR escape survives CRLF", "A=\"x\\r\\ny\"\r\n", []ent{{1, "A", "x\r\ny", "", false}}},
	{"BOM", "\xef\xbb\xbfA=1\n", []ent{{1, "A", "1", "", false}}},
	{"BOM and CRLF", "\xef\xbb\xbf# exported\r\nA=1\r\nB=two words # c\r\n", []ent{{2, "A", "1", "", false}, {3, "B", "two words", "", false}}},
	{"a BOM later is a value's", "A=\xef\xbb\xbfx\n", []ent{{1, "A", "\xef\xbb\xbfx", "", false}}},
	{"lone CR at the end", "A=1\r", []ent{{1, "A", "1", "", false}}},
	{"UTF-8 kept", "K=héllo wörld ✓\n", []ent{{1, "K", "héllo wörld ✓", "", false}}},
	{"duplicates: the later wins", "A=1\nB=2\nA=3\n", []ent{{1, "A", "1", "", true}, {2, "B", "2", "", false}, {3, "A", "3", "", false}}},
	{"name with a dash", "MY-KEY=v\n", []ent{{1, "MY-KEY", "v", nameCharset, false}}},
	{"name with a space", "MY KEY=v\n", []ent{{1, "MY KEY", "v", `Name may contain only letters, digits and _ (not spaces).`, false}}},
	// A leading digit is allowed by keyhold's one name rule (ValidateSecretName), which the import
	// and the API share: no Problem, unlike a shell's variable names.
	{"name with a leading digit", "1KEY=v\n", []ent{{1, "1KEY", "v", "", false}}},
	{"no name", "=v\n", []ent{{1, "", "v", "Name is required.", false}}},
	{"value not UTF-8", "K=\xff\xfe\n", []ent{{1, "K", "\xff\xfe", "Value must be UTF-8 text.", false}}},
	{"value of 5 MiB", "K=" + strings.Repeat("a", db.MaxValueBytes) + "\n", []ent{{1, "K", strings.Repeat("a", db.MaxValueBytes), "", false}}},
	{"value of 5 MiB + 1", "K=\"" + strings.Repeat("a", db.MaxValueBytes+1) + "\"\n",
		[]ent{{1, "K", strings.Repeat("a", db.MaxValueBytes+1), "Value is 5,242,881 bytes; the limit is 5 MiB (5,242,880 bytes).", false}}},
	{"empty file", "", nil},
	{"only a BOM", "\xef\xbb\xbf", nil},
}

func TestDotenv_Parse(t *testing.T) {
	for _, tc := range dotenvCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.ParseDotenv([]byte(tc.file))
			if err != nil {
				t.Fatalf("ParseDotenv: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries, want %d: %s", len(got), len(tc.want), describeEntries(got))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Line != w.line || g.Name != w.name || !bytes.Equal(g.Value, []byte(w.value)) || g.Problem != w.problem || g.Overridden != w.overridden {
					t.Fatalf("entry %d = %s\nwant       {line %d %q=%q problem %q overridden %v}", i, describeEntries(got[i:i+1]),
						w.line, w.name, clipValue(w.value), w.problem, w.overridden)
				}
			}
		})
	}
}

// TestDotenv_ParseErrors: a line that cannot be parsed refuses the whole file, naming the line and
// never a byte of the file.
func TestDotenv_ParseErrors(t *testing.T) {
	const canary = "CANARY7f3a"
	cases := []struct {
		name, file, want string
	}{
		{"unterminated double quote", "A=1\n\nB=\"" + canary + "\nmore\n", "Unterminated quote on line 3"},
		{"unterminated single quote", "A='" + canary, "Unterminated quote on line 1"},
		{"escaped quote, then the end", `A="` + canary + `\"`, "Unterminated quote on line 1"},
		{"backslash at the end", `A="` + canary + `\`, "Unterminated quote on line 1"},
		{"unterminated after CRLF lines", "A=1\r\nB=2\r\nC='" + canary + "\r\n", "Unterminated quote on line 3"},
		{"a line without =", "A=1\n" + canary + "\n", `Line 2 is not NAME=value: it has no "=".`},
		{"export without =", "export " + canary + "\n", `Line 1 is not NAME=value`},
		{"text after the closing quote", "A=\"x\ny\"" + canary + "\n", "Unexpected text after the closing quote on line 2"},
		{"text after a single quote", "A='x' " + canary + "\n", "Unexpected text after the closing quote on line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.ParseDotenv([]byte(tc.file))
			wantCode(t, err, db.CodeInvalid)
			if got != nil {
				t.Fatalf("entries %s beside the error", describeEntries(got))
			}
			msg := db.ErrorMessage(err)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q, want it to contain %q", msg, tc.want)
			}
			if strings.Contains(msg, canary) {
				t.Fatalf("message %q holds the file's text", msg)
			}
		})
	}
}

func TestDotenv_Format(t *testing.T) {
	pairs := []db.NameValue{
		{Name: "PLAIN", Value: []byte("abc-1.2,3:4/5@6+7=8%9_")},
		{Name: "EMPTY", Value: []byte{}},
		{Name: "SPACES", Value: []byte(" two words ")},
		{Name: "HASH", Value: []byte("#x")},
		{Name: "DOLLAR", Value: []byte("$HOME `cmd` \\ \"q\"")},
		{Name: "QUOTE", Value: []byte("it's")},
		{Name: "LINES", Value: []byte("a\r\nb\\n\"")},
		{Name: "UNICODE", Value: []byte("héllo")},
	}
	var b bytes.Buffer
	if err := db.FormatDotenv(&b, pairs); err != nil {
		t.Fatal(err)
	}
	want := `PLAIN=abc-1.2,3:4/5@6+7=8%9_
EMPTY=
SPACES=' two words '
HASH='#x'
DOLLAR='$HOME ` + "`cmd`" + ` \ "q"'
QUOTE="it's"
LINES="a\r\nb\\n\""
UNICODE='héllo'
`
	if b.String() != want {
		t.Fatalf("FormatDotenv wrote\n%s\nwant\n%s", b.String(), want)
	}
	wantRoundTrip(t, pairs)

	// A name that breaks the name rule is refused before anything is written.
	b.Reset()
	err := db.FormatDotenv(&b, []db.NameValue{{Name: "OK", Value: []byte("v")}, {Name: "NOT\nOK", Value: []byte("v")}})
	wantCode(t, err, db.CodeInvalid)
	if !strings.Contains(db.ErrorMessage(err), "Item 2") || b.Len() != 0 {
		t.Fatalf("err %v, wrote %q", err, b.String())
	}
}

// TestDotenv_RoundTripLarge: a value of 5 MiB with every byte that needs escaping reads back as it
// was.
func TestDotenv_RoundTripLarge(t *testing.T) {
	v := bytes.Repeat([]byte("a\"b\\c\nd\re'f#g h\x00"), db.MaxValueBytes/16)
	wantRoundTrip(t, []db.NameValue{{Name: "BIG", Value: v}, {Name: "AFTER", Value: []byte("x")}})
}

// FuzzDotenvRoundTrip: FormatDotenv then ParseDotenv gives back the same pairs, for any bytes at all
// in the values (UTF-8 or not).
func FuzzDotenvRoundTrip(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""}, {"plain", "two words"}, {"a\nb", "c\r\nd"}, {"\r", "\n"}, {`"`, `'`}, {`\`, `\n`},
		{"'\"", `"'\`}, {" #c", "#c"}, {"\xef\xbb\xbf", "\xff"}, {"\t", " "}, {"=", "export A=1"},
		{"x\\", "\\\""}, {"\x00", "$HOME"}, {"a'b\nc", "é\r"},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]), uint8(0))
	}
	names := []string{"A", "export", "KEY_1", "_", "9LIVES", "x"}
	f.Fuzz(func(t *testing.T, a, b []byte, pick uint8) {
		first := names[int(pick)%len(names)]
		second := names[(int(pick)/len(names)+1+int(pick)%len(names))%len(names)]
		if second == first {
			second = "OTHER"
		}
		wantRoundTrip(t, []db.NameValue{{Name: first, Value: a}, {Name: second, Value: b}, {Name: "LAST", Value: []byte("end")}})
	})
}

// FuzzDotenvParse: any file either parses or is refused with a message that holds line numbers and no
// byte of the file; what parses, written out again by FormatDotenv, reads back the same.
func FuzzDotenvParse(f *testing.F) {
	for _, tc := range dotenvCases {
		if len(tc.file) < 1000 {
			f.Add([]byte(tc.file))
		}
	}
	f.Add([]byte("A=\"x\nB='y"))
	f.Add([]byte("A=1\nstray\n"))
	messages := regexp.MustCompile(`^(Unterminated quote on line \d+: the value opened there is never closed\.|` +
		`Line \d+ is not NAME=value: it has no "="\.|` +
		`Unexpected text after the closing quote on line \d+: only a # comment may follow it\.)$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := db.ParseDotenv(data)
		if err != nil {
			if db.ErrorCode(err) != db.CodeInvalid || !messages.MatchString(db.ErrorMessage(err)) {
				t.Fatalf("error %q (%q)", db.ErrorMessage(err), db.ErrorCode(err))
			}
			return
		}
		var pairs []db.NameValue
		for _, e := range entries {
			if e.Line < 1 || e.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("entry %q on line %d", e.Name, e.Line)
			}
			if !e.Overridden && db.ValidateSecretName(e.Name) == nil {
				pairs = append(pairs, db.NameValue{Name: e.Name, Value: e.Value})
			}
		}
		wantRoundTrip(t, pairs)
	})
}

// wantRoundTrip writes pairs with FormatDotenv and checks that ParseDotenv reads them back, in order,
// byte for byte, none overridden.
func wantRoundTrip(t *testing.T, pairs []db.NameValue) {
	t.Helper()
	var b bytes.Buffer
	if err := db.FormatDotenv(&b, pairs); err != nil {
		t.Fatalf("FormatDotenv: %v", err)
	}
	got, err := db.ParseDotenv(b.Bytes())
	if err != nil {
		t.Fatalf("ParseDotenv of what FormatDotenv wrote: %v\n%q", err, clipValue(b.String()))
	}
	if len(got) != len(pairs) {
		t.Fatalf("%d entries back, want %d\n%q", len(got), len(pairs), clipValue(b.String()))
	}
	for i, p := range pairs {
		if got[i].Name != p.Name || !bytes.Equal(got[i].Value, p.Value) || got[i].Overridden {
			t.Fatalf("pair %d: %q=%q back as %q=%q (overridden %v)\nfile %q", i, p.Name, clipValue(string(p.Value)),
				got[i].Name, clipValue(string(got[i].Value)), got[i].Overridden, clipValue(b.String()))
		}
	}
}

func describeEntries(es []db.DotenvEntry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "{line %d %q=%q problem %q overridden %v} ", e.Line, e.Name, clipValue(string(e.Value)), e.Problem, e.Overridden)
	}
	return b.String()
}

func clipValue(v string) string {
	if len(v) > 80 {
		return v[:80] + fmt.Sprintf("…(%d bytes)", len(v))
	}
	return v
}
