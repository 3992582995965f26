package main

// The disk-full test: keyhold runs as a child process with its data on a small tmpfs, which a filler
// file fills to the last byte. Changes must be refused with 507 and a message that names the disk,
// reads of values must go on (their audit events wait in the journal's reserved space), /healthz
// must say degraded and /readyz fail; once the filler is gone, everything must recover without a
// restart, with every acknowledged change and every served read in the database and no refused change.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// diskFullInner is set in the environment of the test binary re-run inside a user namespace.
const diskFullInner = "KEYHOLD_DISKFULL_INNER"

// smallTmpfs mounts a tmpfs of size (such as "32m") on a new temporary directory and unmounts it when
// the test ends, failed or not. It needs root: see runAsRoot.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			// Something still holds it: detach it now, the kernel frees it once that lets go.
			t.Errorf("umount %s: %v: %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run() //nolint:errcheck // best effort after the error above
		}
	})
	return dir
}

// runAsRoot reports whether the test may go on in this process: as root it may. Otherwise it re-runs
// just this test inside a new user and mount namespace (unshare --map-root-user), where mounting a
// tmpfs is allowed, reports that run's outcome and returns false. Where neither works it skips, or
// fails when CI is set.
func runAsRoot(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() == 0 {
		return true
	}
	if os.Getenv(diskFullInner) != "" {
		t.Fatal("not root inside the user namespace")
	}
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the disk-full test: "+format, args...)
		}
		t.Skipf("needs root or unshare to mount a small tmpfs: "+format, args...)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		unavailable("%v", err)
	}
	ns := []string{"--user", "--map-root-user", "--mount"}
	if out, err := exec.Command(unshare, append(ns, "true")...).CombinedOutput(); err != nil {
		unavailable("unshare %s: %v: %s", strings.Join(ns, " "), err, out)
	}
	cmd := exec.Command(unshare, append(ns, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")...)
	cmd.Env = append(os.Environ(), diskFullInner+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a user namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the run as root in a user namespace failed: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skip("skipped in the user namespace")
	}
	return false
}

// fillDisk writes the file at path until the filesystem is full to its last byte.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for _, n := range []int{1 << 20, 4 << 10, 1} {
		for {
			_, err := f.Write(buf[:n])
			if errors.Is(err, syscall.ENOSPC) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// portalDo sends one request of the portal as c: an htmx one (hx) with HX-Request and the CSRF token
// in its header, as the layout's hx-headers do. It returns the status, the HX-Retarget header and the
// body with HTML entities decoded.
func portalDo(c *webtest.Client, method, path string, form url.Values, hx bool) (int, string, string) {
	hdr := http.Header{}
	if hx {
		hdr.Set("HX-Request", "true")
		hdr.Set("X-CSRF-Token", c.CSRF())
	}
	r := c.Do(method, path, form, hdr)
	return r.Status, r.Header.Get("HX-Retarget"), html.UnescapeString(r.Body)
}

// getText fetches path and returns its status and body.
func getText(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// diskFullMessage is what a refused change must say, in part.
const diskFullMessage = "disk is full"

// TestDiskFull_RefusesChangesServesReadsRecovers fills keyhold's disk under a running server and
// checks every answer over HTTP, then frees the space and checks that keyhold recovers by itself and
// kept exactly the acknowledged changes and every served read's audit event.
func TestDiskFull_RefusesChangesServesReadsRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and mounts a tmpfs")
	}
	if !runAsRoot(t) {
		return
	}
	mnt := smallTmpfs(t, "32m") // room for the database and the journal's two 8 MiB reservations
	bin := buildKeyhold(t)
	data := filepath.Join(mnt, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	masterKey := db.GenerateMasterKey()
	t.Setenv("KEYHOLD_MASTER_KEY", masterKey)

	mustCLI := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, data, stdin, args...)
		if code != 0 {
			t.Fatalf("keyhold %s: %s", strings.Join(args, " "), errOut)
		}
		return strings.TrimSpace(out)
	}
	const password = "correct horse battery"
	mustCLI(password+"\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com")
	key := mustCLI("", "apikey", "create", "--org", "Acme", "--email", "ada@example.com", "--label", "diskfull")

	addr := freeAddr(t)
	base := "http://" + addr
	srv := startServer(t, bin, data, addr, []string{"KEYHOLD_MASTER_KEY=" + masterKey}, "--api-rate", "1000000", "--api-burst", "1000000")
	api := crashAPI{base: base, key: key, hc: &http.Client{Timeout: 20 * time.Second}}

	// values: what each secret (by name) must hold at the end; refused: names whose create was refused.
	values := map[string]string{}
	ids := map[string]string{}
	var refused []string
	reads := map[string]int{} // secret ID → reads whose value was served
	value := func(name string, n int) string {
		return name + "_" + strings.Repeat(fmt.Sprintf("%x", time.Now().UnixNano()), n/16+1)[:n]
	}
	create := func(name, v string) (int, []byte) {
		t.Helper()
		status, body, err := api.do(http.MethodPost, "/v1/secrets", map[string]string{"name": name, "value": v})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if status == http.StatusOK {
			var out struct{ SecretID string }
			if err := json.Unmarshal(body, &out); err != nil || out.SecretID == "" {
				t.Fatalf("create %s: %s %v", name, body, err)
			}
			values[name], ids[name] = v, out.SecretID
		}
		return status, body
	}
	update := func(name, v string) (int, []byte) {
		t.Helper()
		status, body, err := api.do(http.MethodPatch, "/v1/secrets/"+ids[name], map[string]string{"value": v})
		if err != nil {
			t.Fatalf("update %s: %v", name, err)
		}
		if status == http.StatusOK {
			values[name] = v
		}
		return status, body
	}
	fetch := func(name string) int {
		t.Helper()
		status, body, err := api.do(http.MethodGet, "/v1/secrets?name="+name, nil)
		if err != nil {
			t.Fatalf("fetch %s: %v", name, err)
		}
		if status != http.StatusOK {
			return status
		}
		var out struct {
			Secrets []struct{ SecretID, Value string }
		}
		if err := json.Unmarshal(body, &out); err != nil || len(out.Secrets) != 1 || out.Secrets[0].Value != values[name] {
			t.Fatalf("fetch %s: %.200s %v", name, body, err)
		}
		reads[out.Secrets[0].SecretID]++
		return status
	}
	// isDiskFull checks a JSON error answer: 507, in the API's error shape, naming the disk.
	isDiskFull := func(what string, status int, body []byte) {
		t.Helper()
		var e struct {
			Code    int
			Message string
		}
		if err := json.Unmarshal(body, &e); err != nil || status != http.StatusInsufficientStorage || e.Code != status ||
			!strings.Contains(e.Message, diskFullMessage) {
			t.Errorf("%s on a full disk: %d %s, want 507 {\"code\":507,\"message\":\"…%s…\"}", what, status, body, diskFullMessage)
		}
	}

	for _, name := range []string{"DB_PASSWORD", "API_TOKEN", "SMTP_PASSWORD"} {
		if status, body := create(name, value(name, 64)); status != http.StatusOK {
			t.Fatalf("seed %s: %d %s", name, status, body)
		}
	}
	// Sign in to the portal while the disk has room: signing in writes a session.
	portal := webtest.NewClient(t, base)
	portal.HTTP.Timeout = 20 * time.Second
	webtest.SignIn(t, portal, "ada@example.com", password)
	reveal := func(name string) int {
		t.Helper()
		status, _, body := portalDo(portal, http.MethodPost, "/secrets/"+ids[name]+"/reveal", url.Values{}, true)
		if status == http.StatusOK {
			if !strings.Contains(body, values[name]) {
				t.Fatalf("reveal %s: the answer does not hold the value", name)
			}
			reads[ids[name]]++
		}
		return status
	}
	if status := reveal("DB_PASSWORD"); status != http.StatusOK {
		t.Fatalf("reveal before the disk filled: %d", status)
	}
	if status, body := getText(t, base, "/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz before the disk filled: %d %q", status, body)
	}

	// Fill the disk. SQLite still fits a change into space its WAL already holds, when there is
	// enough: such a change is acknowledged, and must be kept. So each kind of change is tried, on a
	// disk filled again each time, until it is refused, and then it must be refused with 507.
	filler := filepath.Join(mnt, "filler")
	untilRefused := func(what string, attempt func(i int) int) {
		t.Helper()
		for i := range 200 {
			fillDisk(t, filler)
			if status := attempt(i); status != http.StatusOK {
				if i > 0 {
					t.Logf("%s: refused after %d acknowledged on the full disk", what, i)
				}
				return
			}
		}
		t.Fatalf("%s: 200 changes acknowledged on a full disk", what)
	}
	createUntilRefused := func(prefix string, size int) {
		t.Helper()
		untilRefused("API create", func(i int) int {
			name := fmt.Sprintf("%s_%d", prefix, i)
			status, body := create(name, value(name, size))
			if status != http.StatusOK {
				isDiskFull("API create", status, body)
				refused = append(refused, name)
			}
			return status
		})
	}
	createUntilRefused("FILL", 8<<10) // uses up the WAL's space quickly
	createUntilRefused("FULL_CREATE", 64)
	untilRefused("API update", func(i int) int {
		status, body := update("API_TOKEN", value(fmt.Sprintf("API_TOKEN_%d", i), 64))
		if status != http.StatusOK {
			isDiskFull("API update", status, body)
		}
		return status
	})
	untilRefused("portal create", func(i int) int {
		name := fmt.Sprintf("PORTAL_FULL_%d", i)
		v := value(name, 64)
		status, target, body := portalDo(portal, http.MethodPost, "/secrets", url.Values{"name": {name}, "value": {v}}, true)
		switch {
		case status == http.StatusOK:
			values[name] = v
		case status != http.StatusInsufficientStorage || target != "#toast" || !strings.Contains(body, diskFullMessage):
			t.Errorf("portal create on a full disk: %d, HX-Retarget %q, %.300s; want 507 with a toast naming the disk", status, target, body)
			fallthrough
		default:
			refused = append(refused, name)
		}
		return status
	})
	if t.Failed() {
		t.Fatalf("keyhold's log:\n%s", srv.stderr.String())
	}

	// Reads of values are served: their events wait in the journal's reserved space.
	for i := range 100 {
		for _, name := range []string{"DB_PASSWORD", "API_TOKEN", "SMTP_PASSWORD"} {
			if status := fetch(name); status != http.StatusOK {
				t.Fatalf("fetch %s on a full disk, after %d rounds: %d", name, i, status)
			}
		}
	}
	for _, name := range []string{"DB_PASSWORD", "API_TOKEN"} {
		if status := reveal(name); status != http.StatusOK {
			t.Errorf("portal reveal of %s on a full disk: %d", name, status)
		}
	}

	if status, body := getText(t, base, "/healthz"); status != http.StatusOK || body != "degraded: the disk is full\n" {
		t.Errorf("/healthz on a full disk: %d %q, want 200 %q", status, body, "degraded: the disk is full\n")
	}
	if status, body := getText(t, base, "/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, diskFullMessage) {
		t.Errorf("/readyz on a full disk: %d %q, want 503 naming the disk", status, body)
	}
	if t.Failed() {
		t.Fatalf("keyhold's log:\n%s", srv.stderr.String())
	}

	// Free the space: keyhold notices by itself, with no change to prompt it.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := getText(t, base, "/readyz")
		if status == http.StatusOK && body == "ready\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %q 10 s after the space was freed\n%s", status, body, srv.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status, body := getText(t, base, "/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz after the space was freed: %d %q", status, body)
	}
	if status, body := create("NEW_AFTER", value("NEW_AFTER", 64)); status != http.StatusOK {
		t.Errorf("API create after the space was freed: %d %s", status, body)
	}
	if status, body := update("API_TOKEN", value("API_TOKEN_AFTER", 64)); status != http.StatusOK {
		t.Errorf("API update after the space was freed: %d %s", status, body)
	}
	if status, _, body := portalDo(portal, http.MethodPost, "/secrets", url.Values{"name": {"PORTAL_AFTER"},
		"value": {"portal value after"}}, true); status != http.StatusOK {
		t.Errorf("portal create after the space was freed: %d %.300s", status, body)
	} else {
		values["PORTAL_AFTER"] = "portal value after"
	}
	if status := fetch("API_TOKEN"); status != http.StatusOK {
		t.Errorf("fetch after the space was freed: %d", status)
	}
	// The audit log lists every event recorded so far: the journaled reads have moved in.
	if status, _, body := portalDo(portal, http.MethodGet, "/audit?action="+db.ActionSecretRead, nil, false); status != http.StatusOK {
		t.Errorf("audit log after the space was freed: %d %.300s", status, body)
	}

	// Stop keyhold and look at what it kept.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("keyhold did not stop within 30 s of SIGTERM")
	}
	log := srv.stderr.String()
	for name, v := range values {
		if strings.Contains(log, v) {
			t.Errorf("keyhold's log holds the value of %s", name)
		}
	}
	checkDiskFullState(t, filepath.Join(data, db.FileName), masterKey, values, refused, reads)
	if t.Failed() {
		t.Logf("keyhold's log:\n%s", log)
	}
}

// checkDiskFullState opens the database keyhold left and checks that it holds exactly the
// acknowledged secrets with their last acknowledged values, none whose create was refused, and a read
// event for every read that was served.
func checkDiskFullState(t *testing.T, path, masterKey string, values map[string]string, refused []string, reads map[string]int) {
	t.Helper()
	ctx := context.Background()
	raw, err := base64.StdEncoding.DecodeString(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.Open(ctx, path, db.Options{MasterKey: raw})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org, err := s.OrgByName(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.MemberByEmail(ctx, db.SystemActor(org.ID), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := s.ActorFor(ctx, m.ID, org.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}

	// The trail first: the checks below read values, which adds events.
	got := map[string]int{}
	creates := map[string]int{}
	f := db.AuditFilter{Limit: 500}
	for {
		evs, err := s.ListAudit(ctx, ada, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			switch e.Action {
			case db.ActionSecretRead:
				got[e.SecretID]++
			case db.ActionSecretCreate:
				creates[e.SecretName]++
			}
		}
		if len(evs) < f.Limit {
			break
		}
		f.Before = evs[len(evs)-1].ID
	}
	for id, n := range reads {
		if got[id] != n {
			t.Errorf("secret %s: %d read events in the audit trail, %d reads served", id, got[id], n)
		}
	}
	for id, n := range got {
		if reads[id] == 0 {
			t.Errorf("secret %s: %d read events in the audit trail, none served", id, n)
		}
	}

	page, err := s.ListSecrets(ctx, ada, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, sec := range page.Secrets {
		stored[sec.Name] = sec.ID
	}
	for name, want := range values {
		id, ok := stored[name]
		if !ok {
			t.Errorf("%s: acknowledged, but not in the database", name)
			continue
		}
		if creates[name] != 1 {
			t.Errorf("%s: %d create events", name, creates[name])
		}
		sec, err := s.RevealSecret(ctx, ada, id)
		if err != nil {
			t.Fatal(err)
		}
		if sec.Value != want {
			t.Errorf("%s: the database holds a value of %d bytes that is not the last acknowledged one", name, len(sec.Value))
		}
	}
	for _, name := range refused {
		if _, ok := stored[name]; ok {
			t.Errorf("%s: its create was refused, but it is in the database", name)
		}
		if creates[name] != 0 {
			t.Errorf("%s: its create was refused, but the trail records %d", name, creates[name])
		}
	}
	if len(stored) != len(values) {
		t.Errorf("%d secrets in the database, %d acknowledged", len(stored), len(values))
	}
}
