package db

// The .env format, read (ParseDotenv) and written (FormatDotenv) here alone: the CLI's import and
// export and the portal's import dialog all go through these two functions.
//
// What ParseDotenv reads, line by line (lines end in LF; CRLF is read as LF everywhere, inside quoted
// values too, and a UTF-8 BOM at the start of the file is skipped):
//
//   - Blank lines, and lines whose first non-blank character is #, are skipped.
//   - NAME=value, optionally after "export " (a line "export=x" is the name export). Spaces and tabs
//     around the name and around = are dropped; the name is everything else before the first =, kept as
//     written: a name that breaks the name rule is an entry with a Problem, never rewritten.
//   - An unquoted value is the rest of the line without its leading and trailing spaces and tabs (and
//     a trailing CR): a # preceded by a space or a tab starts a comment (a#b stays a#b; NAME=#x is #x).
//     Nothing in it is special: no escapes, no variable expansion.
//   - 'single quotes' hold a literal value, which may span lines and holds any byte but '.
//   - "double quotes" may span lines too; in them \n, \r, \t, \" and \\ are escapes, and a backslash
//     before any other character is kept with it (C:\Users stays C:\Users). No variable expansion.
//   - After a closing quote, only spaces, tabs and a # comment may follow on its line.
//   - A later entry with the same name replaces an earlier one: both are returned, the earlier marked
//     Overridden, so that a preview can show it.
//
// A line that is none of these (no = at all, text after a closing quote) or a quote that is never
// closed makes the whole file an error naming the line: CodeInvalid, "unterminated quote on line 7".
// A stray line is likelier a broken multi-line value than a setting, so it is refused, not guessed at,
// and the error never holds a byte of the file, only line numbers.
//
// FormatDotenv writes what ParseDotenv reads back byte for byte (FuzzDotenvRoundTrip): a value of
// only letters, digits and _-.,:/@+=% unquoted; a value without ', CR or LF in single quotes; any
// other in double quotes, with \, ", LF and CR escaped. That holds for every byte sequence, UTF-8 or
// not: quotes carry any byte, and CR and LF are written as escapes, so line endings cannot change
// them. (keyhold stores UTF-8 text only; FormatDotenv does not refuse other bytes, ParseDotenv reads
// them back, and the entry's Problem says it cannot be imported.)

import (
	"bufio"
	"bytes"
	"io"
)

// DotenvEntry is one assignment of a .env file.
type DotenvEntry struct {
	Line  int    // 1-based line where it starts
	Name  string // as written, never rewritten
	Value []byte // byte-exact; never shares memory with the parsed file
	// Problem says why the entry cannot be imported ("" when it can), in ValidateSecret's words: a
	// name that breaks the name rule, a value that is empty, over the limit or not UTF-8 text.
	Problem string
	// Overridden is set on an entry a later one with the same name replaces (the later wins).
	Overridden bool
}

// NameValue is a secret's name and value, as FormatDotenv writes them.
type NameValue struct {
	Name  string
	Value []byte
}

var (
	utf8BOM = []byte("\xef\xbb\xbf")
	crlf    = []byte("\r\n")
)

// ParseDotenv parses a .env file (the format is described above). A line it cannot parse (e.g. an
// unterminated quote) makes the whole file an error: *Error with CodeInvalid and a message naming the
// line ("unterminated quote on line 7"). It never puts a value in an error.
func ParseDotenv(data []byte) ([]DotenvEntry, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if bytes.Contains(data, crlf) {
		data = bytes.ReplaceAll(data, crlf, []byte("\n"))
	}
	var entries []DotenvEntry
	for pos, line := 0, 1; pos < len(data); {
		end := lineEnd(data, pos)
		// s, and each part of it below, runs to the end of the line: so a quote's offset is known.
		s := bytes.TrimLeft(data[pos:end], " \t\r")
		if len(s) == 0 || s[0] == '#' {
			pos, line = end+1, line+1
			continue
		}
		s = cutExport(s)
		eq := bytes.IndexByte(s, '=')
		if eq < 0 {
			return nil, Errorf(CodeInvalid, `Line %d is not NAME=value: it has no "=".`, line)
		}
		e := DotenvEntry{Line: line, Name: string(bytes.TrimRight(s[:eq], " \t"))}
		rest := s[eq+1:]
		value := bytes.TrimLeft(rest, " \t")
		if len(value) == 0 || value[0] != '"' && value[0] != '\'' {
			e.Value = bytes.Clone(unquoted(rest))
			if e.Value == nil {
				e.Value = []byte{}
			}
			entries = append(entries, e)
			pos, line = end+1, line+1
			continue
		}
		// A quoted value may run past this line: read it from the file, from its opening quote.
		open := end - len(value)
		v, after, lines, ok := quoted(data, open)
		if !ok {
			return nil, Errorf(CodeInvalid, "Unterminated quote on line %d: the value opened there is never closed.", line)
		}
		line += lines
		end = lineEnd(data, after)
		if tail := trimBlank(data[after:end]); len(tail) > 0 && tail[0] != '#' {
			return nil, Errorf(CodeInvalid, "Unexpected text after the closing quote on line %d: only a # comment may follow it.", line)
		}
		e.Value = v
		entries = append(entries, e)
		pos, line = end+1, line+1
	}
	last := make(map[string]int, len(entries))
	for i := range entries {
		e := &entries[i]
		if err := ValidateSecret(e.Name, e.Value); err != nil {
			e.Problem = ErrorMessage(err)
		}
		if j, ok := last[e.Name]; ok {
			entries[j].Overridden = true
		}
		last[e.Name] = i
	}
	return entries, nil
}

// lineEnd is the index of the LF that ends the line starting at pos, or len(data).
func lineEnd(data []byte, pos int) int {
	if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
		return pos + i
	}
	return len(data)
}

// trimBlank drops leading and trailing spaces, tabs and CRs (a CR left by a file with CR line
// endings, or one that lost its LF at the end of the file).
func trimBlank(b []byte) []byte { return bytes.Trim(b, " \t\r") }

// cutExport drops a leading "export" and the blanks after it, unless it is itself the name.
func cutExport(s []byte) []byte {
	const kw = "export"
	if len(s) <= len(kw) || string(s[:len(kw)]) != kw || s[len(kw)] != ' ' && s[len(kw)] != '\t' {
		return s
	}
	if rest := bytes.TrimLeft(s[len(kw):], " \t"); len(rest) > 0 && rest[0] != '=' {
		return rest
	}
	return s
}

// unquoted is an unquoted value: rest (what follows =) up to a # that follows a blank, trimmed.
func unquoted(rest []byte) []byte {
	for i := 1; i < len(rest); i++ {
		if rest[i] == '#' && (rest[i-1] == ' ' || rest[i-1] == '\t') {
			rest = rest[:i]
			break
		}
	}
	return trimBlank(rest)
}

// quoted reads the value whose opening quote is data[open]: its bytes, the index just after its
// closing quote and how many LFs it spans. ok is false when it is never closed.
func quoted(data []byte, open int) (value []byte, after, lines int, ok bool) {
	q := data[open]
	body := data[open+1:]
	if q == '\'' {
		n := bytes.IndexByte(body, '\'')
		if n < 0 {
			return nil, 0, 0, false
		}
		v := body[:n]
		return append([]byte{}, v...), open + 1 + n + 1, bytes.Count(v, []byte("\n")), true
	}
	out := []byte{}
	for i := 0; i < len(body); {
		// Copy the plain run up to the next backslash or quote at once: a 5 MB value is one copy.
		j := bytes.IndexAny(body[i:], `"\`)
		if j < 0 {
			break
		}
		out = append(out, body[i:i+j]...)
		lines += bytes.Count(body[i:i+j], []byte("\n"))
		i += j
		if body[i] == '"' {
			return out, open + 1 + i + 1, lines, true
		}
		if i+1 == len(body) {
			break // a backslash at the end of the file: the quote is never closed
		}
		switch c := body[i+1]; c {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '"', '\\':
			out = append(out, c)
		default:
			out = append(out, '\\', c)
			if c == '\n' {
				lines++
			}
		}
		i += 2
	}
	return nil, 0, 0, false
}

// FormatDotenv writes pairs as a .env file, one NAME=value line each, that ParseDotenv reads back
// byte-exact (see the top of this file for how each value is quoted). Every name must follow the name
// rule: otherwise it returns that rule's CodeInvalid, naming the pair, before writing anything.
func FormatDotenv(w io.Writer, pairs []NameValue) error {
	for i, p := range pairs {
		if err := ValidateSecretName(p.Name); err != nil {
			return Errorf(CodeInvalid, "%s: %s", itemLabel(i, p.Name), ErrorMessage(err))
		}
	}
	bw := bufio.NewWriter(w)
	for _, p := range pairs {
		bw.WriteString(p.Name)
		bw.WriteByte('=')
		writeDotenvValue(bw, p.Value)
		bw.WriteByte('\n')
	}
	return bw.Flush() // a bufio.Writer keeps the first write error and returns it here
}

// writeDotenvValue writes v unquoted, single-quoted or double-quoted with escapes: the first that
// reads back as v.
func writeDotenvValue(w *bufio.Writer, v []byte) {
	switch {
	case plainDotenv(v):
		w.Write(v)
	case !bytes.ContainsAny(v, "'\r\n"):
		w.WriteByte('\'')
		w.Write(v)
		w.WriteByte('\'')
	default:
		w.WriteByte('"')
		for len(v) > 0 {
			i := bytes.IndexAny(v, "\\\"\r\n")
			if i < 0 {
				w.Write(v)
				break
			}
			w.Write(v[:i])
			switch v[i] {
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			default:
				w.WriteByte('\\')
				w.WriteByte(v[i])
			}
			v = v[i+1:]
		}
		w.WriteByte('"')
	}
}

// plainDotenv reports whether v may be written unquoted: only bytes that mean nothing to ParseDotenv
// nor to a shell that sources the file (an empty value is written as NAME=).
func plainDotenv(v []byte) bool {
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case bytes.IndexByte([]byte("_-.,:/@+=%"), c) >= 0:
		default:
			return false
		}
	}
	return true
}
