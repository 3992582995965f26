package main

// The client commands — get, ls, run, export and import — talk to a running keyhold over its JSON API
// with an API key, like any other code does; they never open a store. This file holds what they share
// (where the server and the key come from, the HTTP client with its retries, how a refusal reads) and
// the commands but run, which is in cli_client_run.go.
//
// No value is ever put in an error, a warning or a log line: errors name the secret and the reason.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/keyhold/keyhold/db"
)

// clientConfig is where a client command finds keyhold and its API key: flags, else KEYHOLD_URL and
// KEYHOLD_API_KEY (each with its _FILE variant). The key is never taken from the command line unless
// --api-key says so, with a warning.
type clientConfig struct {
	url, keyFile, key string
}

// clientFlags registers the flags every client command shares.
func clientFlags(fs *flag.FlagSet, cc *clientConfig) {
	fs.StringVar(&cc.url, "url", "", "keyhold's `address`, such as https://keyhold.example.com (env KEYHOLD_URL)")
	fs.StringVar(&cc.keyFile, "api-key-file", "", "`file` holding the API key (env KEYHOLD_API_KEY_FILE, or KEYHOLD_API_KEY)")
	fs.StringVar(&cc.key, "api-key", "", "the API `key` itself: it lands in the shell's history and in ps; prefer --api-key-file")
}

// apiClient calls keyhold's JSON API with one API key. Reads are retried on 429 (after Retry-After),
// on 502/503/504 and on connection errors; changes only on 429 and on failures to connect, which
// mean the server did nothing. Each wait on a 429 is said on stderr.
type apiClient struct {
	base    string // scheme://host[/prefix], without a trailing slash
	key     string
	keyFrom string // where the key came from, for the message when it is refused
	http    *http.Client
	stderr  io.Writer
}

// Retries: at most clientAttempts tries of one request, clientRetryBase doubling between
// connection failures (with jitter), and no wait on a 429 longer than clientMaxRetryAfter.
const (
	clientAttempts      = 5
	clientMaxRetryAfter = 60 * time.Second
	clientMaxBody       = 40 << 20 // one value of 5 MiB, JSON-escaped (up to 6×), with room to spare
)

// clientRetryBase is the first wait after a connection failure; tests shorten it.
var clientRetryBase = 250 * time.Millisecond

// clientError is a failure of a client command, one line for the person at the terminal. It wraps
// nothing, so no transport error inside it is taken for a database's (oneLine).
type clientError struct{ msg string }

func (e clientError) Error() string { return e.msg }

func clientErrorf(format string, args ...any) error {
	return clientError{fmt.Sprintf(format, args...)}
}

// newClient reads the configuration once flags are parsed. stderr receives the --api-key warning and
// the notes on retries.
func (cc clientConfig) newClient(stderr io.Writer) (*apiClient, error) {
	base, from := cc.url, "--url"
	if base == "" {
		v, err := env("KEYHOLD_URL")
		if err != nil {
			return nil, usageError{err.Error()}
		}
		base, from = v, envSource("KEYHOLD_URL")
	}
	if base == "" {
		return nil, usageError{"which keyhold? Set KEYHOLD_URL (or --url) to its address, such as https://keyhold.example.com"}
	}
	base, err := parseClientURL(base)
	if err != nil {
		return nil, usageError{from + " " + err.Error()}
	}
	c := &apiClient{base: base, stderr: stderr, http: newClientHTTP()}
	switch {
	case cc.key != "" && cc.keyFile != "":
		return nil, usageError{"give --api-key-file or --api-key, not both"}
	case cc.keyFile != "":
		b, err := os.ReadFile(cc.keyFile)
		if err != nil {
			return nil, usageError{"--api-key-file: " + err.Error()}
		}
		c.key, c.keyFrom = string(b), cc.keyFile
	case cc.key != "":
		fmt.Fprintln(stderr, "keyhold: warning: --api-key puts the key in the shell's history and in the process list (ps): prefer KEYHOLD_API_KEY_FILE or --api-key-file")
		c.key, c.keyFrom = cc.key, "--api-key"
	default:
		v, err := env("KEYHOLD_API_KEY")
		if err != nil {
			return nil, usageError{err.Error()}
		}
		c.key, c.keyFrom = v, envSource("KEYHOLD_API_KEY")
		if c.keyFrom == "KEYHOLD_API_KEY_FILE" {
			c.keyFrom += " (" + os.Getenv("KEYHOLD_API_KEY_FILE") + ")"
		}
	}
	c.key = strings.TrimSpace(c.key)
	if c.key == "" {
		return nil, usageError{"no API key: set KEYHOLD_API_KEY_FILE to a file holding one (or KEYHOLD_API_KEY, or --api-key-file); create one on the portal's API Keys page"}
	}
	if strings.ContainsFunc(c.key, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, usageError{"the API key from " + c.keyFrom + " holds spaces or control characters: it should be one word, such as kh_…"}
	}
	return c, nil
}

// envSource names the variable a setting came from: name, or name_FILE when only that is set.
func envSource(name string) string {
	if _, ok := os.LookupEnv(name); !ok {
		if _, ok := os.LookupEnv(name + "_FILE"); ok {
			return name + "_FILE"
		}
	}
	return name
}

// parseClientURL checks keyhold's address: http or https with a host, and a path only when a proxy
// serves keyhold under one. It returns it without a trailing slash.
func parseClientURL(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	switch {
	case err != nil:
		return "", fmt.Errorf("is not an address: %q", v)
	case u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "":
		return "", fmt.Errorf("%q is not an http or https address with a host, such as https://keyhold.example.com", v)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("%q has a query, a fragment or a user: give the server's address alone", v)
	case strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v1"):
		return "", fmt.Errorf("%q ends in /v1: give the server's address, without the API's path", v)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// newClientHTTP is the client commands' transport: bounded waits at every step, and no redirects
// (the key is for keyhold, and a redirect means the address is not keyhold's).
func newClientHTTP() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{
		Transport:     tr,
		Timeout:       2 * time.Minute, // a 5 MiB value on a slow link, no more
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// userAgent names keyhold and, when the build knows it, its version.
var userAgent = func() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "keyhold/" + v
}()

// apiError is an answer other than 200, with the server's message.
type apiError struct {
	status     int
	message    string
	retryAfter time.Duration
	attempts   int // how many times the request was sent
}

func (e *apiError) Error() string { return e.message }

// call sends one request (body is JSON, or nil) and decodes a 200 answer into out (when not nil). It
// retries as apiClient says. Its errors are clientErrors, or *apiError for a refusal, for the caller
// to word (explain).
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	return c.callWith(ctx, method, path, callOptions{}, body, out)
}

// callOptions are what a few calls need besides a body: the ETag of the 200 answer (the version a
// change made).
type callOptions struct {
	etag *string
}

// callWith is call with options.
func (c *apiClient) callWith(ctx context.Context, method, path string, opts callOptions, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
		defer clear(payload) // it may hold values
	}
	read := method == http.MethodGet
	for attempt := 1; ; attempt++ {
		raw, err := c.once(ctx, method, path, payload, opts)
		last := attempt == clientAttempts
		var wait time.Duration
		var ae *apiError
		switch {
		case err == nil:
			if out == nil {
				return nil
			}
			err := json.Unmarshal(raw, out)
			clear(raw)
			if err != nil {
				return clientErrorf("%s answered %s %s with JSON keyhold does not understand (%v): is it keyhold's address?", c.base, method, pathOnly(path), jsonReason(err))
			}
			return nil
		case errors.As(err, &ae):
			switch {
			case ae.status == http.StatusTooManyRequests:
				wait = ae.retryAfter
				if wait > clientMaxRetryAfter {
					ae.attempts = attempt
					return err
				}
				if wait <= 0 {
					wait = backoff(attempt)
				}
				if !last {
					fmt.Fprintf(c.stderr, "keyhold: rate limited by %s: retrying in %s (attempt %d of %d)\n", c.base, roundWait(wait), attempt+1, clientAttempts)
				}
			case read && (ae.status == http.StatusBadGateway || ae.status == http.StatusServiceUnavailable || ae.status == http.StatusGatewayTimeout):
				wait = max(ae.retryAfter, backoff(attempt))
				if wait > clientMaxRetryAfter {
					return err
				}
			default:
				return err
			}
		case ctx.Err() != nil:
			return clientErrorf("interrupted")
		case errors.As(err, new(clientError)):
			return err
		default: // the request failed on the way: no answer
			if !dialFailed(err) && os.IsTimeout(err) {
				return clientErrorf("%s did not answer %s %s in time: %s", c.base, method, pathOnly(path), netReason(err))
			}
			if !read && !dialFailed(err) {
				return clientErrorf("lost the connection to %s during %s %s: %s; it may or may not have been applied", c.base, method, pathOnly(path), netReason(err))
			}
			var dns *net.DNSError
			if last || errors.As(err, &dns) && dns.IsNotFound {
				return clientErrorf("cannot reach keyhold at %s: %s", c.base, netReason(err))
			}
			wait = backoff(attempt)
		}
		if last {
			if ae != nil {
				ae.attempts = attempt
			}
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return clientErrorf("interrupted")
		case <-t.C:
		}
	}
}

// once sends one request and returns the body of a 200 answer, an *apiError for any other answer, or
// the transport's error.
func (c *apiClient) once(ctx context.Context, method, path string, payload []byte, opts callOptions) ([]byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, clientMaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > clientMaxBody {
		return nil, clientErrorf("%s answered %s %s with more than %d MiB", c.base, method, pathOnly(path), clientMaxBody>>20)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isJSON := mt == "application/json"
	if resp.StatusCode == http.StatusOK {
		if !isJSON {
			return nil, clientErrorf("%s answered %s %s with %q, not JSON: is it keyhold's address?", c.base, method, pathOnly(path), mt)
		}
		if opts.etag != nil {
			*opts.etag = resp.Header.Get("ETag")
		}
		return raw, nil
	}
	ae := &apiError{status: resp.StatusCode, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var e struct {
		Message string `json:"message"`
	}
	if isJSON && json.Unmarshal(raw, &e) == nil && e.Message != "" {
		ae.message = e.Message
	} else if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		ae.message = fmt.Sprintf("redirected to %s: set KEYHOLD_URL to keyhold's own address", loc)
	} else {
		ae.message = fmt.Sprintf("%s answered %s %s with %s and no keyhold error: is it keyhold's address?", c.base, method, pathOnly(path), resp.Status)
	}
	return nil, ae
}

// explain words a failed call for a person: what was asked (about, such as `secret "API_TOKEN"`), and
// why it failed. A transport failure is already worded.
func (c *apiClient) explain(about string, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	prefix := ""
	if about != "" {
		prefix = about + ": "
	}
	switch ae.status {
	case http.StatusUnauthorized:
		return clientErrorf("%sthe API key from %s was refused: it is unknown, revoked or expired, or its user left the organization", prefix, c.keyFrom)
	case http.StatusForbidden:
		return clientErrorf("%snot allowed: %s", prefix, ae.message)
	case http.StatusTooManyRequests:
		wait := ""
		if ae.retryAfter > 0 {
			wait = fmt.Sprintf(", asked to wait %s", roundWait(ae.retryAfter))
		}
		return clientErrorf("%srate limited by %s (%d %s%s): try again later", prefix, c.base, ae.attempts, plural(ae.attempts, "attempt", "attempts"), wait)
	}
	if ae.status >= 500 {
		return clientErrorf("%sthe server failed (%d): %s", prefix, ae.status, ae.message)
	}
	return clientErrorf("%s%s", prefix, ae.message)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. 0 when absent or unreadable.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// backoff is the wait before try attempt+1 after a failure without Retry-After: clientRetryBase
// doubling, capped at 4 s, with up to a quarter of jitter.
func backoff(attempt int) time.Duration {
	d := min(clientRetryBase<<(attempt-1), 4*time.Second)
	return d + rand.N(d/4+1)
}

func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// dialFailed reports whether err is a failure to connect: the request never left.
func dialFailed(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// netReason is a transport failure without the request's method and address.
func netReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
		return "timed out"
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is not a %s", te.Field, te.Type)
	}
	return "not JSON"
}

// pathOnly is path without its query (which may name a secret: that is fine, but it reads better).
func pathOnly(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

// The API's objects, as far as the client commands read them.
type (
	apiSecret struct {
		SecretID string  `json:"secretID"`
		Name     string  `json:"name"`
		Value    *string `json:"value"`
	}
	apiSecrets struct {
		Secrets []json.RawMessage `json:"secrets"`
	}
)

// listSecrets returns every secret the key can read, without values, by name.
func (c *apiClient) listSecrets(ctx context.Context) ([]apiSecret, error) {
	var out struct {
		Secrets []apiSecret `json:"secrets"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/secrets", nil, &out); err != nil {
		return nil, c.explain("listing secrets", err)
	}
	slices.SortFunc(out.Secrets, func(a, b apiSecret) int { return strings.Compare(a.Name, b.Name) })
	return out.Secrets, nil
}

// fetchSecret reads one secret with its value (an audited read): the API's object as it came, and
// the value.
func (c *apiClient) fetchSecret(ctx context.Context, name string) (json.RawMessage, string, error) {
	about := fmt.Sprintf("secret %s", name)
	var out apiSecrets
	if err := c.call(ctx, http.MethodGet, "/v1/secrets?name="+url.QueryEscape(name), nil, &out); err != nil {
		return nil, "", c.explain(about, err)
	}
	if len(out.Secrets) == 0 {
		return nil, "", clientErrorf("%s: no such secret, or it is not shared with this key's user", about)
	}
	var sec apiSecret
	if err := json.Unmarshal(out.Secrets[0], &sec); err != nil || sec.Value == nil {
		return nil, "", clientErrorf("%s: %s answered without its value: is it keyhold's address?", about, c.base)
	}
	return out.Secrets[0], *sec.Value, nil
}

// namedValue is one secret's name and value.
type namedValue struct {
	Name, Value string
}

// fetchValues reads the named secrets' values, a few at a time, in the order given. The first failure
// stops the others.
func (c *apiClient) fetchValues(ctx context.Context, names []string) ([]namedValue, error) {
	out := make([]namedValue, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, name := range names {
		g.Go(func() error {
			_, v, err := c.fetchSecret(gctx, name)
			out[i] = namedValue{name, v}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// readableValues is every secret the key can read, with its value, by name; or, when only is not
// empty, those secrets, each of which must be readable.
func (c *apiClient) readableValues(ctx context.Context, only []string) ([]namedValue, error) {
	names := only
	if len(only) == 0 {
		secs, err := c.listSecrets(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range secs {
			names = append(names, s.Name)
		}
	}
	return c.fetchValues(ctx, names)
}

// onlyFlag is --only A,B: secret names, comma-separated; it may be repeated.
type onlyFlag struct{ names *[]string }

func (f onlyFlag) String() string {
	if f.names == nil {
		return ""
	}
	return strings.Join(*f.names, ",")
}

func (f onlyFlag) Set(v string) error {
	for n := range strings.SplitSeq(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return errors.New("an empty name: give names separated by commas, such as A,B")
		}
		if !slices.Contains(*f.names, n) {
			*f.names = append(*f.names, n)
		}
	}
	return nil
}

// parseClientArgs parses flags that may come before and after the positional arguments (keyhold get
// NAME --json) and returns the positional ones; after "--" everything is positional.
func parseClientArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// clientArgs is parseClientArgs for a command that takes exactly want arguments: any other count is
// a usage error saying usage.
func clientArgs(fs *flag.FlagSet, args []string, want int, usage string) ([]string, error) {
	pos, err := parseClientArgs(fs, args)
	if err == nil && len(pos) != want {
		err = usageError{usage}
	}
	return pos, err
}

// getOptions are keyhold get's flags; register puts them on the command's flag set and on help's.
type getOptions struct {
	cc              clientConfig
	newline, asJSON bool
	version         int64 // 0: the current value
}

func (o *getOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
	fs.BoolVar(&o.newline, "newline", false, "end the value with a newline")
	fs.BoolVar(&o.asJSON, "json", false, "print the API's object for the secret (with its value)")
	fs.Func("version", "print version `N` of the value instead of the current one (keyhold history NAME lists them; earlier versions are for Owners)", func(s string) error {
		n, err := parseVersion(s)
		o.version = n
		return err
	})
}

// clientGet is keyhold get NAME [--version N]: the value exactly as stored, without a newline unless
// --newline.
func clientGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o getOptions
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	o.register(fs)
	pos, err := clientArgs(fs, args, 1, "get needs one secret name: keyhold get NAME")
	if err != nil {
		return err
	}
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	var value string
	if o.version > 0 {
		raw, value, err = c.fetchVersion(ctx, pos[0], o.version)
	} else {
		raw, value, err = c.fetchSecret(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	defer clear(raw)
	if o.asJSON {
		_, err = stdout.Write(append(raw, '\n'))
		return err
	}
	if o.newline {
		value += "\n"
	}
	_, err = io.WriteString(stdout, value)
	return err
}

// lsEntry is one line of keyhold ls.
type lsEntry struct {
	SecretID string `json:"secretID"`
	Name     string `json:"name"`
	Role     string `json:"role"`
}

// clientLs is keyhold ls: the names the key can read, each with the key's role on it.
func clientLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cc clientConfig
	var asJSON bool
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	clientFlags(fs, &cc)
	fs.BoolVar(&asJSON, "json", false, `print {"secrets":[{"secretID","name","role"}]}`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := cc.newClient(stderr)
	if err != nil {
		return err
	}
	secs, err := c.listSecrets(ctx)
	if err != nil {
		return err
	}
	entries, err := c.roles(ctx, secs)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Secrets []lsEntry `json:"secrets"`
		}{entries})
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Role)
	}
	return tw.Flush()
}

// roles finds the key's role on each secret: Owner when an Owner grant names the key's user or a team
// the user is in (directly or through member teams), else Reader (the listing holds only what the
// key can read). The list answer carries no role, so this asks each secret's access list. A secret
// gone since the listing is left out.
func (c *apiClient) roles(ctx context.Context, secs []apiSecret) ([]lsEntry, error) {
	var me struct {
		UserID string `json:"userID"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/users/current", nil, &me); err != nil {
		return nil, c.explain("reading the key's user", err)
	}
	var teams []apiTeam
	if err := c.call(ctx, http.MethodGet, "/v1/teams", nil, &teams); err != nil {
		return nil, c.explain("reading the teams", err)
	}
	mine := myTeams(teams, me.UserID)
	out := make([]lsEntry, len(secs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, s := range secs {
		g.Go(func() error {
			var acl []apiResourceRole
			err := c.call(gctx, http.MethodGet, "/v1/secrets/"+url.PathEscape(s.SecretID)+"/accessControls", nil, &acl)
			var ae *apiError
			if errors.As(err, &ae) && ae.status == http.StatusNotFound {
				return nil // deleted or unshared since the listing
			} else if err != nil {
				return c.explain("secret "+s.Name, err)
			}
			out[i] = lsEntry{SecretID: s.SecretID, Name: s.Name, Role: roleOf(acl, me.UserID, mine)}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(e lsEntry) bool { return e.Name == "" }), nil
}

// The API's teams and access lists, as far as roles reads them.
type (
	apiTeam struct {
		TeamID      string `json:"teamID"`
		MemberUsers []struct {
			UserID string `json:"userID"`
		} `json:"memberUsers"`
		MemberTeams []struct {
			TeamID string `json:"teamID"`
		} `json:"memberTeams"`
	}
	apiResourceRole struct {
		Role   string `json:"role"`
		Grants []struct {
			Identity struct {
				UserID string `json:"userID"`
				TeamID string `json:"teamID"`
			} `json:"identity"`
		} `json:"grants"`
	}
)

// myTeams is the set of teams user is in: as a member user, or through a member team it is in.
func myTeams(teams []apiTeam, user string) map[string]bool {
	mine := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, t := range teams {
			if mine[t.TeamID] {
				continue
			}
			in := false
			for _, u := range t.MemberUsers {
				in = in || u.UserID == user
			}
			for _, m := range t.MemberTeams {
				in = in || mine[m.TeamID]
			}
			if in {
				mine[t.TeamID], changed = true, true
			}
		}
	}
	return mine
}

// roleOf is Owner when an Owner grant of acl names user or one of its teams, else Reader.
func roleOf(acl []apiResourceRole, user string, teams map[string]bool) string {
	for _, rr := range acl {
		if rr.Role != "Owner" {
			continue
		}
		for _, g := range rr.Grants {
			if id := g.Identity; id.UserID != "" && id.UserID == user || id.TeamID != "" && teams[id.TeamID] {
				return "Owner"
			}
		}
	}
	return "Reader"
}

// clientExport is keyhold export: the secrets the key can read, with their values, as a .env file
// (db.FormatDotenv, which keyhold import reads back byte for byte) or a JSON object.
func clientExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cc clientConfig
	var format string
	var only []string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	clientFlags(fs, &cc)
	fs.StringVar(&format, "format", "env", "env (a .env file) or json (an object of names and values)")
	fs.Var(onlyFlag{&only}, "only", "export only these secrets: `A,B`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if format != "env" && format != "json" {
		return usageError{fmt.Sprintf("--format %q: use env or json", format)}
	}
	c, err := cc.newClient(stderr)
	if err != nil {
		return err
	}
	vals, err := c.readableValues(ctx, only)
	if err != nil {
		return err
	}
	slices.SortFunc(vals, func(a, b namedValue) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer // written whole, or not at all
	defer func() { clear(buf.Bytes()) }()
	if format == "json" {
		obj := make(map[string]string, len(vals))
		for _, v := range vals {
			obj[v.Name] = v.Value
		}
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(obj); err != nil {
			return err
		}
	} else {
		pairs := make([]db.NameValue, len(vals))
		for i, v := range vals {
			pairs[i] = db.NameValue{Name: v.Name, Value: []byte(v.Value)}
		}
		if err := db.FormatDotenv(&buf, pairs); err != nil {
			return clientErrorf("export: %s", oneLine(err))
		}
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

// importRequest and importResult are POST /v1/secrets/import.
type (
	importItem struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	importRequest struct {
		Secrets   []importItem `json:"secrets"`
		Overwrite bool         `json:"overwrite"`
		DryRun    bool         `json:"dryRun"`
	}
	importResult struct {
		Created   int `json:"created"`
		Updated   int `json:"updated"`
		Unchanged int `json:"unchanged"`
		Skipped   int `json:"skipped"`
		Items     []struct {
			Name    string `json:"name"`
			Outcome string `json:"outcome"`
			Reason  string `json:"reason"`
			Version int64  `json:"version"`
		} `json:"items"`
	}
)

// importOptions are keyhold import's flags; register puts them on the command's flag set and on
// help's.
type importOptions struct {
	cc                clientConfig
	overwrite, dryRun bool
}

func (o *importOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
	fs.BoolVar(&o.overwrite, "overwrite", false, "replace the values of secrets that exist (default: leave them and report them skipped)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "show what would change, and change nothing")
}

// clientImport is keyhold import FILE.env (or - for stdin): every entry of the file in one request,
// applied all together or not at all. A file with a problem (db.ParseDotenv names the line) is
// refused before anything is sent.
func clientImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o importOptions
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	o.register(fs)
	pos, err := clientArgs(fs, args, 1, "import needs one file: keyhold import FILE.env (or - for stdin)")
	if err != nil {
		return err
	}
	file := pos[0]
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return err
	}
	var data []byte
	if file == "-" {
		file = "stdin"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return clientErrorf("import: %v", err)
	}
	defer clear(data)
	entries, err := db.ParseDotenv(data)
	if err != nil {
		return clientErrorf("%s: %s", file, oneLine(err))
	}
	var problems int
	for _, e := range entries {
		if e.Problem != "" {
			problems++
			fmt.Fprintf(stderr, "keyhold: %s:%d: %s\n", file, e.Line, entryProblem(e))
		}
	}
	if problems > 0 {
		return clientErrorf("%s: %d %s (above): nothing was imported", file, problems, plural(problems, "problem", "problems"))
	}
	req := importRequest{Overwrite: o.overwrite, DryRun: o.dryRun}
	var lines []int // the file's line of each item sent
	for i, e := range entries {
		if e.Overridden {
			fmt.Fprintf(stdout, "%s:%d: %s is set again on line %d, which wins\n", file, e.Line, e.Name, laterLine(entries[i+1:], e.Name))
			continue
		}
		req.Secrets = append(req.Secrets, importItem{Name: e.Name, Value: string(e.Value)})
		lines = append(lines, e.Line)
	}
	if len(req.Secrets) == 0 {
		return clientErrorf("%s has no entries: nothing to import", file)
	}
	var res importResult
	if err := c.call(ctx, http.MethodPost, "/v1/secrets/import", req, &res); err != nil {
		if ae := (*apiError)(nil); errors.As(err, &ae) && (ae.status == http.StatusNotFound || ae.status == http.StatusMethodNotAllowed) {
			return clientErrorf("%s cannot import: POST /v1/secrets/import answered %d; it may be an older keyhold", c.base, ae.status)
		}
		var n int
		if ae := (*apiError)(nil); errors.As(err, &ae) && ae.status == http.StatusBadRequest {
			if _, serr := fmt.Sscanf(ae.message, "Item %d of", &n); serr == nil && n >= 1 && n <= len(lines) {
				return clientErrorf("%s:%d: %s: nothing was imported", file, lines[n-1], ae.message)
			}
		}
		return c.explain("import "+file, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	for _, it := range res.Items {
		line := it.Outcome + "\t" + it.Name
		switch {
		case it.Reason != "":
			line += "\t" + it.Reason
		case it.Outcome == "update" && it.Version > 0:
			line += fmt.Sprintf("\twas version %d", it.Version)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	summary := fmt.Sprintf("created %d, updated %d, unchanged %d, skipped %d", res.Created, res.Updated, res.Unchanged, res.Skipped)
	if o.dryRun {
		summary = fmt.Sprintf("dry run, nothing changed: would create %d, update %d, leave %d unchanged, skip %d", res.Created, res.Updated, res.Unchanged, res.Skipped)
	}
	if res.Skipped > 0 && !o.overwrite {
		summary += " (--overwrite replaces the values of secrets that exist)"
	}
	_, err = fmt.Fprintln(stdout, summary)
	return err
}

// entryProblem is a parser's problem with an entry, naming the entry when it has a name.
func entryProblem(e db.DotenvEntry) string {
	if e.Name == "" {
		return e.Problem
	}
	return e.Name + ": " + e.Problem
}

// laterLine is the line of the last entry named name in rest, or 0.
func laterLine(rest []db.DotenvEntry, name string) int {
	line := 0
	for _, e := range rest {
		if e.Name == name {
			line = e.Line
		}
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
