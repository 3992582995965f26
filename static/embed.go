// Package static holds the portal's browser assets: vendored htmx, the
// stylesheet and the small script that wires dialogs, copy buttons and toasts.
//
// Pages link each asset by a URL that carries a hash of its content (URL:
// /static/app.3f9a1c2b.css), computed once at start-up from the embedded files.
// Those URLs may be cached for good: an upgrade that changes a file changes its
// URL, so no browser runs an old script or stylesheet from its cache. Lookup
// answers an older (or unknown) hash of a file with the current content, to be
// served without long caching.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
)

// FS holds the static assets, served under /static/.
//
//go:embed htmx.min.js app.js app.css favicon.svg LICENSE-htmx
var FS embed.FS

// Asset is one embedded file with the hash of its content.
type Asset struct {
	// Name is the file's name in FS, e.g. "app.css".
	Name string
	// Hash is Hash(Data).
	Hash string
	// Data is the file's content.
	Data []byte
}

// assets is every file of FS by name, hashed once: the files never change while the process runs.
var assets = mustLoad(FS)

func mustLoad(fsys fs.FS) map[string]*Asset {
	out, err := load(fsys)
	if err != nil { // the files are embedded: only a broken build gets here
		panic("static: " + err.Error())
	}
	return out
}

func load(fsys fs.FS) (map[string]*Asset, error) {
	out := map[string]*Asset{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out[p] = &Asset{Name: p, Hash: Hash(data), Data: data}
		return nil
	})
	return out, err
}

// Hash is the content hash that goes into an asset's URL: the first 8 bytes of its SHA-256, in hex.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// URL is the cacheable URL of the asset named name: "/static/app.3f9a1c2b3d4e5f60.css" for
// "app.css". A name FS does not hold (a programming error) gets its plain /static/ URL.
func URL(name string) string {
	a, ok := assets[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + hashedName(a.Name, a.Hash)
}

// hashedName puts hash before the name's extension: "app.css" becomes "app.HASH.css", "htmx.min.js"
// "htmx.min.HASH.js".
func hashedName(name, hash string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + hash + ext
}

// Lookup finds the asset a request for /static/file asks for: file is either an asset's name or a
// hashed name (URL). current reports that file is the asset's current URL, which may be cached for
// good; a plain name, or a hash of an older version, gets the current content too, but may not be
// cached as if it were that. ok is false when no asset has that name.
func Lookup(file string) (a *Asset, current, ok bool) {
	if a, ok := assets[file]; ok {
		return a, false, true
	}
	ext := path.Ext(file)
	stem := strings.TrimSuffix(file, ext)
	i := strings.LastIndexByte(stem, '.')
	if i < 0 || !isHex(stem[i+1:]) {
		return nil, false, false
	}
	a, ok = assets[stem[:i]+ext]
	if !ok {
		return nil, false, false
	}
	return a, stem[i+1:] == a.Hash, true
}

// isHex reports whether s is a plausible hash: 8 to 64 lower-case hex digits.
func isHex(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
