package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// clientRun is keyhold run [--only A,B] [--prefix P_] [--sdk-env] -- CMD ARGS...: CMD with the
// secrets the key can read as environment variables, with keyhold's stdin, stdout and stderr. It
// returns CMD's exit code (128+N when signal N ended it), or 127 when CMD is not found, 126 when it
// cannot be started, and 1 when keyhold fails before starting it.
//
// The environment is keyhold's own with the secrets added; a secret replaces a variable of the same
// name, so that what the server holds is what the command sees. SIGINT, SIGTERM, SIGHUP and SIGQUIT
// are passed on to the command while it runs, but for a Ctrl-C (or Ctrl-\) that the terminal already
// sent to the command's process group (signaledByTerminal): the command would get it twice.
func clientRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	code, err := runWithSecrets(ctx, args, stdin, stdout, stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "keyhold: "+oneLine(err))
	}
	return code
}

// The environment's limits on Linux, which run checks before starting anything: one NAME=VALUE string
// may hold 128 KiB with its terminating NUL (MAX_ARG_STRLEN), and the arguments and environment
// together about 2 MiB (ARG_MAX): the secrets may take half of that, leaving room for the rest.
const (
	maxEnvString = 128 << 10
	maxEnvTotal  = 1 << 20
)

// The variables through which the singlestoredb SDK's notebook helpers (get_secret('NAME')) find their
// management API: --sdk-env points them at keyhold. The SDK reads its API at BASE_URL joined with
// "v1" (Python's urljoin), so the base is the server's address with a trailing slash: with it, a
// proxy's path prefix is kept, and without one urljoin would replace the prefix's last segment.
const (
	sdkTokenEnv   = "SINGLESTOREDB_MANAGEMENT_TOKEN"
	sdkBaseURLEnv = "SINGLESTOREDB_MANAGEMENT_BASE_URL"
	// sdkOrgEnv, when set, makes the SDK send an organizationID that keyhold refuses unless it is the
	// key's organization: --sdk-env leaves it out of the command's environment.
	sdkOrgEnv = "SINGLESTOREDB_ORGANIZATION"
)

// runSignals are the signals keyhold run passes on to its command.
var runSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// notifyRun subscribes c to runSignals until stop. Tests replace it to deliver signals of their own.
var notifyRun = func(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, runSignals...)
	return func() { signal.Stop(c) }
}

// runOptions are keyhold run's flags; register puts them on the command's flag set and on help's.
type runOptions struct {
	cc     clientConfig
	only   []string
	prefix string
	sdkEnv bool
}

func (o *runOptions) register(fs *flag.FlagSet) {
	clientFlags(fs, &o.cc)
	fs.Var(onlyFlag{&o.only}, "only", "pass only these secrets: `A,B`")
	fs.StringVar(&o.prefix, "prefix", "", "put `P_` before each secret's name to make its variable's name")
	fs.BoolVar(&o.sdkEnv, "sdk-env", false, "also set "+sdkTokenEnv+" and "+sdkBaseURLEnv+", so that the SDK's get_secret('NAME') reads from keyhold")
}

func runWithSecrets(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, err
		}
		return 1, usageError{err.Error()}
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return 1, usageError{"run needs a command: keyhold run [--only A,B] [--prefix P_] -- CMD ARGS..."}
	}
	if o.prefix != "" && !validEnvName(o.prefix) {
		return 1, usageError{fmt.Sprintf("--prefix %q: use letters, digits and _, not starting with a digit", o.prefix)}
	}
	c, err := o.cc.newClient(stderr)
	if err != nil {
		return 1, err
	}
	vals, err := c.readableValues(ctx, o.only)
	if err != nil {
		return 1, err
	}
	vars, err := secretVars(vals, o.prefix)
	if err != nil {
		return 1, err
	}
	var drop []string
	if o.sdkEnv {
		vars = append(vars, envVar{name: sdkTokenEnv, value: c.key}, envVar{name: sdkBaseURLEnv, value: c.base + "/"})
		drop = append(drop, sdkOrgEnv)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = childEnv(os.Environ(), vars, drop)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if cmd.Err != nil {
		return startFailure(argv[0], cmd.Err)
	}
	// Subscribed before the command starts: a signal from then on reaches it.
	sigs := make(chan os.Signal, 8)
	stop := notifyRun(sigs)
	defer stop()
	if ctx.Err() != nil {
		return 1, clientErrorf("interrupted")
	}
	if err := cmd.Start(); err != nil {
		return startFailure(argv[0], err)
	}
	return superviseChild(cmd, sigs)
}

// superviseChild passes sigs on to the started cmd until it exits, and returns its exit code: 128+N
// when signal N ended it.
func superviseChild(cmd *exec.Cmd, sigs <-chan os.Signal) (int, error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			if !signaledByTerminal(sig, cmd.Process.Pid) {
				_ = cmd.Process.Signal(sig) // fails only when the command has just exited
			}
		case err := <-done:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				return 1, clientErrorf("%s: %v", cmd.Args[0], err) // its output could not be copied
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return cmd.ProcessState.ExitCode(), nil
		}
	}
}

// startFailure is the exit code and message of a command that could not be started, as a shell
// gives them: 127 when it is not found, 126 otherwise.
func startFailure(name string, err error) (int, error) {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return 127, clientErrorf("%s: command not found", name)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return 126, clientErrorf("%s: cannot run it: %v", name, err)
}

// envVar is one variable run adds to the command's environment; secret names the secret it holds.
type envVar struct {
	name, value, secret string
}

// secretVars makes the secrets' variables (prefix before each name) and checks that the environment
// can carry them: each name a variable name, each value free of NUL bytes and within maxEnvString,
// all of them within maxEnvTotal. Errors name the secret and the size, never the value.
func secretVars(vals []namedValue, prefix string) ([]envVar, error) {
	vars := make([]envVar, 0, len(vals))
	total := 0
	for _, v := range vals {
		name := prefix + v.Name
		switch size := len(name) + len(v.Value) + 2; { // NAME=VALUE and its NUL
		case !validEnvName(name):
			return nil, clientErrorf("secret %s cannot be an environment variable: %s is not a variable name (letters, digits and _, not starting with a digit); add a --prefix, such as --prefix S_, or leave it out with --only", v.Name, name)
		case strings.IndexByte(v.Value, 0) >= 0:
			return nil, clientErrorf("secret %s holds a NUL byte, which no environment variable can carry: read it with keyhold get %s instead", v.Name, v.Name)
		case size > maxEnvString:
			return nil, clientErrorf("secret %s is %d bytes: too large for an environment variable, which holds at most %d bytes with its name (%s); read it with keyhold get %s instead", v.Name, len(v.Value), maxEnvString-len(name)-2, name, v.Name)
		default:
			total += size
		}
		vars = append(vars, envVar{name: name, value: v.Value, secret: v.Name})
	}
	if total > maxEnvTotal {
		big := slices.Clone(vars)
		slices.SortFunc(big, func(a, b envVar) int { return len(b.value) - len(a.value) })
		var names []string
		for _, v := range big[:min(3, len(big))] {
			names = append(names, fmt.Sprintf("%s (%d bytes)", v.secret, len(v.value)))
		}
		return nil, clientErrorf("the %d secrets come to %d bytes of environment, over the %d keyhold passes to a command (the largest: %s): choose fewer with --only",
			len(vars), total, maxEnvTotal, strings.Join(names, ", "))
	}
	return vars, nil
}

// validEnvName reports whether name is a portable environment variable name: letters, digits and _,
// not starting with a digit.
func validEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, r := range name {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// childEnv is base (NAME=VALUE entries) without the variables named in drop, with vars set: each
// replaces an entry of the same name.
func childEnv(base []string, vars []envVar, drop []string) []string {
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(drop, name) || slices.ContainsFunc(vars, func(v envVar) bool { return v.name == name }) {
			continue
		}
		out = append(out, kv)
	}
	for _, v := range vars {
		out = append(out, v.name+"="+v.value)
	}
	return out
}
