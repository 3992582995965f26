package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

// refEcho builds the echo.Context decodeJSON, the reference, reads from.
var refEcho = echo.New()

// createSecretRequest and updateSecretRequest are the create and update bodies as encoding/json would
// decode them: the reference decodeSecretBody must agree with.
type createSecretRequest struct {
	Name  *string `json:"name"`
	Value *string `json:"value"`
}

type updateSecretRequest struct {
	Value *string `json:"value"`
}

// refDecode decodes the body r serves with decodeJSON into createSecretRequest (withName) or
// updateSecretRequest.
func refDecode(r io.Reader, withName bool) (name, value *string, err error) {
	c := refEcho.NewContext(httptest.NewRequest(http.MethodPost, "/v1/secrets", r), httptest.NewRecorder())
	if withName {
		var in createSecretRequest
		err = decodeJSON(c, &in)
		return in.Name, in.Value, err
	}
	var in updateSecretRequest
	err = decodeJSON(c, &in)
	return nil, in.Value, err
}

// limitMessage is decodeSecretBody's message for a value over maxValue.
func limitMessage(maxValue int) string {
	return db.ErrorMessage(db.ValueOverLimit(maxValue))
}

// checkSecretBody decodes body with decodeSecretBody and with decodeJSON, each reading it through
// wrap, and fails t on any difference but the one decodeSecretBody documents: a value over maxValue
// is refused at once. It returns decodeSecretBody's result.
func checkSecretBody(t testing.TB, body []byte, withName bool, maxValue int, hint int64, wrap func(io.Reader) io.Reader) (secretBody, error) {
	t.Helper()
	refName, refValue, refErr := refDecode(wrap(bytes.NewReader(body)), withName)
	got, err := decodeSecretBody(wrap(bytes.NewReader(body)), hint, withName, maxValue)
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
			t.Fatalf("got %q; decodeJSON decoded a value of %d bytes without error", err, len(*refValue))
		}
		return got, err
	}
	if refOver {
		t.Fatalf("got (%v, %v), want the limit error: decodeJSON decoded a value of %d bytes", got, err, len(*refValue))
	}
	if (err == nil) != (refErr == nil) || db.ErrorCode(err) != db.ErrorCode(refErr) || err != nil && err.Error() != refErr.Error() {
		t.Fatalf("error %q (%s), decodeJSON's %q (%s)", err, db.ErrorCode(err), refErr, db.ErrorCode(refErr))
	}
	if err != nil {
		return got, err
	}
	if (got.Name == nil) != (refName == nil) || got.Name != nil && *got.Name != *refName {
		t.Fatalf("Name=%s, decodeJSON's %s", show(got.Name), show(refName))
	}
	if (got.Value == nil) != (refValue == nil) || got.Value != nil && string(got.Value) != *refValue {
		t.Fatalf("Value=%q (nil %t), decodeJSON's %s", got.Value, got.Value == nil, show(refValue))
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
		{name: "lone high surrogate", body: `{"value":"\ud800"}`, wantValue: ptr("\uFFFD")},
		{name: "high surrogate then letter", body: `{"value":"\ud800\u0041"}`, wantValue: ptr("\uFFFDA")},
		{name: "low surrogate first", body: `{"value":"\udc00\ud800\udc00"}`, wantValue: ptr("\uFFFD\U00010000")},
		{name: "two high surrogates", body: `{"value":"\ud800\ud800\udc00x"}`, wantValue: ptr("\uFFFD\U00010000x")},
		{name: "surrogate then escape", body: `{"value":"\ud800\n"}`, wantValue: ptr("\uFFFD\n")},
		{name: "invalid UTF-8", body: "{\"value\":\"a\xffb\xed\xa0\x80c\xe2\x82\"}", wantValue: ptr("a\uFFFDb\uFFFD\uFFFD\uFFFDc\uFFFD\uFFFD")},
		{name: "valid UTF-8", body: "{\"value\":\"\u00e9\u20ac\U0001F600\uFFFD\"}", wantValue: ptr("\u00e9\u20ac\U0001F600\uFFFD")},
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
		{name: "replacements over the limit", body: `{"value":"` + strings.Repeat("\xff", 22) + `"}`, wantErr: limitMessage(maxValue)},
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
// even when a later key replaces it, where decodeJSON would keep the later one.
func TestSecretBody_DuplicateOverLimit(t *testing.T) {
	body := `{"value":"` + strings.Repeat("v", 65) + `","value":"short"}`
	if _, v, err := refDecode(strings.NewReader(body), true); err != nil || *v != "short" {
		t.Fatalf("decodeJSON: %v, %v", v, err)
	}
	_, err := decodeSecretBody(strings.NewReader(body), -1, true, 64)
	if got, want := db.ErrorMessage(err), limitMessage(64); got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}

func TestSecretBody_ReadErrors(t *testing.T) {
	body := `{"name":"N","value":"` + strings.Repeat("v", 40) + `"}`
	tooLarge := func(n int) string {
		return fmt.Sprintf("The request body is larger than %d bytes: a value may be at most 5 MB (5,242,880 bytes).", n)
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
		_, err := decodeSecretBody(r, c.hint, true, c.maxValue)
		if got, want := db.ErrorMessage(err), limitMessage(c.maxValue); got != want {
			t.Fatalf("max %d: error %q, want %q", c.maxValue, got, want)
		}
		if limit := len(r.prefix) + c.maxValue + readBufSize; r.n > limit {
			t.Errorf("max %d: read %d bytes, want at most %d", c.maxValue, r.n, limit)
		}
	}
	if got, want := limitMessage(db.MaxValueBytes), "Value is larger than the limit of 5 MB (5,242,880 bytes)."; got != want {
		t.Errorf("message %q, want %q", got, want)
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
	var got secretBody
	var err error
	alloc := func(hint int64) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err = decodeSecretBody(bytes.NewReader(body), hint, true, db.MaxValueBytes)
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
		if _, err := decodeSecretBody(rd, int64(len(small)), true, db.MaxValueBytes); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 { // the value, the name and the *string
		t.Errorf("1 KB body: %.0f allocations, want at most 3", allocs)
	}
}

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
		b.Run(size.name+"/decodeSecretBody", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				if _, err := decodeSecretBody(rd, int64(len(body)), true, db.MaxValueBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/decodeJSON", func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/v1/secrets", nil)
			req.Body = io.NopCloser(rd)
			c := refEcho.NewContext(req, httptest.NewRecorder())
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				var in createSecretRequest
				if err := decodeJSON(c, &in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
