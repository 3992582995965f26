// Package static holds the portal's browser assets: vendored htmx, the
// stylesheet and the small script that wires dialogs, copy buttons and toasts.
package static

import "embed"

// FS holds the static assets, served as they are under /static/.
//
//go:embed htmx.min.js app.js app.css favicon.svg LICENSE-htmx
var FS embed.FS
