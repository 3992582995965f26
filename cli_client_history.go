package main

// The client commands on version history and the trash: keyhold get NAME --version N, history NAME,
// history restore NAME N, trash, trash restore and trash rm. Like the others they go through the JSON
// API; a name is found in the list of secrets, which carries no values, so that finding one is not
// a read of its value.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// parseVersion reads a version number: 1, 2, 3…
func parseVersion(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a version number: use 1, 2, 3… (keyhold history NAME lists them)", s)
	}
	return n, nil
}

// secretNamed finds the secret the key can read called name, without its value.
func (c *apiClient) secretNamed(ctx context.Context, name string) (apiSecret, error) {
	secs, err := c.listSecrets(ctx)
	if err != nil {
		return apiSecret{}, err
	}
	for _, s := range secs {
		if s.Name == name {
			return s, nil
		}
	}
	return apiSecret{}, clientErrorf("secret %s: no such secret, or it is not shared with this key's user", name)
}

// fetchVersion reads version n of a secret with its value (an audited read of that version): the
// API's object as it came, and the value.
func (c *apiClient) fetchVersion(ctx context.Context, name string, n int64) (json.RawMessage, string, error) {
	s, err := c.secretNamed(ctx, name)
	if err != nil {
		return nil, "", err
	}
	about := fmt.Sprintf("secret %s", name)
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/v1/secrets/"+url.PathEscape(s.SecretID)+"?version="+strconv.FormatInt(n, 10), nil, &raw); err != nil {
		return nil, "", c.explain(about, err)
	}
	var sec apiSecret
	if err := json.Unmarshal(raw, &sec); err != nil || sec.Value == nil {
		clear(raw)
		return nil, "", clientErrorf("%s: %s answered without its value: is it keyhold's address?", about, c.base)
	}
	return raw, *sec.Value, nil
}

// userEmails maps the organization's users' IDs to their emails (GET /v1/users), for the tables
// that name who did what. A failure leaves the IDs as they are: the table still says what it can.
func (c *apiClient) userEmails(ctx context.Context) map[string]string {
	var users []struct {
		UserID string `json:"userID"`
		Email  string `json:"email"`
	}
	emails := map[string]string{}
	if err := c.call(ctx, http.MethodGet, "/v1/users", nil, &users); err != nil {
		return emails
	}
	for _, u := range users {
		emails[u.UserID] = u.Email
	}
	return emails
}

// who is a user's email when known, else the ID, else "-" (the command line, for a deletion).
func who(emails map[string]string, id string) string {
	switch {
	case id == "":
		return "-"
	case emails[id] != "":
		return emails[id]
	}
	return id
}

// clientTime shows one of the API's times (RFC 3339) in UTC to the minute, and layout.
func clientTime(v, layout string) string {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return v
	}
	return t.UTC().Format(layout)
}

const (
	timeLayout = "2006-01-02 15:04 UTC"
	dateLayout = "2006-01-02"
)

// byteSize is a size for a person: 512 B, 1.5 KiB, 2.0 MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// apiVersions is GET /v1/secrets/{secretID}/versions.
type apiVersions struct {
	SecretID string `json:"secretID"`
	Name     string `json:"name"`
	Versions []struct {
		Version   int64  `json:"version"`
		Current   bool   `json:"current"`
		Size      int64  `json:"size"`
		CreatedBy string `json:"createdBy"`
		CreatedAt string `json:"createdAt"`
	} `json:"versions"`
}

// historyOptions are keyhold history's flags; register puts them on the command's flag set and on
// help's.
type historyOptions struct {
	cc     clientConfig
	asJSON bool
}

func (o *historyOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
	fs.BoolVar(&o.asJSON, "json", false, `print the API's object: {"secretID","name","versions":[{"version","current","size","createdBy","createdAt"}]}`)
}

// clientHistory is keyhold history NAME: the versions of a secret, newest first, without values.
func clientHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o historyOptions
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	o.register(fs)
	pos, err := clientArgs(fs, args, 1, "history needs one secret name: keyhold history NAME")
	if err != nil {
		return err
	}
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return err
	}
	s, err := c.secretNamed(ctx, pos[0])
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/v1/secrets/"+url.PathEscape(s.SecretID)+"/versions", nil, &raw); err != nil {
		return c.explain("secret "+s.Name, err)
	}
	if o.asJSON {
		_, err = stdout.Write(append(raw, '\n'))
		return err
	}
	var h apiVersions
	if err := json.Unmarshal(raw, &h); err != nil {
		return clientErrorf("secret %s: %s answered with versions keyhold does not understand (%s)", s.Name, c.base, jsonReason(err))
	}
	emails := c.userEmails(ctx)
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSET BY\tSET AT\tSIZE")
	for _, v := range h.Versions {
		version := strconv.FormatInt(v.Version, 10)
		if v.Current {
			version += " (current)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", version, who(emails, v.CreatedBy), clientTime(v.CreatedAt, timeLayout), byteSize(v.Size))
	}
	return tw.Flush()
}

// historyRestoreOptions are keyhold history restore's flags.
type historyRestoreOptions struct {
	cc clientConfig
}

func (o *historyRestoreOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
}

// clientHistoryRestore is keyhold history restore NAME N: version N's value becomes the secret's new
// version (the history is never rewritten); Owners only.
func clientHistoryRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o historyRestoreOptions
	fs := flag.NewFlagSet("history restore", flag.ContinueOnError)
	o.register(fs)
	pos, err := clientArgs(fs, args, 2, "history restore needs a secret name and a version: keyhold history restore NAME N")
	if err != nil {
		return err
	}
	n, err := parseVersion(pos[1])
	if err != nil {
		return usageError{err.Error()}
	}
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return err
	}
	s, err := c.secretNamed(ctx, pos[0])
	if err != nil {
		return err
	}
	var etag string
	path := "/v1/secrets/" + url.PathEscape(s.SecretID) + "/versions/" + strconv.FormatInt(n, 10) + "/restore"
	if err := c.callWith(ctx, http.MethodPost, path, callOptions{etag: &etag}, struct{}{}, nil); err != nil {
		return c.explain("secret "+s.Name, err)
	}
	as := "as its current value"
	if v, err := strconv.Unquote(etag); err == nil {
		as = "as version " + v
	}
	_, err = fmt.Fprintf(stdout, "%s: version %d restored %s\n", s.Name, n, as)
	return err
}

// apiTrash is GET /v1/trash.
type (
	apiDeleted struct {
		SecretID  string `json:"secretID"`
		Name      string `json:"name"`
		DeletedBy string `json:"deletedBy"`
		DeletedAt string `json:"deletedAt"`
		PurgeAt   string `json:"purgeAt"`
	}
	apiTrash struct {
		Secrets []apiDeleted `json:"secrets"`
	}
)

// listTrash reads the trash the key's user may restore from: GET /v1/trash, the answer as it came
// and decoded.
func (c *apiClient) listTrash(ctx context.Context) (json.RawMessage, []apiDeleted, error) {
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/v1/trash", nil, &raw); err != nil {
		if ae := (*apiError)(nil); errors.As(err, &ae) && ae.status == http.StatusNotFound {
			return nil, nil, clientErrorf("%s has no trash: it may be an older keyhold", c.base)
		}
		return nil, nil, c.explain("reading the trash", err)
	}
	var t apiTrash
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, nil, clientErrorf("%s answered GET /v1/trash with JSON keyhold does not understand (%s): is it keyhold's address?", c.base, jsonReason(err))
	}
	return raw, t.Secrets, nil
}

// trashedSecret finds the deleted secret ref names: by ID, else by name. A name that several deleted
// secrets had is ambiguous: the error lists them, for the person to give the ID of one.
func (c *apiClient) trashedSecret(ctx context.Context, ref string) (apiDeleted, error) {
	_, trash, err := c.listTrash(ctx)
	if err != nil {
		return apiDeleted{}, err
	}
	var named []apiDeleted
	for _, d := range trash {
		if d.SecretID == ref {
			return d, nil
		}
		if d.Name == ref {
			named = append(named, d)
		}
	}
	switch len(named) {
	case 0:
		return apiDeleted{}, clientErrorf("%s: no such deleted secret: it was restored or destroyed, or is not this key's user's to restore (keyhold trash lists them)", ref)
	case 1:
		return named[0], nil
	}
	emails := c.userEmails(ctx)
	var which []string
	for _, d := range named {
		which = append(which, fmt.Sprintf("%s (deleted %s by %s)", d.SecretID, clientTime(d.DeletedAt, timeLayout), who(emails, d.DeletedBy)))
	}
	return apiDeleted{}, clientErrorf("%s: %d deleted secrets have this name: give the ID of one of them: %s", ref, len(named), strings.Join(which, ", "))
}

// trashOptions are keyhold trash's flags.
type trashOptions struct {
	cc     clientConfig
	asJSON bool
}

func (o *trashOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
	fs.BoolVar(&o.asJSON, "json", false, `print the API's object: {"secrets":[{"secretID","name",…,"deletedBy","deletedAt","purgeAt"}]}`)
}

// clientTrash is keyhold trash: the deleted secrets the key's user may restore, newest deletion
// first, with who deleted each, when, and when it will be destroyed for good.
func clientTrash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o trashOptions
	fs := flag.NewFlagSet("trash", flag.ContinueOnError)
	o.register(fs)
	pos, err := parseClientArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("trash has no command %q: keyhold trash lists the deleted secrets; keyhold trash restore NAME and keyhold trash rm NAME act on one", pos[0])}
	}
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return err
	}
	raw, trash, err := c.listTrash(ctx)
	if err != nil {
		return err
	}
	if o.asJSON {
		_, err = stdout.Write(append(raw, '\n'))
		return err
	}
	if len(trash) == 0 {
		return nil
	}
	emails := c.userEmails(ctx)
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDELETED BY\tDELETED AT\tDESTROYED ON\tID")
	for _, d := range trash {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, who(emails, d.DeletedBy), clientTime(d.DeletedAt, timeLayout), clientTime(d.PurgeAt, dateLayout), d.SecretID)
	}
	return tw.Flush()
}

// trashRestoreOptions are keyhold trash restore's flags.
type trashRestoreOptions struct {
	cc clientConfig
	as string
}

func (o *trashRestoreOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
	fs.StringVar(&o.as, "as", "", "restore it under this `name` (when its own has been taken since)")
}

// clientTrashRestore is keyhold trash restore NAME-or-ID [--as NEW_NAME]: the deleted secret comes
// back with its value, versions and grants.
func clientTrashRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o trashRestoreOptions
	fs := flag.NewFlagSet("trash restore", flag.ContinueOnError)
	o.register(fs)
	pos, err := clientArgs(fs, args, 1, "trash restore needs one deleted secret: keyhold trash restore NAME (or its ID) [--as NEW_NAME]")
	if err != nil {
		return err
	}
	if o.as == "" && flagGiven(fs, "as") {
		return usageError{"--as needs a name: leave it out to restore the secret under its own"}
	}
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return err
	}
	d, err := c.trashedSecret(ctx, pos[0])
	if err != nil {
		return err
	}
	body := map[string]string{}
	if o.as != "" {
		body["name"] = o.as
	}
	var sec apiSecret
	if err := c.call(ctx, http.MethodPost, "/v1/trash/"+url.PathEscape(d.SecretID)+"/restore", body, &sec); err != nil {
		if ae := (*apiError)(nil); errors.As(err, &ae) && ae.status == http.StatusConflict {
			return clientErrorf("%s: %s (--as NEW_NAME restores it under another name)", d.Name, ae.message)
		}
		return c.explain(d.Name, err)
	}
	if sec.Name != d.Name {
		_, err = fmt.Fprintf(stdout, "%s restored as %s\n", d.Name, sec.Name)
	} else {
		_, err = fmt.Fprintf(stdout, "%s restored\n", d.Name)
	}
	return err
}

// flagGiven says whether the command line set the flag called name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// trashRmOptions are keyhold trash rm's flags.
type trashRmOptions struct {
	cc  clientConfig
	yes bool
}

func (o *trashRmOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
	fs.BoolVar(&o.yes, "yes", false, "destroy it: it cannot be restored after")
}

// clientTrashRm is keyhold trash rm NAME-or-ID --yes: the deleted secret is destroyed at once, with its
// versions and grants. Without --yes nothing is asked of the server.
func clientTrashRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o trashRmOptions
	fs := flag.NewFlagSet("trash rm", flag.ContinueOnError)
	o.register(fs)
	pos, err := clientArgs(fs, args, 1, "trash rm needs one deleted secret: keyhold trash rm NAME (or its ID) --yes")
	if err != nil {
		return err
	}
	if !o.yes {
		return usageError{fmt.Sprintf("trash rm destroys %s for good: it cannot be restored after. Add --yes to destroy it", pos[0])}
	}
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return err
	}
	d, err := c.trashedSecret(ctx, pos[0])
	if err != nil {
		return err
	}
	if err := c.call(ctx, http.MethodDelete, "/v1/trash/"+url.PathEscape(d.SecretID), nil, nil); err != nil {
		return c.explain(d.Name, err)
	}
	_, err = fmt.Fprintf(stdout, "%s (%s) destroyed\n", d.Name, d.SecretID)
	return err
}
