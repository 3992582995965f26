package static

import (
	"regexp"
	"testing"
	"testing/fstest"
)

func TestHash_ChangesWithContent(t *testing.T) {
	a, b := Hash([]byte("body{color:red}")), Hash([]byte("body{color:blue}"))
	if a == b {
		t.Fatalf("two contents hash alike: %s", a)
	}
	if a != Hash([]byte("body{color:red}")) {
		t.Error("one content hashes differently twice")
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(a) {
		t.Errorf("hash %q is not 16 hex digits", a)
	}
}

// A changed file gets a new URL: the hash is of what load read.
func TestLoad_HashesEachFile(t *testing.T) {
	v1, err := load(fstest.MapFS{"app.css": {Data: []byte("a{}")}, "app.js": {Data: []byte("x()")}})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := load(fstest.MapFS{"app.css": {Data: []byte("a{color:red}")}, "app.js": {Data: []byte("x()")}})
	if err != nil {
		t.Fatal(err)
	}
	if v1["app.css"].Hash == v2["app.css"].Hash {
		t.Error("a changed stylesheet keeps its hash")
	}
	if v1["app.js"].Hash != v2["app.js"].Hash {
		t.Error("an unchanged script changes its hash")
	}
	if got, want := hashedName("htmx.min.js", "0123456789abcdef"), "htmx.min.0123456789abcdef.js"; got != want {
		t.Errorf("hashedName = %q, want %q", got, want)
	}
}

func TestLookup(t *testing.T) {
	css := assets["app.css"]
	if css == nil || len(css.Data) == 0 {
		t.Fatal("app.css is not embedded")
	}
	if got, want := URL("app.css"), "/static/app."+Hash(css.Data)+".css"; got != want {
		t.Fatalf("URL(app.css) = %q, want %q", got, want)
	}
	tests := []struct {
		file        string
		name        string
		current, ok bool
	}{
		{"app." + css.Hash + ".css", "app.css", true, true},
		{"htmx.min." + assets["htmx.min.js"].Hash + ".js", "htmx.min.js", true, true},
		{"app.css", "app.css", false, true},                  // the plain name: current content, not for good
		{"app.0123456789abcdef.css", "app.css", false, true}, // another version's hash
		{"app.deadbeef.css", "app.css", false, true},         // a shorter hash
		{"app.NOTAHASH.css", "", false, false},               // not a hash
		{"nope.0123456789abcdef.css", "", false, false},      // no such asset
		{"nope.css", "", false, false},                       //
		{"../embed.go", "", false, false},                    //
		{"app." + css.Hash + ".js", "app.js", false, true},   // app.css's hash is not app.js's
		{"", "", false, false},                               //
	}
	for _, tt := range tests {
		a, current, ok := Lookup(tt.file)
		if ok != tt.ok || current != tt.current || (ok && a.Name != tt.name) {
			t.Errorf("Lookup(%q) = %v, current=%v, ok=%v; want %s, %v, %v", tt.file, a, current, ok, tt.name, tt.current, tt.ok)
		}
	}
}
