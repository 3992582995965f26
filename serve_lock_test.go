package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopServer sends SIGTERM and waits for the child to exit.
func stopServer(t *testing.T, c *child) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("keyhold did not stop after SIGTERM:\n%s", c.stderr.String())
	}
}

// apiKeys creates an API key for ada in each organization of want.
func apiKeys(t *testing.T, data string, want map[string]string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for org := range want {
		code, out, errOut := cli(t, data, "", "apikey", "create", "--org", org, "--email", "ada@example.com")
		if code != 0 {
			t.Fatalf("apikey create: %s", errOut)
		}
		keys[org] = strings.TrimSpace(out)
	}
	return keys
}

// wantServed fetches every organization's TOKEN from the server at addr, as the SDK does.
func wantServed(t *testing.T, addr string, keys, want map[string]string) {
	t.Helper()
	for org, key := range keys {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/secrets?name="+url.QueryEscape("TOKEN"), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Secrets []struct{ Value string } }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || len(out.Secrets) != 1 || out.Secrets[0].Value != want[org] {
			t.Fatalf("%s's TOKEN: status %d, %v, %+v", org, resp.StatusCode, err, out)
		}
	}
}

// TestServe_RotationExcludesServer: rotate-master-key refuses to run beside a server on the same data
// (a server keeps unwrapped data keys and would fail for the others), and changes nothing; a server
// does not start while a rotation runs. Stopped, rotated and started again, the server serves every
// organization with the new key, and master.key.old goes once that start succeeded.
func TestServe_RotationExcludesServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildKeyhold(t)
	data := t.TempDir()
	want := seedOrgs(t, data)
	keys := apiKeys(t, data, want)
	oldKey := readKey(t, data)
	oldRaw := mustDecode(t, oldKey)
	addr := freeAddr(t)
	srv := startServer(t, bin, data, addr, nil)
	wantServed(t, addr, keys, want)

	code, out, errOut := cli(t, data, "", "rotate-master-key")
	msg := "keyhold: a keyhold server is running on " + data + ": stop it, run rotate-master-key, then start keyhold with the new key\n"
	if code != 1 || errOut != msg || out != "" {
		t.Fatalf("rotation beside a server: code=%d out=%q err=%q", code, out, errOut)
	}
	if got := strings.Join(keyFileNames(t, data), " "); got != "master.key" || readKey(t, data) != oldKey {
		t.Fatalf("the refused rotation changed the key files: %s", got)
	}
	if n := dataKeysNotUnder(t, data, oldRaw); n != 0 {
		t.Fatalf("the refused rotation re-wrapped %d data keys", n)
	}
	wantServed(t, addr, keys, want)
	stopServer(t, srv)

	// A server started while a rotation runs refuses to start.
	inProgress, release := make(chan struct{}), make(chan struct{})
	rotateHook = func(step string) error {
		if step == "new key written" {
			close(inProgress)
			<-release
		}
		return nil
	}
	defer func() { rotateHook = nil }()
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := cli(t, data, "", "rotate-master-key")
		done <- result{code, out, errOut}
	}()
	select {
	case <-inProgress:
	case r := <-done:
		t.Fatalf("the rotation never reached its first step: %+v", r)
	}
	cmd := exec.Command(bin, "serve", "--addr", freeAddr(t), "--data", data)
	stderr, err := cmd.CombinedOutput()
	close(release)
	msg = "keyhold: a master key rotation is in progress on " + data + ": wait for it to finish, then start keyhold with the new key\n"
	if err == nil || cmd.ProcessState.ExitCode() != 1 || string(stderr) != msg {
		t.Fatalf("serve during rotation: %v, output %q", err, stderr)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("rotation: %+v", r)
	}
	rotateHook = nil
	if got := strings.Join(keyFileNames(t, data), " "); got != "master.key master.key.old" {
		t.Fatalf("after rotation: %s", got)
	}

	srv = startServer(t, bin, data, addr, nil)
	wantServed(t, addr, keys, want)
	if got := keyFileNames(t, data); len(got) != 1 || got[0] != "master.key" {
		t.Fatalf("master.key.old not removed after a start with the new key: %v", got)
	}
	if n := strings.Count(srv.stderr.String(), "master.key.old"); n != 1 {
		t.Fatalf("%d log lines name master.key.old, want 1:\n%s", n, srv.stderr.String())
	}
	if strings.Contains(srv.stderr.String(), oldKey) || strings.Contains(srv.stderr.String(), readKey(t, data)) {
		t.Fatal("a key in the log")
	}
	stopServer(t, srv)
}
