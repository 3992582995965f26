package web

import (
	"bytes"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/static"
)

// staticAsset handles GET /static/FILE. Pages link the hashed URL (static.URL), which is answered
// with a year's immutable caching: its content never changes. A plain name, or a hash of another
// version (a page an older instance served during an upgrade), is answered with the current content,
// revalidated each time (no-cache with an ETag), so a browser never keeps it as that URL's for good.
func staticAsset(c echo.Context) error {
	a, current, ok := static.Lookup(c.Param("*"))
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	if current {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.Hash+`"`)
	http.ServeContent(c.Response(), c.Request(), a.Name, time.Time{}, bytes.NewReader(a.Data))
	return nil
}
