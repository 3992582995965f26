package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/keyhold/keyhold/db"
)

// listFlag is a flag that may be given several times (--team Ops --team Platform).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// linkFlags registers --url, the address people reach keyhold at, for the links a command prints. Its
// default is KEYHOLD_PUBLIC_URL, else the listen address (a wildcard host read as localhost). A --url
// that is not an http(s) address with a host is a flag error; a bad default leaves base empty, and
// linkFlags returns the error for the command to give when no --url replaced it.
func linkFlags(fs *flag.FlagSet, base *string) error {
	v := envOr("KEYHOLD_PUBLIC_URL", "")
	if v == "" {
		host, port, err := net.SplitHostPort(envOr("KEYHOLD_ADDR", "127.0.0.1:8080"))
		if ip, _ := netip.ParseAddr(host); err == nil && (host == "" || ip.IsUnspecified()) {
			host = "localhost"
		}
		v = "http://" + net.JoinHostPort(host, port)
	}
	def, err := parsePublicURL(v)
	*base = def
	fs.Var(publicURLFlag{base}, "url", "the `address` people open keyhold at, for the link (env KEYHOLD_PUBLIC_URL)")
	if err != nil {
		return fmt.Errorf("KEYHOLD_PUBLIC_URL or KEYHOLD_ADDR: %w", err)
	}
	return nil
}

// userInvite creates an invitation and prints its link, for the operator to hand over: the person
// opens it and sets their own password (or accepts with the account they have).
func userInvite(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	var cfg config
	var orgName, email, base string
	var admin bool
	var teams listFlag
	fs := flag.NewFlagSet("user invite", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	badURL := linkFlags(fs, &base)
	fs.StringVar(&orgName, "org", "", "organization name")
	fs.StringVar(&email, "email", "", "whom to invite")
	fs.BoolVar(&admin, "admin", false, "make them an organization admin")
	fs.Var(&teams, "team", "a team they join on accepting (repeat for several)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if orgName == "" || email == "" {
		return usageError{"user invite needs --org and --email"}
	}
	if base == "" {
		return badURL
	}
	store, a, err := orgActor(ctx, cfg, orgName, log)
	if err != nil {
		return err
	}
	defer store.Close()
	var teamIDs []string
	if len(teams) > 0 {
		all, err := store.InvitationTeams(ctx, a)
		if err != nil {
			return err
		}
	names:
		for _, name := range teams {
			for _, t := range all {
				if strings.EqualFold(t.Name, strings.TrimSpace(name)) {
					teamIDs = append(teamIDs, t.ID)
					continue names
				}
			}
			return usageError{fmt.Sprintf("no team named %q in %s", name, orgName)}
		}
	}
	role := db.OrgMember
	if admin {
		role = db.OrgAdmin
	}
	token, _, err := store.CreateInvitation(ctx, a, db.NewInvitation{Email: email, Role: role, TeamIDs: teamIDs})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, base+"/invite/"+token)
	return nil
}

// userResetPassword is the operator's answer to a forgotten password: the user's password stops
// working, their sessions end and their API keys are revoked, and the printed one-time link lets them
// choose a new one.
func userResetPassword(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	var cfg config
	var email, base string
	fs := flag.NewFlagSet("user reset-password", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	badURL := linkFlags(fs, &base)
	fs.StringVar(&email, "email", "", "the user's email")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if email == "" {
		return usageError{"user reset-password needs --email"}
	}
	if base == "" {
		return badURL
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	token, _, err := store.ResetPassword(ctx, email)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, base+"/reset/"+token)
	return nil
}
