package views

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// relTime says how long before now t was, in the words of the secrets table:
// "just now", "5 minutes ago", "2 hours ago", "3 days ago", and the date
// ("Jan 2, 2006", UTC) once it is 30 days or more.
func relTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute: // includes small clock skew into the future
		return "just now"
	case d < time.Hour:
		return Plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return Plural(int(d/time.Hour), "hour") + " ago"
	case d < 30*24*time.Hour:
		return Plural(int(d/(24*time.Hour)), "day") + " ago"
	default:
		return t.UTC().Format("Jan 2, 2006")
	}
}

// exactTime is the full UTC time shown in a title attribute next to relTime.
func exactTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// isoTime is the machine-readable time for a <time datetime> attribute.
func isoTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// Plural counts unit in English: "1 secret", "3 secrets". Handlers use it for their toasts too.
func Plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// formatInt writes n with thousands separators: 10000 becomes "10,000".
func formatInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// csrfHeaders is the hx-headers value that makes every htmx request carry the
// CSRF token. templ escapes it as an attribute value.
func csrfHeaders(token string) string {
	b, err := json.Marshal(map[string]string{"X-CSRF-Token": token})
	if err != nil { // a map of strings always marshals
		return "{}"
	}
	return string(b)
}

// secretURL builds /secrets/{id}/{action} ("" for /secrets/{id}), escaping id.
func secretURL(id, action string) string {
	u := "/secrets/" + url.PathEscape(id)
	if action != "" {
		u += "/" + action
	}
	return u
}

// secretsPageURL is the list URL for a search, a filter (only: "", "owned" or "shared") and a page.
func secretsPageURL(q, only string, page int) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if only != "" {
		v.Set("only", only)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/secrets"
	}
	return "/secrets?" + v.Encode()
}

// pageRange returns the 1-based positions of the first and last row shown.
func pageRange(p SecretsProps) (from, to int) {
	size := p.PageSize
	if size <= 0 {
		size = len(p.Rows)
	}
	page := max(p.Page, 1)
	from = (page-1)*size + 1
	to = from + len(p.Rows) - 1
	return from, to
}

// hasPrev reports whether there is a page before this one.
func hasPrev(p SecretsProps) bool { return p.Page > 1 }

// hasNext reports whether rows remain after this page.
func hasNext(p SecretsProps) bool {
	_, to := pageRange(p)
	return len(p.Rows) > 0 && to < p.Total
}

// showingText is the pager's "Showing 1–50 of 10,000".
func showingText(p SecretsProps) string {
	from, to := pageRange(p)
	return fmt.Sprintf("Showing %s–%s of %s", formatInt(from), formatInt(to), formatInt(p.Total))
}

// initials gives up to two letters for the avatar: "Ada Admin" becomes "AA".
func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(f)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// navItem is one link of the sidebar.
type navItem struct {
	key, label, href string
}

// orgNav lists the Organization section; the audit log is for admins only.
func orgNav(isAdmin bool) []navItem {
	items := []navItem{
		{"members", "Members", "/members"},
		{"teams", "Teams", "/teams"},
		{"apikeys", "API Keys", "/apikeys"},
	}
	if isAdmin {
		items = append(items, navItem{"audit", "Audit log", "/audit"})
	}
	return items
}

// pageTitle is the document title: "Secrets · keyhold".
func pageTitle(title string) string {
	if title == "" {
		return "keyhold"
	}
	return title + " · keyhold"
}

// textareaText puts a newline before v because the HTML parser drops one
// newline right after <textarea>: without it a value starting with a newline
// would lose it.
func textareaText(v string) string {
	return "\n" + v
}

// avatarTones is how many avatar colours there are (.avatar-tone-0 … in app.css).
const avatarTones = 8

// avatarTone is the colour class of a person's avatar: the same for one email wherever it shows, and
// most likely different for two people.
func avatarTone(email string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "avatar-tone-" + strconv.Itoa(int(h.Sum32()%avatarTones))
}

// sizeText is a value's size for people: "12 bytes", "4.0 KiB", "5.0 MiB".
func sizeText(n int) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 1024:
		return strconv.Itoa(n) + " bytes"
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
}

// A revealed value longer than largeValue shows its first previewLimit bytes
// (cut at a character boundary) with Download, instead of the whole of it.
const (
	largeValue   = 256 << 10
	previewLimit = 64 << 10
)

// isLarge reports whether a revealed value is shown as a preview.
func isLarge(p SecretEdit) bool { return len(p.Value) > largeValue }

// valueInBox reports whether the value field's text box holds the stored value (revealed, and not
// too large to show), rather than being empty for a new one.
func valueInBox(p SecretEdit) bool { return p.Revealed && !isLarge(p) }

// previewBytes is how much of value the preview shows: previewLimit bytes, less the tail of a
// character cut in two.
func previewBytes(value string) int {
	n := min(len(value), previewLimit)
	for n > 0 && n < len(value) && !utf8.RuneStart(value[n]) {
		n--
	}
	return n
}
