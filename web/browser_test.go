package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web/webtest"
)

// The browser tests drive the portal in a real headless Chromium over real HTTP on loopback. One
// browser process serves the whole package; each test gets its own browser context (its own cookies
// and storage) in a new tab. A failing test saves a screenshot under testdata/failures/, and any
// console error or uncaught exception on our pages (CSP violations included) fails the test.

const (
	browserStepTimeout = 15 * time.Second // one action: a click, a wait, a page load
	browserTabTimeout  = 90 * time.Second // everything one tab does, screenshot included
	failuresDir        = "testdata/failures"
)

// TestMain runs the package's tests once per backend of the table (dbtest.RunSuites): SQLite, and
// PostgreSQL when a server is configured.
func TestMain(m *testing.M) {
	code := dbtest.RunSuites(m)
	sharedBrowser.stop()
	os.Exit(code)
}

// sharedBrowser is the package's one Chromium, started by the first browser test.
var sharedBrowser browserProcess

type browserProcess struct {
	once    sync.Once
	ctx     context.Context // the browser's chromedp context; tabs are its children
	cancels []context.CancelFunc
	dir     string
	skip    string // why there is no browser, when Chromium is not installed
	err     error
}

// chromiumPath finds Chromium: $KEYHOLD_CHROMIUM, or chromium (or a Chrome) on $PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("KEYHOLD_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on $PATH and KEYHOLD_CHROMIUM is not set")
}

func (b *browserProcess) start() {
	path, err := chromiumPath()
	if err != nil {
		b.skip = err.Error()
		return
	}
	b.dir, b.err = os.MkdirTemp("", "keyhold-chromium-")
	if b.err != nil {
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(b.dir),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b.cancels = append(b.cancels, allocCancel, cancel)
	// The first Do starts the browser and ties its life to ctx, so it gets no deadline of its own:
	// watch it from here instead.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case b.err = <-done:
	case <-time.After(30 * time.Second):
		b.err = errors.New("chromium did not start within 30s")
	}
	if b.err != nil {
		b.err = fmt.Errorf("starting %s: %w", path, b.err)
		return
	}
	b.ctx = ctx
}

func (b *browserProcess) stop() {
	for i := len(b.cancels) - 1; i >= 0; i-- {
		b.cancels[i]()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// browserTab is one test's tab, in a browser context of its own, on the test's server.
type browserTab struct {
	t     *testing.T
	ts    *webtest.Server
	label string          // tells two tabs of one test apart in messages and screenshot names
	tab   context.Context // the tab; lives until the test ends, browserTabTimeout at most
	mu    sync.Mutex
	errs  []string // console errors and uncaught exceptions, as they come
}

// newBrowserTab opens a tab on ts in a fresh browser context. Without Chromium the test is skipped,
// unless $CI is set: CI installs Chromium, so there its absence is a failure.
func newBrowserTab(t *testing.T, ts *webtest.Server) *browserTab {
	t.Helper()
	if dbtest.Current() == dbtest.Postgres {
		// What a browser sees does not depend on the database: the handlers below it run on both.
		t.Skip("the portal in a browser: tested on the SQLite run")
	}
	sharedBrowser.once.Do(sharedBrowser.start)
	switch {
	case sharedBrowser.skip != "" && os.Getenv("CI") != "":
		t.Fatalf("CI is set but there is no browser: %s", sharedBrowser.skip)
	case sharedBrowser.skip != "":
		t.Skipf("no browser: %s (set KEYHOLD_CHROMIUM to run the browser tests)", sharedBrowser.skip)
	case sharedBrowser.err != nil:
		t.Fatal(sharedBrowser.err)
	}
	b := &browserTab{t: t, ts: ts}
	life, lifeCancel := context.WithTimeout(sharedBrowser.ctx, browserTabTimeout)
	tab, tabCancel := chromedp.NewContext(life, chromedp.WithNewBrowserContext(), chromedp.WithListener(b.listen))
	t.Cleanup(func() { tabCancel(); lifeCancel() })
	if err := chromedp.Do(tab); err != nil { // opens the tab, bounded by life
		t.Fatalf("opening a tab: %v", err)
	}
	b.tab = tab
	t.Cleanup(b.screenshotOnFailure)
	t.Cleanup(b.checkConsole) // runs first, so that a console error gets its screenshot too
	return b
}

// listen records console errors and uncaught exceptions. It runs in the tab's event loop: it must
// return fast and send no command.
func (b *browserTab) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "uncaught exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
	case *log.EventEntryAdded:
		// A response with an error status is logged by the network source: those are expected
		// (a refused form answers 422). Everything else at error level is a fault of the page,
		// such as a CSP violation.
		if ev.Entry.Level != log.EntryLevelError || ev.Entry.Source == log.EntrySourceNetwork {
			return
		}
		msg = fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	default:
		return
	}
	b.mu.Lock()
	b.errs = append(b.errs, msg)
	b.mu.Unlock()
}

func (b *browserTab) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, msg := range withoutSupersededRequests(b.errs) {
		b.t.Errorf("the page%s reported an error: %s", b.labelled(), msg)
	}
}

// withoutSupersededRequests drops what htmx logs when hx-sync="this:replace" aborts a request a newer
// one from the same element replaces (a search typed on while the last one was still out; the Share
// field focused again): "htmx:afterRequest, T" then "htmx:sendAbort, T". That is the point of
// replace, not a fault of the page; any other error stays.
func withoutSupersededRequests(errs []string) []string {
	const abort, after = "console.error: htmx:sendAbort", "console.error: htmx:afterRequest"
	var out []string
	for _, msg := range errs {
		if target, ok := strings.CutPrefix(msg, abort); ok {
			if n := len(out); n > 0 && out[n-1] == after+target {
				out = out[:n-1]
			}
			continue
		}
		out = append(out, msg)
	}
	return out
}

func (b *browserTab) screenshotOnFailure() {
	if !b.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("no failure screenshot: %v", err)
		return
	}
	name := b.t.Name()
	if b.label != "" {
		name += "-" + b.label
	}
	name = strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(name) + ".png"
	path := filepath.Join(failuresDir, name)
	err = os.MkdirAll(failuresDir, 0o755)
	if err == nil {
		err = os.WriteFile(path, buf, 0o644)
	}
	if err != nil {
		b.t.Logf("no failure screenshot: %v", err)
		return
	}
	abs, _ := filepath.Abs(path)
	b.t.Errorf("screenshot of the page%s at the failure: %s", b.labelled(), abs)
}

// shot saves a screenshot of the page as name.png in $KEYHOLD_SCREENSHOTS, when that is set: to look
// at what a test drove (go test -run Browser ./web with KEYHOLD_SCREENSHOTS=/tmp/shots).
func (b *browserTab) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("KEYHOLD_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := b.step()
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	}
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

// labelled is " (label)" for a labelled tab, else "".
func (b *browserTab) labelled() string {
	if b.label == "" {
		return ""
	}
	return " (" + b.label + ")"
}

// step is the context of one action: the tab with browserStepTimeout.
func (b *browserTab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.tab, browserStepTimeout)
}

// do runs steps and fails the test, naming what, when one fails.
func (b *browserTab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s%s: %v (page %s)", what, b.labelled(), err, b.Location())
	}
}

// evalJS evaluates a JavaScript expression in the page (awaiting it when it is a promise).
func evalJS[T any](b *browserTab, expr string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// location is the page's path and query, for messages.
func (b *browserTab) Location() string {
	ctx, cancel := context.WithTimeout(b.tab, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown)"
	}
	return strings.TrimPrefix(loc, b.ts.URL)
}

// waitFor waits until the JavaScript expression cond is true.
func (b *browserTab) waitFor(what, cond string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(browserStepTimeout)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v (page %s)", what, cond, err, b.Location())
	}
}

func (b *browserTab) navigate(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.ts.URL+path))
}

func (b *browserTab) click(css string) {
	b.t.Helper()
	// An element htmx has swapped in does nothing when clicked before htmx has processed it (its
	// initHash), and a click in the middle of a swap may land on an element about to be replaced:
	// wait for both.
	b.waitFor("htmx ready for "+css, `(() => {
		const el = document.querySelector(`+jsString(css)+`);
		if (!el) return false;
		if (Array.from(el.attributes).some(a => a.name.startsWith('hx-'))) {
			const d = el['htmx-internal-data'];
			if (!(d && d.initHash)) return false;
		}
		return !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling');
	})()`)
	// An item of a closed row menu ("⋯") is reached as a person reaches it: by opening the menu.
	if evalJS[bool](b, `(() => {
		const el = document.querySelector(`+jsString(css)+`);
		const d = el.closest("details[data-menu]:not([open])");
		if (!d || d.querySelector("summary").contains(el)) return false;
		d.querySelector("summary").setAttribute("data-test-opener", "");
		return true;
	})()`) {
		b.run("open the menu of "+css, chromedp.Click(chromedp.CSS("summary[data-test-opener]")))
		evalJS[bool](b, `(document.querySelector("summary[data-test-opener]").removeAttribute("data-test-opener"), true)`)
		// app.js places the open menu a moment later: click the item once it is where it is shown.
		b.waitFor("the menu item in place "+css, `(() => {
			const el = document.querySelector(`+jsString(css)+`);
			const r = el.getBoundingClientRect();
			const hit = r.width > 0 && document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
			return !!hit && el.contains(hit);
		})()`)
		// Where a person would click it, it is clicked: in the element itself, not at coordinates
		// taken a moment before (under load a mouse click there once missed the placed item).
		evalJS[bool](b, `(document.querySelector(`+jsString(css)+`).click(), true)`)
		return
	}
	b.run("click "+css, chromedp.Click(chromedp.CSS(css)))
}

// typeInto focuses the field and types text, key by key.
func (b *browserTab) typeInto(css, text string) {
	b.t.Helper()
	b.run("type into "+css, chromedp.SendKeys(chromedp.CSS(css), text))
}

// fill sets the field's value at once, with the input and change events typing would fire. (Not
// chromedp.SetValue: it cannot set "".)
func (b *browserTab) fill(css, text string) {
	b.t.Helper()
	b.run("fill "+css, chromedp.WaitVisible(chromedp.CSS(css)))
	ok := evalJS[bool](b, fmt.Sprintf(`(el => {
		if (!el) return false;
		el.value = %s;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})(document.querySelector(%s))`, jsString(text), jsString(css)))
	if !ok {
		b.t.Fatalf("fill %s: no such field (page %s)", css, b.Location())
	}
}

func (b *browserTab) waitVisible(css string) {
	b.t.Helper()
	b.run("wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
}

func (b *browserTab) text(css string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("text of %s: %v (page %s)", css, err, b.Location())
	}
	return strings.TrimSpace(s)
}

func (b *browserTab) value(css string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("value of %s: %v (page %s)", css, err, b.Location())
	}
	return s
}

// path is the page's path and query.
func (b *browserTab) path() string {
	b.t.Helper()
	return evalJS[string](b, "location.pathname + location.search")
}

// rows lists the names in the secrets table, in order.
func (b *browserTab) rows() []string {
	b.t.Helper()
	return evalJS[[]string](b, `Array.from(document.querySelectorAll("#secrets-table .secret-name"), e => e.textContent)`)
}

// waitRows waits until the secrets table shows exactly names.
func (b *browserTab) waitRows(names ...string) {
	b.t.Helper()
	want, err := json.Marshal(names)
	if err != nil {
		b.t.Fatal(err)
	}
	b.waitFor(fmt.Sprintf("rows %v", names), fmt.Sprintf(
		`JSON.stringify(Array.from(document.querySelectorAll("#secrets-table .secret-name"), e => e.textContent)) === %s`, jsString(string(want))))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`).Replace(s) + "'"
}

// waitToast waits for the confirmation toast saying msg (app.js removes it after 4 seconds).
func (b *browserTab) waitToast(msg string) {
	b.t.Helper()
	b.waitFor("the toast "+msg, `Array.from(document.querySelectorAll("#toast .toast"), e => e.textContent).some(s => s.includes(`+jsString(msg)+`))`)
}

// Dialog states, as app.js leaves them.
const (
	dialogOpen   = `!!document.querySelector("#dialog dialog[open]")`
	dialogClosed = `!document.querySelector("#dialog dialog")`
)

// wantFocus waits until the element with this id has the focus, and reports which element had it
// if that never happens. A browser applies autofocus on its next rendering update, a moment after
// the element shows, so a single look right after waitVisible races it.
func (b *browserTab) wantFocus(id, what string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	cond := fmt.Sprintf(`document.activeElement !== null && document.activeElement.id === %q`, id)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(3*time.Second))); err != nil {
		got := evalJS[string](b, `document.activeElement ? document.activeElement.id : ""`)
		b.t.Errorf("focus on #%s, want %s (#%s)", got, what, id)
	}
}

// countRequests starts counting the requests htmx sends from now on; requests reads the count.
func (b *browserTab) countRequests() {
	b.t.Helper()
	evalJS[bool](b, `window.khRequests = 0; if (!window.khCounting) { window.khCounting = true;
		document.addEventListener("htmx:beforeRequest", () => window.khRequests++); } true`)
}

func (b *browserTab) requests() int {
	b.t.Helper()
	return evalJS[int](b, `window.khRequests`)
}

// openAs signs the tab in as email without the sign-in form (TestBrowser_SignOutAndIn tests that):
// it hands the browser a session made in the store, in the user's first organization, and opens the
// Secrets page.
func (b *browserTab) openAs(email string) {
	b.t.Helper()
	ctx := context.Background()
	u, err := b.ts.Store.UserByEmail(ctx, email)
	if err != nil {
		b.t.Fatal(err)
	}
	ms, err := b.ts.Store.Memberships(ctx, u.ID)
	if err != nil || len(ms) == 0 {
		b.t.Fatalf("memberships of %s: %v %v", email, ms, err)
	}
	token, err := b.ts.Store.CreateSession(ctx, u.ID, ms[0].OrgID)
	if err != nil {
		b.t.Fatal(err)
	}
	httpOnly := true
	sctx, cancel := b.step()
	defer cancel()
	_, err = chromedp.Call(sctx, network.SetCookie, network.SetCookieParams{Name: "kh_session", Value: token, URL: b.ts.URL,
		HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax})
	if err != nil {
		b.t.Fatalf("setting the session cookie: %v", err)
	}
	b.navigate("/secrets")
	b.waitVisible("#secret-search")
}

// signOut signs out through the user menu and waits for the sign-in page.
func (b *browserTab) signOut() {
	b.t.Helper()
	b.click("summary.user-menu-button")
	b.click(`form[action="/logout"] button[type="submit"]`)
	b.waitVisible("#login-email")
}

func TestBrowser_FirstRunSetup(t *testing.T) {
	ts := webtest.New(t)
	b := newBrowserTab(t, ts)

	b.navigate("/")
	b.waitVisible("#setup-org")
	if got := b.path(); got != "/setup" {
		t.Fatalf("the first page is %s, want /setup", got)
	}
	b.wantFocus("setup-org", "the organization name")
	b.typeInto("#setup-org", "Acme")
	b.typeInto("#setup-first", "Ada")
	b.typeInto("#setup-last", "Admin")
	b.fill("#setup-email", "ada@example.com")
	b.fill("#setup-password", webtest.Password)
	b.fill("#setup-password-confirm", webtest.Password+"!")
	b.click(`form[action="/setup"] button[type="submit"]`)
	b.waitVisible(".alert-error")
	if got := b.text(".alert-error"); got != "The two passwords do not match." {
		t.Errorf("error %q, want the passwords mismatch", got)
	}
	if got := b.value("#setup-org"); got != "Acme" {
		t.Errorf("organization name %q after the error, want Acme kept", got)
	}
	if ts.HasOrgs(t) {
		t.Fatal("a refused setup created an organization")
	}

	b.fill("#setup-password", webtest.Password)
	b.fill("#setup-password-confirm", webtest.Password)
	b.click(`form[action="/setup"] button[type="submit"]`)
	b.waitVisible(".empty-state")
	if got := b.path(); got != "/secrets" {
		t.Errorf("setup lands on %s, want /secrets", got)
	}
	if got := b.text(".empty-title"); got != "No secrets yet" {
		t.Errorf("empty state %q, want No secrets yet", got)
	}
	if got := b.text(".user-menu-name"); got != "Ada Admin" {
		t.Errorf("signed in as %q, want Ada Admin", got)
	}
	if got := b.text(".org-name"); got != "Acme" {
		t.Errorf("organization %q, want Acme", got)
	}
}

func TestBrowser_SignOutAndIn(t *testing.T) {
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	b := newBrowserTab(t, ts)

	b.navigate("/secrets")
	b.waitVisible("#login-email")
	if got := b.path(); got != "/login?next=%2Fsecrets" {
		t.Errorf("anonymous /secrets goes to %s, want the sign-in page with next", got)
	}
	b.typeInto("#login-email", "ada@example.com")
	b.fill("#login-password", "not the password")
	b.click(`form[action="/login"] button[type="submit"]`)
	b.waitVisible(".alert-error")
	if got := b.text(".alert-error"); got != "Incorrect email or password." {
		t.Errorf("error %q, want Incorrect email or password.", got)
	}
	if got := b.value("#login-email"); got != "ada@example.com" {
		t.Errorf("email %q after the error, want it kept", got)
	}
	b.wantFocus("login-password", "the password after the error")
	b.fill("#login-password", webtest.Password)
	b.click(`form[action="/login"] button[type="submit"]`)
	b.waitVisible("#secret-search")

	b.signOut()
	if got := b.path(); got != "/login?signed_out=1" {
		t.Errorf("sign-out lands on %s, want /login?signed_out=1", got)
	}
	if got := b.text(".auth-card .alert-success"); got != "You have been signed out." {
		t.Errorf("the sign-in page after sign-out says %q, want You have been signed out.", got)
	}
	if got := evalJS[bool](b, `fetch("/secrets", {redirect: "manual"}).then(r => r.type === "opaqueredirect")`); !got {
		t.Error("after sign-out /secrets does not redirect to sign-in")
	}
	b.fill("#login-email", "ada@example.com")
	b.fill("#login-password", webtest.Password)
	b.click(`form[action="/login"] button[type="submit"]`)
	b.waitVisible("#secret-search")
	if got := b.text(".user-menu-name"); got != "Ada Admin" {
		t.Errorf("signed in as %q, want Ada Admin", got)
	}
}

func TestBrowser_SessionEndsWhileOnPage(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "API_TOKEN", "v1")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.navigate("/secrets?q=api")
	b.waitRows("API_TOKEN")

	// The session ends on the server (signed out elsewhere, or expired); then Ada opens a dialog.
	if err := ts.Store.DeleteUserSessions(context.Background(), ada.UserID, ""); err != nil {
		t.Fatal(err)
	}
	b.click(`.page-header button[hx-get="/secrets/new"]`)
	b.waitVisible("#login-email")
	b.fill("#login-email", "ada@example.com")
	b.fill("#login-password", webtest.Password)
	b.click(`form[action="/login"] button[type="submit"]`)
	// Back where she was: the Secrets page with her search, not the bare dialog fragment.
	b.waitVisible("#secret-search")
	if got := b.path(); got != "/secrets?q=api" {
		t.Errorf("after signing in again the page is %s, want /secrets?q=api", got)
	}
	b.waitRows("API_TOKEN")
}

func TestBrowser_NewSecretDialog(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "EXISTING_KEY", "old")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.waitRows("EXISTING_KEY")
	newButton := `.page-header button[hx-get="/secrets/new"]`

	b.click(newButton)
	b.waitFor("the New Secret dialog", dialogOpen)
	b.waitFor("the focus in the Name field", `document.activeElement && document.activeElement.id === "secret-name"`)

	// A name with characters outside the rule does not leave the browser.
	b.countRequests()
	b.typeInto("#secret-name", "bad-name!")
	b.typeInto("#secret-value", "the value")
	b.click(`#dialog button[type="submit"]`)
	if !evalJS[bool](b, `document.getElementById("secret-name").validity.patternMismatch`) {
		t.Error("the Name field accepts bad-name!")
	}
	if n := b.requests(); n != 0 {
		t.Errorf("%d requests went out with an invalid name", n)
	}

	// A name the server refuses: the error shows inside the dialog, the typed text stays.
	b.fill("#secret-name", "EXISTING_KEY")
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#dialog .alert-error")
	if got := b.text("#dialog .alert-error"); got != "A secret named EXISTING_KEY already exists in this organization." {
		t.Errorf("dialog error %q", got)
	}
	b.waitFor("the dialog still open", dialogOpen)
	if got := b.value("#secret-name"); got != "EXISTING_KEY" {
		t.Errorf("name %q after the error, want the typed name", got)
	}
	if got := b.value("#secret-value"); got != "the value" {
		t.Errorf("value %q after the error, want the typed value", got)
	}

	b.fill("#secret-name", "NEW_KEY")
	b.click(`#dialog button[type="submit"]`)
	b.waitFor("the dialog closed", dialogClosed)
	b.waitToast("Created NEW_KEY.")
	b.waitRows("EXISTING_KEY", "NEW_KEY")
	if v := ts.SecretValue(t, ada, mustSecretID(t, ts, ada, "NEW_KEY")); v != "the value" {
		t.Errorf("NEW_KEY holds %q, want the typed value", v)
	}

	// Esc closes a dialog and gives the focus back to the button that opened it.
	b.click(newButton)
	b.waitFor("the New Secret dialog", dialogOpen)
	b.run("press Esc", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the dialog closed by Esc", dialogClosed)
	b.waitFor("the focus back on New Secret", `document.activeElement && document.activeElement.matches(`+jsString(newButton)+`)`)
}

func TestBrowser_Search(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	for _, n := range []string{"AWS_SECRET", "STRIPE_KEY", "STRIPE_WEBHOOK"} {
		ts.SeedSecret(t, ada, n, "v")
	}
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.waitRows("AWS_SECRET", "STRIPE_KEY", "STRIPE_WEBHOOK")

	b.typeInto("#secret-search", "stripe")
	b.waitRows("STRIPE_KEY", "STRIPE_WEBHOOK")
	b.waitFor("the search in the URL", `location.search === "?q=stripe"`)
	b.typeInto("#secret-search", "_web")
	b.waitRows("STRIPE_WEBHOOK")
	b.typeInto("#secret-search", "zzz")
	b.waitFor("the no-match message", `!!document.querySelector("#secrets-table .empty-state") && document.querySelector("#secrets-table").textContent.includes("No secrets match")`)
	if got := b.value("#secret-search"); got != "stripe_webzzz" {
		t.Errorf("search box %q, want what was typed", got)
	}
}

func TestBrowser_EditRevealUpdate(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	value := "s3cr3t-value\nsecond line ✓\n"
	sec := ts.SeedSecret(t, ada, "API_TOKEN", value)
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")

	b.click(`button[aria-label="Edit API_TOKEN"]`)
	b.waitFor("the Edit dialog", dialogOpen)
	if got := b.text("#dialog-title"); got != "Edit API_TOKEN" {
		t.Errorf("dialog title %q, want Edit API_TOKEN", got)
	}
	if got := b.value("#secret-value"); got != "" {
		t.Errorf("the value shows %q before Reveal", got)
	}
	b.wantFocus("secret-value", "the value field")

	b.click(`#dialog button[hx-post$="/reveal"]`)
	b.waitVisible("#dialog [data-copy-target]")
	if got := b.value("#secret-value"); got != value {
		t.Errorf("revealed %q, want %q", got, value)
	}
	if got := b.text("#dialog [data-copy-target]"); got != "Copy" {
		t.Errorf("copy button says %q, want Copy", got)
	}

	b.fill("#secret-value", "rotated-value-42")
	b.click(`#dialog button[type="submit"]`)
	b.waitFor("the dialog closed", dialogClosed)
	b.waitToast("Updated API_TOKEN.")
	if v := ts.SecretValue(t, ada, sec.ID); v != "rotated-value-42" {
		t.Errorf("stored value %q, want rotated-value-42", v)
	}
	b.waitRows("API_TOKEN")
}

func TestBrowser_StaleEditRefused(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "v1")
	ts.SeedShare(t, ada, sec, bob, db.RoleOwner)
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")

	b.click(`button[aria-label="Edit API_TOKEN"]`)
	b.waitFor("the Edit dialog", dialogOpen)
	// Bob saves a new value while Ada's dialog is open.
	if _, err := ts.Store.UpdateSecret(context.Background(), bob, sec.ID, []byte("bob's value"), sec.Version); err != nil {
		t.Fatal(err)
	}
	b.typeInto("#secret-value", "ada's value")
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#dialog .alert-error")
	msg := b.text("#dialog .alert-error")
	if !strings.Contains(msg, "was changed by Bob Example") || !strings.Contains(msg, "reload to see the latest") {
		t.Errorf("dialog error %q, want it to say Bob changed it and to reload", msg)
	}
	b.waitFor("the dialog still open", dialogOpen)
	if got := b.value("#secret-value"); got != "ada's value" {
		t.Errorf("value field %q, want Ada's typed value kept", got)
	}
	if v := ts.SecretValue(t, ada, sec.ID); v != "bob's value" {
		t.Errorf("stored value %q, want Bob's value", v)
	}
	// Pressing Update again does not overwrite Bob's value either.
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#dialog .alert-error")
	if v := ts.SecretValue(t, ada, sec.ID); v != "bob's value" {
		t.Errorf("stored value %q after a second Update, want Bob's value", v)
	}

	// Load latest: who changed it, Ada's text kept; Update then saves it over Bob's version.
	b.click(`#dialog .stale-actions button`)
	b.waitVisible("#dialog .notice")
	if got := b.text("#dialog .notice"); !strings.Contains(got, "Loaded version 2, set by Bob Example") {
		t.Errorf("notice %q", got)
	}
	if got := b.value("#secret-value"); got != "ada's value" {
		t.Errorf("Load latest lost what Ada typed: %q", got)
	}
	b.shot("edit-load-latest")
	b.click(`#dialog button[type="submit"]`)
	b.waitFor("the dialog closed", dialogClosed)
	b.waitToast("Updated API_TOKEN.")
	if v := ts.SecretValue(t, ada, sec.ID); v != "ada's value" {
		t.Errorf("stored value %q after Load latest and Update, want Ada's", v)
	}
}

func TestBrowser_Delete(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "API_TOKEN", "v1")
	ts.SeedSecret(t, ada, "OTHER_KEY", "v2")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.waitRows("API_TOKEN", "OTHER_KEY")

	b.click(`button[aria-label="Delete API_TOKEN"]`)
	b.waitFor("the confirmation", dialogOpen)
	if got := b.text("#dialog-title"); got != "Delete API_TOKEN?" {
		t.Errorf("dialog title %q, want Delete API_TOKEN?", got)
	}
	b.waitFor("the focus on Cancel", `document.activeElement && document.activeElement.textContent.trim() === "Cancel"`)
	b.click(`#dialog .btn-danger`)
	b.waitFor("the dialog closed", dialogClosed)
	b.waitToast("Deleted API_TOKEN.")
	b.waitRows("OTHER_KEY")
	if got := ts.SecretNames(t, ada); len(got) != 1 || got[0] != "OTHER_KEY" {
		t.Errorf("secrets %v, want only OTHER_KEY", got)
	}
}

func TestBrowser_Sharing(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	ts.SeedMember(t, ada, "carol@example.com", "Carol", "Example")
	owner := newBrowserTab(t, ts) // Ada
	owner.label = "ada"
	reader := newBrowserTab(t, ts) // Bob, with cookies of his own
	reader.label = "bob"
	owner.openAs("ada@example.com")
	reader.openAs("bob@example.com")
	if got := reader.rows(); len(got) != 0 {
		t.Fatalf("Bob sees %v before anything is shared", got)
	}

	// Ada creates a secret and shares it with Bob as Reader.
	owner.click(`.page-header button[hx-get="/secrets/new"]`)
	owner.waitFor("the New Secret dialog", dialogOpen)
	owner.fill("#secret-name", "SHARED_KEY")
	owner.fill("#secret-value", "shared value\n")
	owner.click(`#dialog button[type="submit"]`)
	owner.waitFor("the dialog closed", dialogClosed)
	owner.waitRows("SHARED_KEY")
	sec, err := ts.Store.SecretByID(context.Background(), ada, mustSecretID(t, ts, ada, "SHARED_KEY"))
	if err != nil {
		t.Fatal(err)
	}

	owner.click(`button[aria-label="Share SHARED_KEY"]`)
	owner.waitFor("the Share dialog", dialogOpen)
	owner.waitFor("the focus in the type-ahead", `document.activeElement && document.activeElement.id === "share-q"`)
	owner.fill("#share-new-role", "reader")
	owner.typeInto("#share-q", "bob")
	// The matches for the whole word, with htmx done swapping them in and its attributes processed
	// (initHash): a slow typist's earlier answers ("b", "bo") are replaced, and a click on a button
	// htmx has not processed yet does nothing.
	owner.waitFor("the matches for bob", `(() => {
		const m = document.querySelector('#share-results[data-query="bob"] .share-match');
		const d = m && m['htmx-internal-data'];
		return !!(d && d.initHash) && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling');
	})()`)
	if got := owner.text("#share-results .share-match .person-name"); got != "Bob Example" {
		t.Errorf("first match %q, want Bob Example", got)
	}
	owner.click("#share-results .share-match")
	bobRow := "#share-row-user-" + bob.UserID
	owner.waitVisible(bobRow)
	if got := owner.value(bobRow + " select"); got != "reader" {
		t.Errorf("Bob's staged role %q, want reader", got)
	}
	owner.click(`#share-form button[type="submit"]`)
	owner.waitFor("the dialog closed", dialogClosed)
	owner.waitToast("Access updated.")
	if role := accessOf(t, ts, ada, sec.ID, bob.UserID); role != db.RoleReader {
		t.Fatalf("Bob's access %q after the share, want reader", role)
	}

	// Bob sees it as a Reader: he can reveal it, and has no Edit, Delete or sharing controls.
	reader.navigate("/secrets")
	reader.waitRows("SHARED_KEY")
	if got := reader.text("#secrets-table .badge"); got != "Reader" {
		t.Errorf("Bob's role badge %q, want Reader", got)
	}
	if n := evalJS[int](reader, `document.querySelectorAll('button[aria-label="Edit SHARED_KEY"], button[aria-label="Delete SHARED_KEY"]').length`); n != 0 {
		t.Errorf("a Reader has %d Edit/Delete buttons", n)
	}
	if n := evalJS[int](reader, `document.querySelectorAll('button[aria-label="Share SHARED_KEY"]').length`); n != 0 {
		t.Errorf("a Reader is offered Share (%d), not Access", n)
	}
	reader.click(`button[aria-label="Access to SHARED_KEY"]`)
	reader.waitFor("the read-only Share dialog", dialogOpen)
	if n := evalJS[int](reader, `document.querySelectorAll("#dialog #share-q, #dialog #share-form, #dialog select, #dialog button[type=submit], #dialog [aria-label^='Remove']").length`); n != 0 {
		t.Errorf("the Reader's Share dialog has %d editing controls", n)
	}
	reader.run("press Esc", chromedp.KeyEvent(kb.Escape))
	reader.waitFor("the dialog closed", dialogClosed)
	reader.click(`button[aria-label="View SHARED_KEY"]`)
	reader.waitFor("the View dialog", dialogOpen)
	if n := evalJS[int](reader, `document.querySelectorAll("#dialog form:not(#secret-download), #dialog button[type=submit], #dialog input[type=file]").length`); n != 0 {
		t.Errorf("the Reader's View dialog has %d editing controls", n)
	}
	reader.click(`#dialog button[hx-post$="/reveal"]`)
	reader.waitVisible("#dialog [data-copy-target]")
	if got := reader.value("#secret-value"); got != "shared value\n" {
		t.Errorf("Bob reveals %q, want the value", got)
	}
	if !evalJS[bool](reader, `document.getElementById("secret-value").readOnly`) {
		t.Error("the Reader's value field is editable")
	}
	reader.run("press Esc", chromedp.KeyEvent(kb.Escape))
	reader.waitFor("the dialog closed", dialogClosed)

	// Ada makes Bob an Owner.
	owner.click(`button[aria-label="Share SHARED_KEY"]`)
	owner.waitFor("the Share dialog", dialogOpen)
	owner.waitVisible(bobRow + " select")
	owner.fill(bobRow+" select", "owner")
	owner.waitFor("Bob's row staged as Owner", `!!document.querySelector(`+jsString(bobRow+" .tag")+`) && document.querySelector(`+jsString(bobRow+" .tag")+`).textContent.includes("was Reader")`)
	owner.click(`#share-form button[type="submit"]`)
	owner.waitFor("the dialog closed", dialogClosed)
	if role := accessOf(t, ts, ada, sec.ID, bob.UserID); role != db.RoleOwner {
		t.Fatalf("Bob's access %q after the change, want owner", role)
	}

	// Bob, now an Owner, edits it.
	reader.navigate("/secrets")
	reader.waitVisible(`button[aria-label="Edit SHARED_KEY"]`)
	reader.click(`button[aria-label="Edit SHARED_KEY"]`)
	reader.waitFor("the Edit dialog", dialogOpen)
	reader.fill("#secret-value", "bob rotated it")
	reader.click(`#dialog button[type="submit"]`)
	reader.waitFor("the dialog closed", dialogClosed)
	if v := ts.SecretValue(t, ada, sec.ID); v != "bob rotated it" {
		t.Errorf("stored value %q, want Bob's edit", v)
	}
}

// accessOf is user's direct role on a secret, as a (who can read it) sees the access list.
func accessOf(t testing.TB, ts *webtest.Server, a db.Actor, secretID, userID string) db.Role {
	t.Helper()
	grants, err := ts.Store.AccessList(context.Background(), a, secretID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range grants {
		if g.Kind == db.PrincipalUser && g.ID == userID {
			return g.Role
		}
	}
	return ""
}

func TestWithoutSupersededRequests(t *testing.T) {
	errs := []string{
		"console.error: htmx:afterRequest, [object HTMLDivElement]",
		"console.error: htmx:sendAbort, [object HTMLDivElement]",
		"console.error: htmx:afterRequest, [object HTMLTableElement]",
		"uncaught exception: boom",
	}
	got := withoutSupersededRequests(errs)
	want := []string{"console.error: htmx:afterRequest, [object HTMLTableElement]", "uncaught exception: boom"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
