package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/handlers/jsonbody"
)

// The wire types of POST /v1/secrets/import, keyhold's own extension of the API: here rather than in
// api_types.go, beside the one handler that uses them.

// importRequest is the import body. Each item of Secrets is decoded as POST /v1/secrets decodes its
// body (jsonbody.DecodeSecret): the value byte for byte, refused when it is not UTF-8 text.
type importRequest struct {
	Secrets   *[]json.RawMessage `json:"secrets"`
	Overwrite bool               `json:"overwrite"`
	DryRun    bool               `json:"dryRun"`
}

// importResultJSON is what an import did, or with dryRun would do. It never holds a value.
type importResultJSON struct {
	DryRun    bool             `json:"dryRun"`
	Created   int              `json:"created"`
	Updated   int              `json:"updated"`
	Unchanged int              `json:"unchanged"`
	Skipped   int              `json:"skipped"`
	Items     []importItemJSON `json:"items"`
}

// importItemJSON is the outcome of one item; Version, LastUpdatedBy and LastUpdatedAt describe the
// existing secret as it was before the import, when the caller can see it.
type importItemJSON struct {
	Name          string `json:"name"`
	Outcome       string `json:"outcome"`
	Reason        string `json:"reason,omitempty"`
	Version       int64  `json:"version,omitempty"`
	LastUpdatedBy string `json:"lastUpdatedBy,omitempty"`
	LastUpdatedAt string `json:"lastUpdatedAt,omitempty"`
}

// SecretImport handles POST /v1/secrets/import: many secrets created, and with overwrite replaced, in
// one transaction, all or none; with dryRun, what that would do, changing nothing.
func (a *API) SecretImport(c echo.Context) error {
	in, items, err := decodeImportRequest(c)
	if err != nil {
		return err
	}
	res, err := a.Store.ImportSecrets(c.Request().Context(), actor(c), items, db.ImportOptions{Overwrite: in.Overwrite, DryRun: in.DryRun})
	if err != nil {
		return err
	}
	return sendJSON(c, newImportResultJSON(res, in.DryRun))
}

// decodeImportRequest decodes the body and each of its items. An item that cannot be read refuses the
// whole request with CodeInvalid, naming the item by its position.
func decodeImportRequest(c echo.Context) (importRequest, []db.ImportItem, error) {
	var in importRequest
	if err := decodeJSON(c, &in); err != nil {
		return in, nil, err
	}
	if in.Secrets == nil {
		return in, nil, db.Errorf(db.CodeInvalid, `"secrets" is required: send a JSON array of {"name": …, "value": …} objects.`)
	}
	raws := *in.Secrets
	items := make([]db.ImportItem, len(raws))
	for i, raw := range raws {
		it, err := jsonbody.DecodeSecret(bytes.NewReader(raw), int64(len(raw)), true, db.MaxValueBytes)
		raws[i] = nil // held once: as a value from here on
		switch {
		case err != nil:
			return in, nil, importItemError(i, err)
		case it.Name == nil:
			return in, nil, importItemError(i, missing("name"))
		case it.Value == nil:
			return in, nil, importItemError(i, missing("value"))
		}
		items[i] = db.ImportItem{Name: *it.Name, Value: it.Value}
	}
	return in, items, nil
}

// importItemError is CodeInvalid naming the item at index i, with err's message: a value over the
// limit too, as db refuses one in an import.
func importItemError(i int, err error) error {
	var e *db.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := strings.TrimPrefix(e.Message, "Invalid JSON body: ")
	// DecodeSecret counts bytes from the start of what it read: the item, not the body.
	msg = strings.Replace(msg, "of the body", "of the item", 1)
	return db.Errorf(db.CodeInvalid, `Item %d of "secrets": %s`, i+1, msg)
}

func newImportResultJSON(res *db.ImportResult, dryRun bool) importResultJSON {
	out := importResultJSON{DryRun: dryRun, Created: res.Created, Updated: res.Updated, Unchanged: res.Unchanged,
		Skipped: res.Skipped, Items: make([]importItemJSON, 0, len(res.Items))}
	for _, it := range res.Items {
		out.Items = append(out.Items, importItemJSON{Name: it.Name, Outcome: string(it.Outcome), Reason: it.Reason,
			Version: it.Version, LastUpdatedBy: it.UpdatedBy.ID, LastUpdatedAt: apiTime(it.UpdatedAt)})
	}
	return out
}
