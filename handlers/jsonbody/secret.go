package jsonbody

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/keyhold/keyhold/db"
)

// Secret is a decoded create or update body. Name is nil when the field is absent or null; Value is nil
// when absent or null, and otherwise the value's bytes (possibly empty, non-nil).
type Secret struct {
	Name  *string
	Value []byte
}

// DecodeSecret reads one JSON object from r as Decode would decode it into a struct of *string fields
// "name" and "value" (withName true) or "value" alone (withName false; "name" is then an unknown
// field, skipped like any other), streaming, with the differences the package doc lists. sizeHint is
// the body's length when known (Content-Length), or -1: it sizes the value's buffer, so that a value
// is allocated once. The returned Value has at least db.SealOverhead bytes of spare capacity, so db
// can seal it in place, and a capacity of at most maxValue + db.SealOverhead.
//
// Keys match case-insensitively, the last of duplicate keys wins and null clears a field; strings are
// unquoted with encoding/json's rules, invalid UTF-8 and lone surrogates becoming U+FFFD in keys, the
// name and skipped strings (a name is refused by the name rule anyway); unknown fields are validated
// and skipped without recursion. Errors are Decode's, code and message, with the same byte offsets in
// syntax errors, but for the two refusals, which come as soon as the value's bytes show them:
//
//   - A "value" string that decodes to more than maxValue bytes: db.ValueOverLimit(maxValue).
//   - A "value" string that is not UTF-8 text: CodeInvalid with valueNotText's message, which names
//     the escape or the byte of the body, never the value. A body that ends right after the escape
//     of a high surrogate, where the escape of a low one could still have been, ends too soon instead.
func DecodeSecret(r io.Reader, sizeHint int64, withName bool, maxValue int) (Secret, error) {
	bp := readBufs.Get().(*[]byte)
	d := bodyDecoder{r: r, buf: *bp, sizeHint: sizeHint, withName: withName, maxValue: max(maxValue, 0)}
	out, err := d.decode()
	// Leave no copy of the body behind: the pooled buffer outlives the request.
	clear(d.buf[:d.high])
	readBufs.Put(bp)
	if err == nil {
		return out, nil
	}
	clear(d.val[:cap(d.val)])
	var nt notTextError
	switch {
	case errors.Is(err, errValueTooLarge):
		return Secret{}, db.ValueOverLimit(d.maxValue)
	case errors.As(err, &nt):
		return Secret{}, valueNotText(nt.offset, nt.surrogate)
	case errors.Is(err, errTrailingData):
		return Secret{}, db.Errorf(db.CodeInvalid, "Invalid JSON body: unexpected data after the JSON object.")
	}
	return Secret{}, jsonError(err)
}

// valueNotText is the refusal of a value that is not UTF-8 text at offset of the body (counted from 1,
// as in syntax errors): a byte that is not UTF-8 (surrogate < 0), or the escape of a lone surrogate.
// It names the escape, never a byte of the value.
func valueNotText(offset int64, surrogate rune) error {
	what := "invalid UTF-8"
	if surrogate >= 0 {
		what = fmt.Sprintf(`a lone surrogate \u%04x`, surrogate)
	}
	return db.Errorf(db.CodeInvalid, "The value is not valid UTF-8 text (%s at byte %d of the body): "+
		"JSON cannot carry raw bytes, so encode binary values as text first, for example base64.", what, offset)
}

// notTextError is a "value" string that is not UTF-8 text; DecodeSecret turns it into valueNotText.
type notTextError struct {
	offset    int64
	surrogate rune
}

func (notTextError) Error() string { return "value is not UTF-8 text" }

// readBufSize is the read buffer: few reads for a 5 MB body, and small enough to pool.
const readBufSize = 8 << 10

// readBufs holds read buffers, so a request allocates none.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// maxNestingDepth is encoding/json's limit on nested arrays and objects, the top-level one included.
const maxNestingDepth = 10000

// maxKeyBytes is the most a key that folds to "name" or "value" can take: five runes of up to four bytes.
const maxKeyBytes = 20

var (
	errValueTooLarge = errors.New("value too large")
	errTrailingData  = errors.New("data after the JSON object")
	replacement      = []byte(string(utf8.RuneError))
	stringType       = reflect.TypeFor[string]()
)

// The fields of a secret body; fieldNone is any other key.
const (
	fieldNone = iota
	fieldName
	fieldValue
)

// Where str puts the bytes it decodes.
const (
	sinkSkip  = iota // nowhere: the string is only validated
	sinkKey          // a key: up to maxKeyBytes, then the key is too long to be a field
	sinkName         // the name, in full
	sinkValue        // the value, into d.val, refusing more than maxValue bytes
)

// plain marks the bytes a string run copies as they are: printable ASCII but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// bodyDecoder is one decoding. buf[pos:end] is read and not yet consumed; err is the error of the
// last read, reported only once the bytes read with it are used up, as encoding/json does.
type bodyDecoder struct {
	r        io.Reader
	buf      []byte
	pos, end int
	high     int   // the most of buf ever filled, to clear
	off      int64 // input offset of buf[0], for syntax errors
	err      error

	sizeHint int64
	withName bool
	maxValue int

	name    *string
	val     []byte // the value's buffer, reused by a duplicate key
	hasVal  bool   // val holds the value: false while it is absent or null
	keyLong bool   // the key being read is longer than maxKeyBytes
	typeErr error  // the first type error, reported if the body is otherwise well-formed
	stack   []byte // the open arrays and objects of a skipped value
}

// decode reads the body: the top-level value, then what follows it.
func (d *bodyDecoder) decode() (Secret, error) {
	c, err := d.first()
	if err != nil {
		return Secret{}, err
	}
	switch c {
	case '{':
		err = d.object()
	case 'n':
		if err = d.literal("null"); err == nil {
			err = d.endTop()
		}
	default:
		// A valid value of another kind is read in full, then refused as encoding/json refuses it.
		kind := kindOf(c)
		if err = d.skipValue(0); err == nil && c != '[' {
			err = d.endTop()
		}
		if err == nil {
			err = typeError("", kind)
		}
		return Secret{}, err
	}
	if err != nil {
		return Secret{}, err
	}
	if d.typeErr != nil {
		return Secret{}, d.typeErr
	}
	if err := d.trailing(); err != nil {
		return Secret{}, err
	}
	out := Secret{Name: d.name}
	if d.hasVal {
		out.Value = d.val
	}
	return out, nil
}

// object reads the top-level object, its opening brace at d.pos.
func (d *bodyDecoder) object() error {
	d.pos++
	c, err := d.next()
	if err != nil {
		return err
	}
	if c == '}' {
		d.pos++
		d.complete()
		return nil
	}
	var key [maxKeyBytes]byte
	for {
		if c != '"' {
			return d.syntaxAt(d.pos)
		}
		d.pos++
		d.keyLong = false
		k, err := d.str(key[:0], sinkKey)
		if err != nil {
			return err
		}
		field := d.field(k)
		if c, err = d.next(); err != nil {
			return err
		}
		if c != ':' {
			return d.syntaxAt(d.pos)
		}
		d.pos++
		if c, err = d.next(); err != nil {
			return err
		}
		if err := d.member(field, c); err != nil {
			return err
		}
		if c, err = d.next(); err != nil {
			return err
		}
		switch c {
		case '}':
			d.pos++
			d.complete()
			return nil
		case ',':
			d.pos++
			if c, err = d.next(); err != nil {
				return err
			}
		default:
			return d.syntaxAt(d.pos)
		}
	}
}

// member reads the value of a top-level key, its first byte c at d.pos.
func (d *bodyDecoder) member(field int, c byte) error {
	if field == fieldNone {
		return d.skipValue(1)
	}
	switch c {
	case '"':
		d.pos++
		if field == fieldName {
			var buf [64]byte
			b, err := d.str(buf[:0], sinkName)
			if err != nil {
				return err
			}
			name := string(b)
			d.name = &name
			return nil
		}
		if d.val == nil {
			d.val = make([]byte, 0, d.initialCap())
		}
		prev := len(d.val)
		val, err := d.str(d.val[:0], sinkValue)
		if len(val) < prev {
			clear(val[len(val):prev]) // what is left of an earlier "value"
		}
		d.val, d.hasVal = val, true
		return err
	case 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		if field == fieldName {
			d.name = nil
		} else {
			d.hasVal = false
		}
		return nil
	}
	kind := kindOf(c)
	if err := d.skipValue(1); err != nil {
		return err
	}
	if d.typeErr == nil {
		name := "value"
		if field == fieldName {
			name = "name"
		}
		d.typeErr = typeError(name, kind)
	}
	return nil
}

// field tells which field a decoded key names, matching as encoding/json does: exactly, or else
// with both sides case-folded.
func (d *bodyDecoder) field(key []byte) int {
	if d.keyLong {
		return fieldNone
	}
	var folded [maxKeyBytes]byte
	f := folded[:0]
	for i := 0; i < len(key); {
		r, n := utf8.DecodeRune(key[i:])
		i += n
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			r = foldRune(r)
		}
		if r >= utf8.RuneSelf || len(f) == len(folded) {
			return fieldNone // "NAME" and "VALUE" are ASCII
		}
		f = append(f, byte(r))
	}
	switch string(f) {
	case "NAME":
		if d.withName {
			return fieldName
		}
	case "VALUE":
		return fieldValue
	}
	return fieldNone
}

// foldRune is encoding/json's: the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// firstHintedCap bounds the first buffer of a value whose body declares its length: a client that
// declares 5 MB and then stalls holds 1 MiB, not 5.
const firstHintedCap = 1 << 20

// initialCap is the first capacity of the value's buffer: the body's length when known (the value is
// at most that long), up to firstHintedCap.
func (d *bodyDecoder) initialCap() int {
	n := min(512, d.maxValue)
	if d.sizeHint > 0 {
		n = int(min(d.sizeHint, int64(d.maxValue), firstHintedCap))
	}
	return n + db.SealOverhead
}

// str decodes the rest of a string, its opening quote consumed, appending its bytes to dst as sink
// says. It unquotes as encoding/json's unquoteBytes does, and validates as its scanner does.
func (d *bodyDecoder) str(dst []byte, sink int) ([]byte, error) {
	var err error
	for {
		// Copy the longest run of bytes that need no change.
		buf := d.buf[d.pos:d.end]
		i := 0
		for i < len(buf) {
			for ; i+8 <= len(buf); i += 8 {
				if w := binary.LittleEndian.Uint64(buf[i:]); !plain8(w) {
					break
				}
			}
			if i == len(buf) {
				break
			}
			c := buf[i]
			if c < utf8.RuneSelf {
				if !plain[c] {
					break
				}
				i++
				continue
			}
			if !utf8.FullRune(buf[i:]) {
				break
			}
			r, n := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		if i > 0 && sink != sinkSkip {
			if dst, err = d.put(dst, buf[:i], sink); err != nil {
				return dst, err
			}
		}
		d.pos += i
		// A rune cut by the end of the buffer is all lead and continuation bytes, none of them an error.
		if i == len(buf) || !utf8.FullRune(buf[i:]) {
			if !d.fill() {
				return dst, d.failure()
			}
			continue
		}
		switch c := buf[i]; {
		case c == '"':
			d.pos++
			return dst, nil
		case c == '\\':
			dst, err = d.escape(dst, sink)
		case c < ' ':
			return dst, d.syntaxAt(d.pos)
		default: // a byte that is not UTF-8
			if sink == sinkValue {
				return dst, notTextError{offset: d.off + int64(d.pos) + 1, surrogate: -1}
			}
			d.pos++
			dst, err = d.put(dst, replacement, sink)
		}
		if err != nil {
			return dst, err
		}
	}
}

// plain8 reports whether the eight bytes of w are all plain, testing them at once: w has no byte
// below 0x20, none equal to '"' or '\\', and none with the high bit set.
func plain8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	// x-ones&^x has a byte's high bit set where x has a zero byte; it may set more above that one,
	// which does not matter here.
	special := (w-ones*' ')&^w | (quote-ones)&^quote | (backslash-ones)&^backslash | w
	return special&highs == 0
}

// escape decodes the escape sequence at d.pos.
func (d *bodyDecoder) escape(dst []byte, sink int) ([]byte, error) {
	if d.ensure(2) < 2 {
		return dst, d.failure()
	}
	var b byte
	switch c := d.buf[d.pos+1]; c {
	case '"', '\\', '/':
		b = c
	case 'b':
		b = '\b'
	case 'f':
		b = '\f'
	case 'n':
		b = '\n'
	case 'r':
		b = '\r'
	case 't':
		b = '\t'
	case 'u':
		return d.escapeU(dst, sink)
	default:
		return dst, d.syntaxAt(d.pos + 1)
	}
	d.pos += 2
	if sink == sinkSkip {
		return dst, nil
	}
	return d.put(dst, []byte{b}, sink)
}

// escapeU decodes the \uXXXX at d.pos, and the low surrogate after it if it is a high one: a surrogate
// that is not half of a pair refuses a value, or else becomes U+FFFD, and what follows it is decoded on
// its own.
func (d *bodyDecoder) escapeU(dst []byte, sink int) ([]byte, error) {
	n := d.ensure(6)
	var r rune
	for j := 2; j < 6; j++ {
		if j >= n {
			return dst, d.failure()
		}
		h := unhex(d.buf[d.pos+j])
		if h < 0 {
			return dst, d.syntaxAt(d.pos + j)
		}
		r = r<<4 | h
	}
	at := d.off + int64(d.pos) + 1
	d.pos += 6
	if utf16.IsSurrogate(r) {
		n := d.ensure(6)
		r2 := rune(-1)
		if n >= 6 && d.buf[d.pos] == '\\' && d.buf[d.pos+1] == 'u' {
			r2 = 0
			for _, c := range d.buf[d.pos+2 : d.pos+6] {
				h := unhex(c)
				if h < 0 {
					r2 = -1
					break
				}
				r2 = r2<<4 | h
			}
		}
		if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
			d.pos += 6
			r = pair
		} else if sink == sinkValue {
			if r < 0xdc00 && n < 6 && lowPrefix(d.buf[d.pos:d.pos+n]) {
				return dst, d.failure() // the body ends where the low half could have been
			}
			return dst, notTextError{offset: at, surrogate: r}
		} else {
			r = unicode.ReplacementChar
		}
	}
	if sink == sinkSkip {
		return dst, nil
	}
	var b [utf8.UTFMax]byte
	return d.put(dst, b[:utf8.EncodeRune(b[:], r)], sink)
}

// lowPrefix reports whether p, shorter than an escape, could begin the escape of a low surrogate:
// \uDC00 to \uDFFF.
func lowPrefix(p []byte) bool {
	for i, c := range p {
		var ok bool
		switch i {
		case 0:
			ok = c == '\\'
		case 1:
			ok = c == 'u'
		case 2:
			ok = c == 'd' || c == 'D'
		case 3:
			ok = unhex(c) >= 0xc
		default:
			ok = unhex(c) >= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// put appends p to dst as sink says.
func (d *bodyDecoder) put(dst, p []byte, sink int) ([]byte, error) {
	switch sink {
	case sinkSkip:
		return dst, nil
	case sinkKey:
		if d.keyLong || len(p) > cap(dst)-len(dst) {
			d.keyLong = true
			return dst, nil
		}
	case sinkValue:
		if len(p) > d.maxValue-len(dst) {
			return dst, errValueTooLarge
		}
		if cap(dst)-len(dst)-db.SealOverhead < len(p) {
			dst = d.grow(dst, len(p))
		}
	}
	return append(dst, p...), nil
}

// grow returns dst with room for n more bytes and the seal's overhead, doubling the capacity, or
// going straight to the body's declared length, up to maxValue + db.SealOverhead; put has checked
// len(dst)+n <= maxValue.
func (d *bodyDecoder) grow(dst []byte, n int) []byte {
	c := max(2*cap(dst), len(dst)+n+db.SealOverhead)
	if d.sizeHint > 0 {
		c = max(c, int(min(d.sizeHint, int64(d.maxValue)))+db.SealOverhead)
	}
	c = min(c, d.maxValue+db.SealOverhead)
	b := make([]byte, len(dst), c)
	copy(b, dst)
	clear(dst[:cap(dst)])
	return b
}

// skipValue validates and discards the value at d.pos, at a nesting depth of depth; open arrays and
// objects go on d.stack, not the call stack.
func (d *bodyDecoder) skipValue(depth int) error {
	d.stack = d.stack[:0]
	for {
		c, err := d.next()
		if err != nil {
			return err
		}
		switch c {
		case '{', '[':
			if depth+len(d.stack)+1 > maxNestingDepth {
				return d.syntaxAt(d.pos)
			}
			d.pos++
			d.stack = append(d.stack, c)
			if c, err = d.next(); err != nil {
				return err
			}
			if c == '}' && d.stack[len(d.stack)-1] == '{' || c == ']' && d.stack[len(d.stack)-1] == '[' {
				d.pos++
				d.stack = d.stack[:len(d.stack)-1]
				break
			}
			if d.stack[len(d.stack)-1] == '{' {
				if err := d.skipKey(); err != nil {
					return err
				}
			}
			continue // to the first element
		case '"':
			d.pos++
			_, err = d.str(nil, sinkSkip)
		case 't':
			err = d.literal("true")
		case 'f':
			err = d.literal("false")
		case 'n':
			err = d.literal("null")
		default:
			err = d.number()
		}
		if err != nil {
			return err
		}
		// The value is done: close what it ends, up to the next element.
		for {
			if len(d.stack) == 0 {
				return nil
			}
			if c, err = d.next(); err != nil {
				return err
			}
			open := d.stack[len(d.stack)-1]
			if c == ']' && open == '[' || c == '}' && open == '{' {
				d.pos++
				d.stack = d.stack[:len(d.stack)-1]
				continue
			}
			if c != ',' {
				return d.syntaxAt(d.pos)
			}
			d.pos++
			if open == '{' {
				if err := d.skipKey(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// skipKey validates and discards a key of a skipped object and its colon.
func (d *bodyDecoder) skipKey() error {
	c, err := d.next()
	if err != nil {
		return err
	}
	if c != '"' {
		return d.syntaxAt(d.pos)
	}
	d.pos++
	if _, err := d.str(nil, sinkSkip); err != nil {
		return err
	}
	if c, err = d.next(); err != nil {
		return err
	}
	if c != ':' {
		return d.syntaxAt(d.pos)
	}
	d.pos++
	return nil
}

// literal reads word at d.pos, whose first byte has been matched.
func (d *bodyDecoder) literal(word string) error {
	d.pos++
	for i := 1; i < len(word); i++ {
		if d.pos == d.end && !d.fill() {
			return d.failure()
		}
		if d.buf[d.pos] != word[i] {
			return d.syntaxAt(d.pos)
		}
		d.pos++
	}
	return nil
}

// number reads the number at d.pos with the JSON grammar. A read failure after a complete number is
// left to whoever needs the next byte.
func (d *bodyDecoder) number() error {
	c, _ := d.peek() // at the end of the input c is 0: a syntax error below
	var ok bool
	if c == '-' {
		d.pos++
		if c, ok = d.peek(); !ok {
			return d.failure()
		}
	}
	switch {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		d.pos++
		d.digits()
	default:
		return d.syntaxAt(d.pos)
	}
	if c, ok = d.peek(); ok && c == '.' {
		d.pos++
		if err := d.someDigits(); err != nil {
			return err
		}
		c, ok = d.peek()
	}
	if ok && (c == 'e' || c == 'E') {
		d.pos++
		if c, ok = d.peek(); ok && (c == '+' || c == '-') {
			d.pos++
		}
		return d.someDigits()
	}
	return nil
}

// someDigits reads one digit or more.
func (d *bodyDecoder) someDigits() error {
	c, ok := d.peek()
	if !ok {
		return d.failure()
	}
	if c < '0' || c > '9' {
		return d.syntaxAt(d.pos)
	}
	d.digits()
	return nil
}

func (d *bodyDecoder) digits() {
	for {
		for d.pos < d.end {
			if c := d.buf[d.pos]; c < '0' || c > '9' {
				return
			}
			d.pos++
		}
		if !d.fill() {
			return
		}
	}
}

// first returns the first byte of the body that is not white space. Its errors are raw: a body of
// white space only ends with io.EOF.
func (d *bodyDecoder) first() (byte, error) {
	for {
		for d.pos < d.end {
			if c := d.buf[d.pos]; !isSpace(c) {
				return c, nil
			}
			d.pos++
		}
		if !d.fill() {
			return 0, d.err
		}
	}
}

// next returns the next byte that is not white space, inside the top-level value.
func (d *bodyDecoder) next() (byte, error) {
	c, err := d.first()
	if err != nil {
		return 0, d.failure()
	}
	return c, nil
}

// peek returns the byte at d.pos, reading if need be; false when there is none to read.
func (d *bodyDecoder) peek() (byte, bool) {
	if d.pos == d.end && !d.fill() {
		return 0, false
	}
	return d.buf[d.pos], true
}

// endTop finishes a top-level value other than an object: encoding/json sees where it ends only at
// the next byte or at the end of the body, so a read error before either fails the body.
func (d *bodyDecoder) endTop() error {
	if d.pos < d.end || d.fill() || d.err == io.EOF {
		d.complete()
		return nil
	}
	return d.err
}

// complete marks the end of the top-level value. encoding/json drops an error that came with the
// value's last bytes and reads again for what follows, so this does too.
func (d *bodyDecoder) complete() { d.err = nil }

// trailing checks that nothing but white space follows the top-level value, answering as Decode's
// dec.Token does: only the body limit, reached while reading white space or a scalar that follows,
// makes another error than errTrailingData.
func (d *bodyDecoder) trailing() error {
	c, err := d.first()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err == nil {
		switch c {
		case '{', '[', '}', ']', ',', ':':
			return errTrailingData
		}
		if err = d.skipValue(0); err == nil {
			err = d.endTop()
		}
	}
	var big *http.MaxBytesError
	if errors.As(err, &big) {
		return err
	}
	return errTrailingData
}

// fill reads more into buf, first moving its unconsumed bytes to the front. It reports whether it
// read anything; when not, d.err says why.
func (d *bodyDecoder) fill() bool {
	if d.err != nil {
		return false
	}
	if d.pos > 0 {
		d.off += int64(d.pos)
		d.end = copy(d.buf, d.buf[d.pos:d.end])
		d.pos = 0
	}
	for range 100 {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		d.high = max(d.high, d.end)
		d.err = err
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	d.err = io.ErrNoProgress
	return false
}

// ensure reads until n bytes are available at d.pos, or nothing more can be read, and returns how
// many are.
func (d *bodyDecoder) ensure(n int) int {
	for d.end-d.pos < n && d.fill() {
	}
	return d.end - d.pos
}

// failure is the error for a body that stops inside the top-level value.
func (d *bodyDecoder) failure() error {
	if d.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return d.err
}

// syntaxAt is a syntax error at buf[i], with the offset encoding/json's scanner gives it: the number
// of bytes up to and including the offending one.
func (d *bodyDecoder) syntaxAt(i int) error {
	return &json.SyntaxError{Offset: d.off + int64(i) + 1}
}

// kindOf names the JSON kind a value starting with c has, as encoding/json's type errors do.
func kindOf(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// typeError is the error encoding/json saves for a value of kind where field's string (or, for field
// "", the body's object) belongs.
func typeError(field, kind string) error {
	return &json.UnmarshalTypeError{Value: kind, Type: stringType, Field: field}
}

func isSpace(c byte) bool {
	return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n')
}
