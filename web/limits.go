package web

import (
	"errors"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// portalBodyLimit (16 MB) admits a 5 MiB value form-encoded (up to 3 bytes per byte) plus the other
// fields.
const portalBodyLimit = 16_000_000

// portalBody caps a portal request's body at portalBodyLimit while it is read, and reads a form body
// before anything else does. A declared length over the limit is refused before a byte is read; a form
// over the limit is 413, and a form that cannot be parsed (too many fields, bad encoding) is 400. The
// handlers read fields with c.FormValue, which drops parse errors: without this, such a form would
// reach them as a form with empty fields.
//
// The body is wrapped in http.MaxBytesReader (not echo's BodyLimit) because net/http caps any other
// url-encoded body at 10 MB, below the size of a legal value once encoded.
func portalBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > portalBodyLimit {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		if req.Body == nil || req.Body == http.NoBody {
			return next(c)
		}
		// The raw writer, so that the server closes the connection instead of draining the rest.
		req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, portalBodyLimit)
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
		default:
			return next(c)
		}
		ct := req.Header.Get(echo.HeaderContentType)
		if !strings.HasPrefix(ct, echo.MIMEApplicationForm) && !strings.HasPrefix(ct, echo.MIMEMultipartForm) {
			return next(c)
		}
		if _, err := c.FormParams(); err != nil {
			var big *http.MaxBytesError
			if errors.As(err, &big) || errors.Is(err, multipart.ErrMessageTooLarge) {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
			}
			return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read: reload the page and try again.")
		}
		return next(c)
	}
}
