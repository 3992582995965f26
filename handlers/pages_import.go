package handlers

// The Import dialog: a pasted or loaded .env file, previewed (a dry run) and then imported in one
// transaction. Every POST answers with the dialog's #import-result (the preview and the footer), never
// with the textarea: the text stays in the browser, so no answer holds a value, not even after a
// refusal.
//
// The preview binds what it previewed: the hidden "previewed" field is an HMAC, under the session's
// CSRF token, of the organization, the overwrite choice and the text. An Import whose text or choice
// changed since (or that was never previewed) imports nothing and is answered with a fresh preview. The
// hidden "plan" field holds the outcome the preview showed for each secret, and db imports only if
// every outcome is still that one (ImportOptions.Expect): a name taken or a secret changed between the
// preview and the import refuses it all, and the dialog shows the fresh preview with the refusal.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// SecretImportDialog handles GET /secrets/import: the Import dialog, empty.
func (p *Pages) SecretImportDialog(c echo.Context) error {
	return render(c, http.StatusOK, views.ImportDialog())
}

// SecretImport handles POST /secrets/import from the Import dialog: the preview (a dry run), or with
// confirm=1 the import of the text that was previewed, all or nothing.
func (p *Pages) SecretImport(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	text := c.FormValue("dotenv")
	opt := db.ImportOptions{Overwrite: c.FormValue("overwrite") == "1"}
	entries, err := db.ParseDotenv([]byte(text))
	if err != nil {
		return importRefused(c, err)
	}
	if len(entries) == 0 {
		return importRefused(c, db.Errorf(db.CodeInvalid, "Nothing to import: paste NAME=value lines, or load a .env file."))
	}
	b := newImportBatch(entries)
	fp := importFingerprint(c, a.OrgID, opt.Overwrite, text)
	var refusal string
	if c.FormValue("confirm") == "1" {
		switch {
		case !hmac.Equal([]byte(c.FormValue("previewed")), []byte(fp)):
			refusal = "Nothing was imported: the text, the overwrite choice or the organization changed since the preview. Check this preview, then import."
		case b.invalid > 0:
			refusal = "Nothing was imported: fix the lines marked Invalid, preview again, then import."
		default:
			// What was previewed is imported, or nothing: db refuses the import if any outcome moved.
			opt.Expect = expectedPlan(c.FormValue("plan"))
			res, err := p.Store.ImportSecrets(ctx, a, b.items, opt)
			opt.Expect = nil
			if err == nil {
				c.Response().Header().Set("HX-Retarget", "#dialog") // the empty answer closes the dialog
				c.Response().Header().Set("HX-Reswap", "innerHTML")
				return notify(c, "secrets-changed", importedText(res))
			}
			if !importRefusal(err) {
				return err
			}
			// Nothing was written. The preview below shows things as they are now: a second call, as
			// a refused change draws its form again.
			refusal = db.ErrorMessage(err)
		}
	}
	opt.DryRun = true
	res, err := p.Store.ImportSecrets(ctx, a, b.items, opt)
	if importRefusal(err) {
		return importRefused(c, err)
	} else if err != nil {
		return err
	}
	prev := b.preview(res, time.Now())
	prev.Fingerprint, prev.Plan, prev.Err = fp, importPlan(res), refusal
	status := http.StatusOK
	if refusal != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.ImportPanel(prev))
}

// importRefused draws the dialog's result with err's message and no preview (422): the text stays in
// the browser's textarea.
func importRefused(c echo.Context, err error) error {
	return render(c, http.StatusUnprocessableEntity, views.ImportPanel(views.ImportPreview{Err: db.ErrorMessage(err)}))
}

// importRefusal reports whether err is an import db refused as a whole, which the dialog shows.
func importRefusal(err error) bool {
	switch db.ErrorCode(err) {
	case db.CodeInvalid, db.CodeConflict, db.CodeTooLarge:
		return true
	}
	return false
}

// importFingerprint names what a preview previewed: an HMAC of the organization, the overwrite choice
// and the text, keyed with the session's CSRF token, so that the answer carries nothing that helps
// guess a value.
func importFingerprint(c echo.Context, orgID string, overwrite bool, text string) string {
	h := hmac.New(sha256.New, []byte("keyhold import preview\x00"+request.CSRF(c)))
	choice := "keep"
	if overwrite {
		choice = "overwrite"
	}
	h.Write([]byte(orgID + "\x00" + choice + "\x00"))
	h.Write([]byte(text))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// importPlan is the outcome of each item, in order: "create:0,update:3,skip:0".
func importPlan(res *db.ImportResult) string {
	tokens := make([]string, len(res.Items))
	for i, it := range res.Items {
		tokens[i] = planToken(it)
	}
	return strings.Join(tokens, ",")
}

func planToken(it db.ImportResultItem) string {
	return string(it.Outcome) + ":" + strconv.FormatInt(it.Version, 10)
}

// expectedPlan reads importPlan's form back as the outcomes the import must have; a token that does
// not parse expects an outcome none has, so the import is refused.
func expectedPlan(plan string) []db.ImportExpectation {
	var out []db.ImportExpectation
	for _, tok := range strings.Split(plan, ",") {
		outcome, version, _ := strings.Cut(tok, ":")
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			outcome = "?"
		}
		out = append(out, db.ImportExpectation{Outcome: db.ImportOutcome(outcome), Version: v})
	}
	return out
}

// importedText is the toast of a done import: "Imported: 3 created, 1 updated, 2 unchanged.".
func importedText(res *db.ImportResult) string {
	var parts []string
	for _, n := range []struct {
		n    int
		word string
	}{{res.Created, "created"}, {res.Updated, "updated"}, {res.Unchanged, "unchanged"}, {res.Skipped, "skipped"}} {
		if n.n > 0 {
			parts = append(parts, strconv.Itoa(n.n)+" "+n.word)
		}
	}
	return "Imported: " + strings.Join(parts, ", ") + "."
}

// importBatch is a parsed file and the items it imports: of each name its last entry, when that entry
// can be imported.
type importBatch struct {
	entries  []db.DotenvEntry
	items    []db.ImportItem
	itemOf   []int          // by entry: its item, or -1
	lastLine map[string]int // by name: the line of the entry that wins
	invalid  int            // entries that win and cannot be imported
}

func newImportBatch(entries []db.DotenvEntry) *importBatch {
	b := &importBatch{entries: entries, itemOf: make([]int, len(entries)), lastLine: map[string]int{}}
	for i, e := range entries {
		b.itemOf[i] = -1
		switch {
		case e.Overridden:
		case e.Problem != "":
			b.invalid++
			b.lastLine[e.Name] = e.Line
		default:
			b.itemOf[i] = len(b.items)
			b.items = append(b.items, db.ImportItem{Name: e.Name, Value: e.Value})
			b.lastLine[e.Name] = e.Line
		}
	}
	return b
}

// preview lays the batch out a row an entry, each importable one with its outcome in res. It holds no
// value.
func (b *importBatch) preview(res *db.ImportResult, now time.Time) views.ImportPreview {
	p := views.ImportPreview{Rows: make([]views.ImportRow, len(b.entries)), Now: now, Creates: res.Created,
		Updates: res.Updated, Unchanged: res.Unchanged, Skipped: res.Skipped, Invalid: b.invalid}
	for i, e := range b.entries {
		row := views.ImportRow{Line: e.Line, Name: e.Name}
		switch {
		case e.Overridden:
			row.Status, row.ReplacedBy = views.ImportReplaced, b.lastLine[e.Name]
			p.Replaced++
		case e.Problem != "":
			row.Status, row.Detail = views.ImportInvalid, e.Problem
		default:
			it := res.Items[b.itemOf[i]]
			row.Status, row.Detail, row.Version, row.At = importStatus(it.Outcome), it.Reason, it.Version, it.UpdatedAt
			row.By = it.UpdatedBy.Name
			if row.By == "" {
				row.By = it.UpdatedBy.Email
			}
		}
		p.Rows[i] = row
	}
	return p
}

func importStatus(o db.ImportOutcome) views.ImportStatus {
	switch o {
	case db.ImportCreate:
		return views.ImportNew
	case db.ImportUpdate:
		return views.ImportOverwrite
	case db.ImportUnchanged:
		return views.ImportUnchanged
	}
	return views.ImportSkipped
}
