package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/keyhold/keyhold/db"
)

// createSecretRequest and updateSecretRequest are the create and update bodies as encoding/json would
// decode them: the reference DecodeSecret must agree with.
type createSecretRequest struct {
	Name  *string `json:"name"`
	Value *string `json:"value"`
}

type updateSecretRequest struct {
	Value *string `json:"value"`
}

// refDecode decodes the body r serves with Decode into createSecretRequest (withName) or
// updateSecretRequest.
func refDecode(r io.Reader, withName bool) (name, value *string, err error) {
	if withName {
		var in createSecretRequest
		err = Decode(r, &in)
		return in.Name, in.Value, err
	}
	var in updateSecretRequest
	err = Decode(r, &in)
	return nil, in.Value, err
}

// limitMessage is DecodeSecret's message for a value over maxValue.
func limitMessage(maxValue int) string {
	return db.ErrorMessage(db.ValueOverLimit(maxValue))
}

// checkSecretBody decodes body with DecodeSecret and with Decode, each reading it through
// wrap, and fails t on any difference but the ones DecodeSecret documents: a value over maxValue,
// and a value that is not UTF-8 text, are refused at once (where Decode would put U+FFFD in the
// latter's place). It returns DecodeSecret's result.
func checkSecretBody(t testing.TB, body []byte, withName bool, maxValue int, hint int64, wrap func(io.Reader) io.Reader) (Secret, error) {
	t.Helper()
	refName, refValue, refErr := refDecode(wrap(bytes.NewReader(body)), withName)
	got, err := DecodeSecret(wrap(bytes.NewReader(body)), hint, withName, maxValue)
	if err == nil && got.Value != nil {
		if spare := cap(got.Value) - len(got.Value); spare < db.SealOverhead {
			t.Fatalf("cap(Value)-len(Value)=%d, want >= %d", spare, db.SealOverhead)
		}
		if cap(got.Value) > maxValue+db.SealOverhead {
			t.Fatalf("cap(Value)=%d, want <= %d", cap(got.Value), maxValue+db.SealOverhead)
		}
	}
	refOver := refErr == nil && refValue != nil && len(*refValue) > maxValue
	if db.ErrorCode(err) == db.CodeTooLarge && db.ErrorMessage(err) == limitMessage(maxValue) {
		if refErr == nil && !refOver && !someValueOver(body, maxValue) {
			t.Fatalf("got %q; Decode decoded a value of %d bytes without error", err, len(*refValue))
		}
		return got, err
	}
	if m := notTextRE.FindStringSubmatch(db.ErrorMessage(err)); m != nil && db.ErrorCode(err) == db.CodeInvalid {
		checkNotText(t, body, m)
		return got, err
	}
	if at := firstNotText(body); at > 0 {
		// Only the body limit may stop the reading before the bytes that tell (at most 12) are in.
		var limit int64
		fmt.Sscanf(db.ErrorMessage(err), "The request body is too large: this request takes at most %d bytes", &limit)
		if db.ErrorCode(err) != db.CodeTooLarge || int64(at)+11 <= limit {
			t.Fatalf("got a value of %d bytes, error %v; want the refusal of a value that is not UTF-8 text at byte %d", len(got.Value), err, at)
		}
	}
	if refOver {
		t.Fatalf("got (%v, %v), want the limit error: Decode decoded a value of %d bytes", got, err, len(*refValue))
	}
	if (err == nil) != (refErr == nil) || db.ErrorCode(err) != db.ErrorCode(refErr) || err != nil && err.Error() != refErr.Error() {
		t.Fatalf("error %q (%s), Decode's %q (%s)", err, db.ErrorCode(err), refErr, db.ErrorCode(refErr))
	}
	if err != nil {
		return got, err
	}
	if (got.Name == nil) != (refName == nil) || got.Name != nil && *got.Name != *refName {
		t.Fatalf("Name=%s, Decode's %s", show(got.Name), show(refName))
	}
	if (got.Value == nil) != (refValue == nil) || got.Value != nil && string(got.Value) != *refValue {
		t.Fatalf("Value=%q (nil %t), Decode's %s", got.Value, got.Value == nil, show(refValue))
	}
	return got, err
}

func show(p *string) string {
	if p == nil {
		return "nil"
	}
	return strings.ReplaceAll(string(mustJSON(*p)), "%", "%%")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// someValueOver reports whether a well-formed body has a "value" member, not necessarily the last,
// whose string is longer than maxValue.
func someValueOver(body []byte, maxValue int) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return false
		}
		var s string
		if k, _ := key.(string); strings.EqualFold(k, "value") && json.Unmarshal(raw, &s) == nil && len(s) > maxValue {
			return true
		}
	}
	return false
}

// notTextRE parses DecodeSecret's refusal of a value that is not UTF-8 text: what it found (the
// escape of a lone surrogate, or nothing for a byte that is not UTF-8) and where.
var notTextRE = regexp.MustCompile(`^The value is not valid UTF-8 text \((?:invalid UTF-8|a lone surrogate \\u([0-9a-f]{4})) at byte ([0-9]+) of the body\): JSON cannot carry raw bytes, so encode binary values as text first, for example base64\.$`)

// notTextMessage is the refusal of a value that is not UTF-8 text at byte at of the body: a byte that
// is not UTF-8 (escape "") or the escape of a lone surrogate.
func notTextMessage(at int, escape string) string {
	what := "invalid UTF-8"
	if escape != "" {
		what = "a lone surrogate " + escape
	}
	return fmt.Sprintf("The value is not valid UTF-8 text (%s at byte %d of the body): JSON cannot carry raw bytes, so encode binary values as text first, for example base64.", what, at)
}

// checkNotText checks a refusal of a value that is not UTF-8 text, its message parsed by notTextRE
// into m, against body: the body cut at the place it names and closed there is a well-formed object
// whose last member is a "value" string, all of them text; and at that place the body has a byte that
// is not UTF-8, or the named escape of a surrogate that is not half of a pair. What follows need not
// be well-formed: the refusal comes at once.
func checkNotText(t testing.TB, body []byte, m []string) {
	t.Helper()
	at, _ := strconv.Atoi(m[2])
	i := at - 1
	if i < 0 || i >= len(body) {
		t.Fatalf("%q: byte %d is not in the body of %d bytes", m[0], at, len(body))
	}
	prefix := append(body[:i:i], `"}`...)
	strs, whole := valueStrings(prefix)
	if !whole || len(strs) == 0 || strs[len(strs)-1].end != int64(len(prefix)-1) {
		t.Fatalf("%q: byte %d is not in a \"value\" string of a well-formed object", m[0], at)
	}
	if before := firstNotText(prefix); before > 0 {
		t.Fatalf("%q: byte %d is not text already", m[0], before)
	}
	rest := body[i:]
	if m[1] == "" {
		if r, n := utf8.DecodeRune(rest); r != utf8.RuneError || n != 1 || !utf8.FullRune(rest) {
			t.Fatalf("%q: the body has %q there", m[0], rest[:n])
		}
		return
	}
	r, ok := escapeAt(rest)
	if !ok || fmt.Sprintf("%04x", r) != m[1] || !utf16.IsSurrogate(r) {
		t.Fatalf("%q: the body has %q there", m[0], rest[:min(len(rest), 6)])
	}
	if next := rest[6:]; r < 0xdc00 {
		if isLowEscape(next) {
			t.Fatalf("%q: a low surrogate follows: %q", m[0], rest[:12])
		}
		// A body that ends where a low surrogate's escape could still have been is merely cut short.
		if len(next) < 6 && isLowEscape(append(next[:len(next):len(next)], `\udc00`[len(next):]...)) {
			t.Fatalf("%q: the body ends at %q, where a low surrogate could follow", m[0], rest)
		}
	}
}

// escapeAt decodes the \uXXXX escape p starts with.
func escapeAt(p []byte) (rune, bool) {
	if len(p) < 6 || p[0] != '\\' || p[1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p[2:6]), 16, 16)
	return rune(n), err == nil
}

func isLowEscape(p []byte) bool {
	r, ok := escapeAt(p)
	return ok && r >= 0xdc00 && r <= 0xdfff
}

// notTextAt returns the index in the JSON string s, quotes included, of its first byte that is not
// UTF-8 or escape of a surrogate that is not half of a pair; -1 when it is all text.
func notTextAt(s []byte) int {
	for i := 1; i < len(s)-1; {
		switch {
		case s[i] == '\\' && s[i+1] == 'u':
			r, _ := escapeAt(s[i:])
			switch {
			case r >= 0xd800 && r < 0xdc00 && isLowEscape(s[i+6:len(s)-1]):
				i += 12
			case utf16.IsSurrogate(r):
				return i
			default:
				i += 6
			}
		case s[i] == '\\':
			i += 2
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				return i
			}
			i += n
		}
	}
	return -1
}

// valueString is the raw JSON string of a "value" member and the offset in the body where it ends.
type valueString struct {
	raw []byte
	end int64
}

// valueStrings reads body's top-level object member by member with encoding/json, for as long as it is
// well-formed, and returns the strings of its "value" members; whole reports that the body is one
// well-formed object and nothing else.
func valueStrings(body []byte) (strs []valueString, whole bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return strs, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return strs, false
		}
		if k, _ := key.(string); strings.EqualFold(k, "value") && raw[0] == '"' {
			strs = append(strs, valueString{raw, dec.InputOffset()})
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return strs, false
	}
	_, err := dec.Token()
	return strs, err == io.EOF
}

// firstNotText returns the offset (from 1, as in syntax errors) of the first byte that is not UTF-8 or
// escape of a lone surrogate in a "value" string of body, as far as body is well-formed; 0 for none.
func firstNotText(body []byte) int {
	strs, _ := valueStrings(body)
	for _, s := range strs {
		if i := notTextAt(s.raw); i >= 0 {
			return int(s.end) - len(s.raw) + i + 1
		}
	}
	return 0
}

func plainReader(r io.Reader) io.Reader { return r }

// chunkReader serves at most n bytes a read, to cut tokens at every place.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.n)])
}

// bodyLimit reads like web's body limit of n bytes.
func bodyLimit(n int64) func(io.Reader) io.Reader {
	return func(r io.Reader) io.Reader { return http.MaxBytesReader(nil, io.NopCloser(r), n) }
}

func ptr(s string) *string { return &s }

func TestSecretBody(t *testing.T) {
	const maxValue = 64
	deep := func(depth int, open, close string) string {
		return strings.Repeat(open, depth) + strings.Repeat(close, depth)
	}
	over := strings.Repeat("v", maxValue+1)
	for _, c := range []struct {
		name      string
		body      string
		update    bool // decode as updateSecretRequest
		wantName  *string
		wantValue *string
		wantErr   string // the whole message, or a prefix ending in "byte " for syntax errors
	}{
		{name: "plain", body: `{"name":"API_TOKEN","value":"s3cret"}`, wantName: ptr("API_TOKEN"), wantValue: ptr("s3cret")},
		{name: "white space", body: " \t\r\n{ \"value\" : \"v\" , \"name\" : \"N\" }\n", wantName: ptr("N"), wantValue: ptr("v")},
		{name: "empty value", body: `{"value":""}`, wantValue: ptr("")},
		{name: "keys in any case", body: `{"NAME":"a","vAlUe":"b"}`, wantName: ptr("a"), wantValue: ptr("b")},
		{name: "escaped keys", body: `{"n\u0061me":"a","\u0056ALUE":"b"}`, wantName: ptr("a"), wantValue: ptr("b")},
		{name: "near keys", body: `{"name ":"a","valu":"b","values":"c","na\u0000me":"d"}`},
		{name: "last key wins", body: `{"value":"a","Value":"b","name":"x","NAME":"y"}`, wantName: ptr("y"), wantValue: ptr("b")},
		{name: "null clears", body: `{"value":"a","name":"x","value":null,"name":null}`},
		{name: "null then string", body: `{"value":null,"value":""}`, wantValue: ptr("")},
		{name: "name unknown to update", update: true, body: `{"name":5,"value":"v"}`, wantValue: ptr("v")},
		{name: "unknown fields", body: `{"a":{"b":[1,-2.5e+3,{"c":null},[]],"d":{}},"e":true,"f":false,"g":"\u00e9","value":"v"}`, wantValue: ptr("v")},
		{name: "top-level null", body: ` null `},
		{name: "escapes", body: `{"value":"q\" b\\ s\/ \b\f\n\r\t \u00e9\u20AC \ud83d\ude00"}`, wantValue: ptr("q\" b\\ s/ \b\f\n\r\t é€ 😀")},
		{name: "valid UTF-8", body: "{\"value\":\"\u00e9\u20ac\U0001F600\uFFFD\"}", wantValue: ptr("\u00e9\u20ac\U0001F600\uFFFD")},
		// Only the value is refused when it is not text: other strings keep encoding/json's U+FFFD.
		{name: "name not text", body: "{\"name\":\"A\xffB\\ud800\",\"value\":\"v\"}", wantName: ptr("A\uFFFDB\uFFFD"), wantValue: ptr("v")},
		{name: "name not text, update", update: true, body: "{\"name\":\"\xff\\udc00\",\"value\":\"v\"}", wantValue: ptr("v")},
		{name: "unknown field not text", body: "{\"x\":[\"\xff\\ud800\",{\"\xed\xa0\x80\":\"\\udc00\"}],\"value\":\"v\"}", wantValue: ptr("v")},
		{name: "key not text", body: "{\"valu\xff\":\"a\",\"value\\ud800\":\"b\",\"value\":\"v\"}", wantValue: ptr("v")},
		{name: "value at the limit", body: `{"value":"` + over[1:] + `"}`, wantValue: ptr(over[1:])},

		{name: "empty body", body: "", wantErr: "Invalid JSON body: the body is empty; send a JSON object."},
		{name: "white space only", body: " \n\t", wantErr: "Invalid JSON body: the body is empty; send a JSON object."},
		{name: "truncated", body: `{"value":"abc`, wantErr: "Invalid JSON body: it ends before the JSON object is complete."},
		{name: "truncated escape", body: `{"value":"abc\u00`, wantErr: "Invalid JSON body: it ends before the JSON object is complete."},
		{name: "truncated literal", body: `{"x":nul`, wantErr: "Invalid JSON body: it ends before the JSON object is complete."},
		{name: "truncated number", body: `{"x":-`, wantErr: "Invalid JSON body: it ends before the JSON object is complete."},
		{name: "trailing object", body: `{"value":"v"} {}`, wantErr: "Invalid JSON body: unexpected data after the JSON object."},
		{name: "trailing brace", body: `{"value":"v"}}`, wantErr: "Invalid JSON body: unexpected data after the JSON object."},
		{name: "trailing string", body: `{"value":"v"}"x"`, wantErr: "Invalid JSON body: unexpected data after the JSON object."},
		{name: "trailing after null", body: `null x`, wantErr: "Invalid JSON body: unexpected data after the JSON object."},
		{name: "top-level array", body: `[1,{"a":[]}]`, wantErr: "Invalid JSON body: expected a JSON object, got an array."},
		{name: "top-level string", body: `"x"`, wantErr: "Invalid JSON body: expected a JSON object, got a string."},
		{name: "top-level number", body: `-12.5e3x`, wantErr: "Invalid JSON body: expected a JSON object, got a number."},
		{name: "top-level bool", body: `true`, wantErr: "Invalid JSON body: expected a JSON object, got true or false."},
		{name: "name number", body: `{"name":1,"value":"v"}`, wantErr: `Invalid JSON body: "name" must be a string, not a number.`},
		{name: "NAME number", body: `{"NAME":1}`, wantErr: `Invalid JSON body: "name" must be a string, not a number.`},
		{name: "value object", body: `{"value":{"a":"b"}}`, wantErr: `Invalid JSON body: "value" must be a string, not an object.`},
		{name: "value array", body: `{"value":[]}`, wantErr: `Invalid JSON body: "value" must be a string, not an array.`},
		{name: "value bool", body: `{"value":false}`, wantErr: `Invalid JSON body: "value" must be a string, not true or false.`},
		{name: "first type error", body: `{"value":1,"name":true,"value":"v"}`, wantErr: `Invalid JSON body: "value" must be a string, not a number.`},
		{name: "type error then truncated", body: `{"name":1,"value":"v"`, wantErr: "Invalid JSON body: it ends before the JSON object is complete."},
		{name: "type error then syntax", body: `{"name":1,}`, wantErr: "Invalid JSON body: syntax error at byte "},
		{name: "type error then trailing", body: `{"name":1} x`, wantErr: `Invalid JSON body: "name" must be a string, not a number.`},
		{name: "control character", body: "{\"value\":\"a\nb\"}", wantErr: "Invalid JSON body: syntax error at byte 12."},
		{name: "bad escape", body: `{"value":"a\x"}`, wantErr: "Invalid JSON body: syntax error at byte 13."},
		{name: "bad unicode escape", body: `{"value":"\u12G4"}`, wantErr: "Invalid JSON body: syntax error at byte 15."},
		{name: "single quotes", body: `{'value':'v'}`, wantErr: "Invalid JSON body: syntax error at byte 2."},
		{name: "trailing comma", body: `{"value":"v",}`, wantErr: "Invalid JSON body: syntax error at byte 14."},
		{name: "missing colon", body: `{"value" "v"}`, wantErr: "Invalid JSON body: syntax error at byte 10."},
		{name: "missing comma", body: `{"a":1 "value":"v"}`, wantErr: "Invalid JSON body: syntax error at byte 8."},
		{name: "leading zero", body: `{"a":01}`, wantErr: "Invalid JSON body: syntax error at byte 7."},
		{name: "bare dot", body: `{"a":1.}`, wantErr: "Invalid JSON body: syntax error at byte 8."},
		{name: "bare exponent", body: `{"a":1e+}`, wantErr: "Invalid JSON body: syntax error at byte 9."},
		{name: "bad literal", body: `{"a":tru}`, wantErr: "Invalid JSON body: syntax error at byte 9."},
		{name: "byte order mark", body: "\ufeff{}", wantErr: "Invalid JSON body: syntax error at byte 1."},
		{name: "depth 10000", body: `{"a":` + deep(9999, "[", "]") + `,"value":"v"}`, wantValue: ptr("v")},
		{name: "depth 10001", body: `{"a":` + deep(10000, `{"b":`, "}") + `}`, wantErr: "Invalid JSON body: syntax error at byte 50001."},
		{name: "top-level depth 10000", body: deep(10000, "[", "]"), wantErr: "Invalid JSON body: expected a JSON object, got an array."},
		{name: "top-level depth 10001", body: deep(10001, "[", "]"), wantErr: "Invalid JSON body: syntax error at byte 10001."},

		{name: "value over the limit", body: `{"value":"` + over + `"}`, wantErr: limitMessage(maxValue)},
		{name: "over the limit before a byte that is not UTF-8", body: `{"value":"` + over + "\xff" + over + `"}`, wantErr: limitMessage(maxValue)},
		{name: "a byte that is not UTF-8 before the limit", body: `{"value":"` + over[:10] + "\xff" + over + `"}`, wantErr: notTextMessage(21, "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 3} {
				wrap := plainReader
				if chunk > 0 {
					wrap = func(r io.Reader) io.Reader { return &chunkReader{r, chunk} }
				}
				got, err := checkSecretBody(t, []byte(c.body), !c.update, maxValue, int64(len(c.body)), wrap)
				switch {
				case c.wantErr != "":
					if msg := db.ErrorMessage(err); msg != c.wantErr && !(strings.HasSuffix(c.wantErr, "byte ") && strings.HasPrefix(msg, c.wantErr)) {
						t.Fatalf("error %q, want %q", msg, c.wantErr)
					}
				case err != nil:
					t.Fatalf("error %q", err)
				case show(got.Name) != show(c.wantName):
					t.Fatalf("Name=%s, want %s", show(got.Name), show(c.wantName))
				case (got.Value == nil) != (c.wantValue == nil) || got.Value != nil && string(got.Value) != *c.wantValue:
					t.Fatalf("Value=%q (nil %t), want %s", got.Value, got.Value == nil, show(c.wantValue))
				}
			}
		})
	}
}

// TestSecretBody_ReadBufferEdges puts runes, escapes, surrogate pairs and errors across the end of the
// first read buffer, at every offset.
func TestSecretBody_ReadBufferEdges(t *testing.T) {
	for _, tail := range []string{
		`\ud83d\ude00"}`, `\ud800\u0041"}`, `\n\"\\"}`, "\U0001F600\u00e9\xf0\x9f\x98\"}", `"} {}`, `"} "x"`,
		`", "x": -12.5e-3}`, `", "x": truex}`, `", "x": [[{"a":null}]]}`, "\n\"}", `\u12G4"}`, `\uD83D`,
		"\xff\"}", "\xed\xa0\x80\"}", `\udc00"}`, `\ud800"}`, `\ud800\uDB00"}`, `\ud800`,
	} {
		for shift := range 16 {
			prefix := `{"value":"` + strings.Repeat("a", readBufSize-16+shift)
			body := []byte(prefix + tail)
			for _, hint := range []int64{-1, int64(len(body))} {
				checkSecretBody(t, body, true, 1<<20, hint, plainReader)
			}
		}
	}
}

// TestSecretBody_DuplicateOverLimit pins the documented difference: a value over the limit is refused
// even when a later key replaces it, where Decode would keep the later one.
func TestSecretBody_DuplicateOverLimit(t *testing.T) {
	body := `{"value":"` + strings.Repeat("v", 65) + `","value":"short"}`
	if _, v, err := refDecode(strings.NewReader(body), true); err != nil || *v != "short" {
		t.Fatalf("Decode: %v, %v", v, err)
	}
	_, err := DecodeSecret(strings.NewReader(body), -1, true, 64)
	if got, want := db.ErrorMessage(err), limitMessage(64); got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}

// TestSecretBody_NotText pins the other documented difference: a value that is not UTF-8 text, raw
// bytes that are not UTF-8 or a \u escape of a surrogate that is not half of a pair, is refused where
// Decode would store U+FFFD in its place. The message says where, and repeats nothing of the value
// but the escape.
func TestSecretBody_NotText(t *testing.T) {
	const canary = "CANARY"
	for _, c := range []struct {
		name   string
		value  string // between the quotes of "value"
		want   string // the value decoded, when it is text; "" when it is refused
		at     int    // the index in value of the byte or escape refused
		escape string // the lone surrogate the message names, or "" for a byte that is not UTF-8
	}{
		{name: "byte 0xff", value: canary + "\xff" + canary, at: 6},
		{name: "continuation byte alone", value: canary + "\x80", at: 6},
		{name: "truncated sequence", value: canary + "\xe2\x82" + canary, at: 6}, // € without its last byte
		{name: "truncated sequence at the end", value: canary + "\xf0\x9f\x98", at: 6},
		{name: "overlong encoding", value: canary + "\xc0\xaf" + canary, at: 6}, // '/' in two bytes
		{name: "overlong encoding in three bytes", value: "\xe0\x80\xaf" + canary, at: 0},
		{name: "encoded surrogate", value: canary + "\xed\xa0\x80" + canary, at: 6},
		{name: "beyond U+10FFFF", value: "\xf4\x90\x80\x80", at: 0},
		{name: "after escapes", value: `\"\\\u00e9` + "\xff", at: 10},
		{name: "lone high surrogate", value: canary + `\ud800` + canary, at: 6, escape: `\ud800`},
		{name: "lone low surrogate", value: canary + `\udc00` + canary, at: 6, escape: `\udc00`},
		{name: "high surrogate then letter", value: canary + `\ud800\u0041`, at: 6, escape: `\ud800`},
		{name: "high surrogate at the end", value: canary + `\ud800`, at: 6, escape: `\ud800`},
		{name: "high surrogate in capitals", value: `\uDBFF` + canary, at: 0, escape: `\udbff`},
		{name: "two high surrogates", value: `\ud800\ud800\udc00`, at: 0, escape: `\ud800`},
		{name: "low then high", value: `\udc00\ud800\udc00`, at: 0, escape: `\udc00`},
		{name: "high surrogate then escape", value: `\ud800\n`, at: 0, escape: `\ud800`},
		{name: "lone after a pair", value: "é€" + `\ud83d\ude00` + canary + `\udfff`, at: 23, escape: `\udfff`},

		{name: "surrogate pair", value: `\ud83d\ude00`, want: "\xf0\x9f\x98\x80"},
		{name: "surrogate pair in capitals", value: `\uD83D\uDE00`, want: "\U0001F600"},
		{name: "highest pair", value: `\udbff\udfff`, want: "\U0010FFFF"},
		{name: "around the surrogates", value: `\ud7ff\ue000`, want: "\ud7ff\ue000"},
		{name: "multi-byte UTF-8", value: "é€😀\U0010FFFF\ud7ff\ue000", want: "é€😀\U0010FFFF\ud7ff\ue000"},
		{name: "U+FFFD itself", value: "\xef\xbf\xbd" + `\ufffd`, want: "\uFFFD\uFFFD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, prefix := range []string{`{"name":"API_TOKEN","value":"`, `{"value":"`} {
				body := prefix + c.value + `"}`
				for _, chunk := range []int{0, 1, 3, 7} {
					wrap := plainReader
					if chunk > 0 {
						wrap = func(r io.Reader) io.Reader { return &chunkReader{r, chunk} }
					}
					got, err := checkSecretBody(t, []byte(body), len(prefix) > 10, 1<<10, int64(len(body)), wrap)
					if c.want != "" {
						if err != nil || string(got.Value) != c.want {
							t.Fatalf("%s: got %q, %v; want %q", body, got.Value, err, c.want)
						}
						continue
					}
					msg := db.ErrorMessage(err)
					if want := notTextMessage(len(prefix)+c.at+1, c.escape); db.ErrorCode(err) != db.CodeInvalid || msg != want {
						t.Fatalf("%s: error %q (%s), want %q", body, msg, db.ErrorCode(err), want)
					}
					if strings.Contains(msg, canary) || strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r > '~' }) {
						t.Fatalf("the message repeats the value: %q", msg)
					}
					if got.Value != nil {
						t.Fatalf("a refused value came back: %q", got.Value)
					}
				}
			}
		})
	}
	const truncated = "Invalid JSON body: it ends before the JSON object is complete."
	for _, c := range []struct {
		name, body, wantErr string
	}{
		{"a later value does not replace it", `{"value":"\ud800","VALUE":"ok"}`, notTextMessage(11, `\ud800`)},
		{"an earlier type error", "{\"value\":1,\"value\":\"\xff\"}", notTextMessage(21, "")},
		{"malformed further on", "{\"value\":\"\xff\x01\"}", notTextMessage(11, "")},
		{"a bad escape after a high surrogate", `{"value":"\ud800\u12G4"}`, notTextMessage(11, `\ud800`)},
		{"the body ends after the byte", "{\"value\":\"\xff", notTextMessage(11, "")},
		{"the body ends in a high surrogate's place", `{"value":"\ud800\u00`, notTextMessage(11, `\ud800`)},
		{"the body ends after a high surrogate", `{"value":"\ud800`, truncated},
		{"the body ends in a low surrogate's place", `{"value":"\ud800\uDC`, truncated},
		{"the body ends in a sequence", "{\"value\":\"\xe2\x82", truncated},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 5} {
				wrap := plainReader
				if chunk > 0 {
					wrap = func(r io.Reader) io.Reader { return &chunkReader{r, chunk} }
				}
				_, err := checkSecretBody(t, []byte(c.body), true, 1<<10, -1, wrap)
				if got := db.ErrorMessage(err); got != c.wantErr {
					t.Fatalf("error %q, want %q", got, c.wantErr)
				}
			}
		})
	}
}

func TestSecretBody_ReadErrors(t *testing.T) {
	body := `{"name":"N","value":"` + strings.Repeat("v", 40) + `"}`
	tooLarge := func(n int) string {
		return fmt.Sprintf("The request body is too large: this request takes at most %d bytes.", n)
	}
	const trailing = "Invalid JSON body: unexpected data after the JSON object."
	reset := iotest.ErrReader(errors.New("connection reset"))
	for _, c := range []struct {
		name    string
		body    string
		wrap    func(io.Reader) io.Reader
		wantErr string
	}{
		{"limit in the value", body, bodyLimit(30), tooLarge(30)},
		{"limit after the object", body + "   ", bodyLimit(int64(len(body) + 1)), tooLarge(len(body) + 1)},
		{"limit in a trailing string", body + ` "abc`, bodyLimit(int64(len(body) + 3)), tooLarge(len(body) + 3)},
		{"limit after a trailing number", body + ` 12 `, bodyLimit(int64(len(body) + 3)), tooLarge(len(body) + 3)},
		{"limit after a trailing bracket", body + ` [1`, bodyLimit(int64(len(body) + 2)), trailing},
		{"limit after top-level null", `null `, bodyLimit(4), tooLarge(4)},
		{"limit after top-level number", `12 `, bodyLimit(2), tooLarge(2)},
		{"broken connection", body, func(r io.Reader) io.Reader { return io.MultiReader(io.LimitReader(r, 20), reset) },
			"Invalid JSON body: the body could not be read."},
		{"broken connection after the object", body, func(r io.Reader) io.Reader { return io.MultiReader(r, reset) }, trailing},
		{"no progress", body, func(io.Reader) io.Reader { return iotest.ErrReader(io.ErrNoProgress) }, "Invalid JSON body: the body could not be read."},
		{"data with EOF", body, iotest.DataErrReader, ""},
		{"one byte at a time", body, iotest.OneByteReader, ""},
		{"half reads", body, iotest.HalfReader, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := checkSecretBody(t, []byte(c.body), true, 64, -1, c.wrap)
			if got := db.ErrorMessage(err); err != nil && got != c.wantErr || err == nil && c.wantErr != "" {
				t.Fatalf("error %q, want %q", got, c.wantErr)
			}
		})
	}
}

// endlessValue serves the start of a body whose value never ends, counting what it serves.
type endlessValue struct {
	prefix string
	n      int
}

func (r *endlessValue) Read(p []byte) (int, error) {
	i := 0
	if r.n < len(r.prefix) {
		i = copy(p, r.prefix[r.n:])
	}
	for j := i; j < len(p); j++ {
		p[j] = 'v'
	}
	r.n += len(p)
	return len(p), nil
}

func TestSecretBody_StopsAtLimit(t *testing.T) {
	for _, c := range []struct {
		maxValue int
		hint     int64
	}{{64, -1}, {1000, 2000}, {db.MaxValueBytes, -1}, {db.MaxValueBytes, 100 << 20}} {
		r := &endlessValue{prefix: `{"name":"BIG","value":"`}
		_, err := DecodeSecret(r, c.hint, true, c.maxValue)
		if got, want := db.ErrorMessage(err), limitMessage(c.maxValue); got != want {
			t.Fatalf("max %d: error %q, want %q", c.maxValue, got, want)
		}
		if limit := len(r.prefix) + c.maxValue + readBufSize; r.n > limit {
			t.Errorf("max %d: read %d bytes, want at most %d", c.maxValue, r.n, limit)
		}
	}
	if got, want := limitMessage(db.MaxValueBytes), "Value is larger than the limit of 5 MiB (5,242,880 bytes)."; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

// TestSecretBody_LeavesNoCopy decodes bodies that succeed and fail, each with a canary, and then looks
// at what outlives the call: the pooled read buffer must be all zeros, and the returned value's spare
// capacity must not hold what is left of a value it replaced.
func TestSecretBody_LeavesNoCopy(t *testing.T) {
	const canary = "CANARY-VALUE"
	for _, c := range []struct {
		name, body string
	}{
		{"decoded", `{"name":"API_TOKEN","value":"` + canary + `"}`},
		{"replaced", `{"value":"` + canary + canary + `","value":"v"}`},
		{"over the limit", `{"value":"` + canary + strings.Repeat("v", 100) + `"}`},
		{"not text", "{\"value\":\"" + canary + "\xff\"}"},
		{"trailing data", `{"value":"` + canary + `"} {"x":"` + canary + `"}`},
		{"truncated", `{"x":"` + canary},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _ := DecodeSecret(strings.NewReader(c.body), -1, true, 64)
			// The pool hands the buffer just put back to the same goroutine, unless it moved to
			// another processor in between; then it hands out a new one, and this proves nothing.
			bp := readBufs.Get().(*[]byte)
			defer readBufs.Put(bp)
			if i := bytes.IndexFunc(*bp, func(r rune) bool { return r != 0 }); i >= 0 {
				t.Fatalf("the pooled read buffer holds %q", (*bp)[i:min(i+len(canary), len(*bp))])
			}
			if spare := got.Value[len(got.Value):cap(got.Value)]; bytes.Contains(spare, []byte(canary[:4])) {
				t.Fatalf("the value's spare capacity holds %q", spare)
			}
		})
	}
}

// bigBody is a create body with a value of n bytes.
func bigBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"name":"BIG_BLOB","value":"`)
	line := "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n"
	for b.Len() < n+28-len(line) {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("x", n+28-b.Len()))
	b.WriteString(`"}`)
	return b.Bytes()
}

func TestSecretBody_Memory(t *testing.T) {
	body := bigBody(db.MaxValueBytes)
	var got Secret
	var err error
	alloc := func(hint int64) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err = DecodeSecret(bytes.NewReader(body), hint, true, db.MaxValueBytes)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	// With the length: a first buffer of 1 MiB, then one of the declared length.
	if n, limit := alloc(int64(len(body))), uint64(db.MaxValueBytes+1<<20+64<<10); n > limit {
		t.Errorf("with the length: allocated %d bytes, want at most %d", n, limit)
	}
	if got, want := cap(got.Value), db.MaxValueBytes+db.SealOverhead; got != want {
		t.Errorf("with the length: cap(Value)=%d, want %d", got, want)
	}
	// Without it the buffer doubles from 512 bytes, to at most the limit: 2.7 times the value in all.
	if n, limit := alloc(-1), uint64(3*db.MaxValueBytes); n > limit {
		t.Errorf("without the length: allocated %d bytes, want at most %d", n, limit)
	}
	if c := cap(got.Value); c > db.MaxValueBytes+db.SealOverhead || c-len(got.Value) < db.SealOverhead {
		t.Errorf("without the length: len %d, cap %d", len(got.Value), c)
	}
	small := []byte(`{"name":"API_TOKEN","value":"` + strings.Repeat("s", 1000) + `"}`)
	rd := bytes.NewReader(small)
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(small)
		if _, err := DecodeSecret(rd, int64(len(small)), true, db.MaxValueBytes); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 { // the value, the name and the *string
		t.Errorf("1 KB body: %.0f allocations, want at most 3", allocs)
	}
}

// FuzzSecretBody checks DecodeSecret against Decode with checkSecretBody: the same value, name
// and error for every body, but for the documented refusals of a value over the limit or not text.
func FuzzSecretBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"API_TOKEN","value":"s3cret"}`,
		`{"NAME":"a","Value":"b","value":null}`,
		`{"n\u0061me":"a","VALU\u0045":"\ud83d\ude00\ud800\udc00\udbff"}`,
		`{"value":"` + strings.Repeat("v", 64) + `"}`,
		`{"value":"` + strings.Repeat("v", 65) + `","value":"x"}`,
		"{\"value\":\"\xff\xed\xa0\x80\xe2\x82\xf0\x9f\x98\x80\"}",
		`{"value":"a\"\\\/\b\f\n\r\t\u00e9"}`,
		`{"a":{"b":[1,-2.5e+3,true,false,null,{"c":"d"}]},"value":"v"}`,
		`{"name":1,"value":[],"x":{}}`,
		`{"value":{}} `,
		` null `,
		`[1,2]`,
		`"top"`,
		`-0.1E-2`,
		`{"value":"v"} {}`,
		`{"value":"v"} "x"`,
		`{"value":"v",}`,
		`{"value":"\u12G4"}`,
		"{\"value\":\"a\nb\"}",
		`{"value":"abc`,
		``,
		`[[[[[[[[[[]]]]]]]]]]`,
		// Values that are not text, and other strings that may keep U+FFFD.
		`{"value":"ok\ud800","value":"v"}`,
		`{"value":"\udc00\ud83d\ude00"}`,
		`{"value":"\ud800\u12G4"}`,
		`{"value":"\ud800\uDC`,
		"{\"value\":\"\xe2\x82",
		"{\"name\":\"\xff\\ud800\",\"x\":[\"\xc0\xaf\"],\"valu\xff\":1,\"value\":\"\xf4\x90\x80\x80\"}",
	} {
		f.Add([]byte(s), true, uint8(0))
		f.Add([]byte(s), false, uint8(0x2b))
	}
	f.Fuzz(func(t *testing.T, body []byte, withName bool, mode uint8) {
		// mode: bits 0-2 the read size (0 for any), bits 3-4 the size hint, bit 5 a body limit a few
		// bytes short of the body, bits 6-7 how short.
		wrap := plainReader
		if chunk := int(mode & 7); chunk > 0 {
			wrap = func(r io.Reader) io.Reader { return &chunkReader{r, chunk} }
		}
		if mode&0x20 != 0 {
			limit := max(int64(len(body))-1-int64(mode>>6), 0)
			inner := wrap
			wrap = func(r io.Reader) io.Reader { return bodyLimit(limit)(inner(r)) }
		}
		hint := []int64{-1, int64(len(body)), 1, 0}[mode>>3&3]
		checkSecretBody(t, body, withName, 64, hint, wrap)
	})
}

func BenchmarkSecretBody(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"5MiB", db.MaxValueBytes - 1000}} {
		body := bigBody(size.n)
		rd := bytes.NewReader(body)
		b.Run(size.name+"/DecodeSecret", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				if _, err := DecodeSecret(rd, int64(len(body)), true, db.MaxValueBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/Decode", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				var in createSecretRequest
				if err := Decode(rd, &in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
