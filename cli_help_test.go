package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// runLine runs one command line in-process and returns its exit code and output.
func runLine(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustFlagSet is the flag set help lists for c.
func mustFlagSet(t *testing.T, c command) *flag.FlagSet {
	t.Helper()
	fs, err := c.flagSet()
	if err != nil {
		t.Fatalf("%s: no flag set: %v", c.name, err)
	}
	return fs
}

// flagsOf lists the names of fs's flags.
func flagsOf(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// entry is the part of keyhold help about the command whose usage line starts with line.
func entry(t *testing.T, help, line string) string {
	t.Helper()
	i := strings.Index(help, "\n  "+line+"\n")
	if i < 0 {
		i = strings.Index(help, "\n  "+line+" ")
	}
	if i < 0 {
		t.Fatalf("help has no entry %q:\n%s", line, help)
	}
	rest := help[i+1:]
	if j := strings.Index(rest[1:], "\n  keyhold "); j >= 0 {
		rest = rest[:j+1]
	}
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// listedFlags are the flags an entry of keyhold help lists on its "flags:" lines.
func listedFlags(entry string) []string {
	_, list, ok := strings.Cut(entry, "flags: ")
	if !ok {
		return nil
	}
	var names []string
	for _, f := range strings.Fields(list) {
		names = append(names, strings.TrimPrefix(f, "--"))
	}
	return names
}

// TestHelp_EveryFormListsEveryCommandAndFlag: keyhold help, -h, -help and --help print the same usage
// on stdout and exit 0; it has an entry for every command of the table, listing exactly the flags of
// the flag set the command parses.
func TestHelp_EveryFormListsEveryCommandAndFlag(t *testing.T) {
	code, help, errOut := runLine(t, "help")
	if code != 0 || errOut != "" {
		t.Fatalf("help: code %d, stderr %q", code, errOut)
	}
	for _, form := range [][]string{{"-h"}, {"-help"}, {"--help"}} {
		if code, out, errOut := runLine(t, form...); code != 0 || out != help || errOut != "" {
			t.Errorf("keyhold %s: code %d, stderr %q, and not the same output as keyhold help:\n%s", form[0], code, errOut, out)
		}
	}
	for _, c := range commands() {
		name := c.name
		if name == defaultCommand {
			name = "[" + name + "]"
		}
		e := entry(t, help, "keyhold "+name)
		if got, want := listedFlags(e), flagsOf(mustFlagSet(t, c)); !slices.Equal(got, want) {
			t.Errorf("keyhold help lists %s with the flags %q, but it takes %q:\n%s", c.name, got, want, e)
		}
	}
}

// commandHelpFlags are the flags keyhold COMMAND --help describes: its lines "  --name [value]".
var commandHelpFlags = regexp.MustCompile(`(?m)^  --([a-z0-9-]+)`)

// TestHelp_CommandHelpDescribesEveryFlag: COMMAND --help, COMMAND -h and keyhold help COMMAND print
// the same help on stdout and exit 0: each flag of the command's flag set, and no other, with its
// usage and so the environment variable that stands for it, and the variables the command reads
// besides.
func TestHelp_CommandHelpDescribesEveryFlag(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			words := strings.Fields(c.name)
			code, help, errOut := runLine(t, append(words, "--help")...)
			if code != 0 || errOut != "" || !strings.HasPrefix(help, "Usage: keyhold ") {
				t.Fatalf("code %d, stderr %q, stdout:\n%s", code, errOut, help)
			}
			for _, form := range [][]string{append(words, "-h"), append([]string{"help"}, words...)} {
				if code, out, errOut := runLine(t, form...); code != 0 || out != help || errOut != "" {
					t.Errorf("keyhold %s: code %d, stderr %q, and not the same output as --help:\n%s", strings.Join(form, " "), code, errOut, out)
				}
			}
			fs := mustFlagSet(t, c)
			var described []string
			for _, m := range commandHelpFlags.FindAllStringSubmatch(help, -1) {
				described = append(described, m[1])
			}
			if want := flagsOf(fs); !slices.Equal(described, want) {
				t.Errorf("describes the flags %q, but %s takes %q:\n%s", described, c.name, want, help)
			}
			flat := strings.Join(strings.Fields(help), " ")
			fs.VisitAll(func(f *flag.Flag) {
				_, usage := flag.UnquoteUsage(f)
				if !strings.Contains(flat, strings.Join(strings.Fields(usage), " ")) {
					t.Errorf("--%s: its usage %q is missing", f.Name, usage)
				}
				for _, m := range envInUsage.FindAllStringSubmatch(f.Usage, -1) {
					for _, name := range envName.FindAllString(m[1], -1) {
						if !strings.Contains(help, name) {
							t.Errorf("--%s: its variable %s is missing", f.Name, name)
						}
					}
				}
			})
			for _, name := range c.env {
				if !strings.Contains(help, "\n  "+name+"\n") {
					t.Errorf("the variable %s is missing", name)
				}
				if !slices.ContainsFunc(envNotes(), func(n envNote) bool { return n.name == name }) {
					t.Errorf("the variable %s is not described in envNotes", name)
				}
			}
		})
	}
}

// TestHelp_GroupHelp: a group's help lists its commands; a group without a command is a usage error.
func TestHelp_GroupHelp(t *testing.T) {
	code, help, errOut := runLine(t, "user", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("user --help: code %d, stderr %q", code, errOut)
	}
	for _, name := range []string{"user add", "user invite", "user reset-password", "user remove"} {
		if !strings.Contains(help, "\n  keyhold "+name+" ") {
			t.Errorf("user --help lacks %s:\n%s", name, help)
		}
	}
	if code, out, _ := runLine(t, "help", "user"); code != 0 || out != help {
		t.Errorf("help user: code %d, and not the same output as user --help:\n%s", code, out)
	}
	code, out, errOut := runLine(t, "user")
	if code != 1 || out != "" || errOut != "keyhold: user needs a command: add, invite, reset-password, remove (run 'keyhold help user')\n" {
		t.Errorf("user: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runLine(t, "help", "frobnicate"); code != 1 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: code %d, stderr %q", code, errOut)
	}
}

// TestHelp_CommandThatIsAGroup: history and trash are commands and groups: their help lists their
// group's commands; the word after them is one of those, or the command's own argument.
func TestHelp_CommandThatIsAGroup(t *testing.T) {
	for group, subs := range map[string][]string{"history": {"history restore NAME N"}, "trash": {"trash restore NAME|ID", "trash rm NAME|ID --yes"}} {
		code, help, errOut := runLine(t, group, "--help")
		if code != 0 || errOut != "" || !strings.HasPrefix(help, "Usage: keyhold "+group+" ") {
			t.Fatalf("%s --help: code %d, stderr %q:\n%s", group, code, errOut, help)
		}
		_, commands, _ := strings.Cut(help, "\nCommands:\n")
		for _, sub := range subs {
			if !strings.Contains(commands, "\n  keyhold "+sub) && !strings.HasPrefix(commands, "  keyhold "+sub) {
				t.Errorf("%s --help does not list %s under Commands:\n%s", group, sub, help)
			}
		}
	}
	cmds := commands()
	for _, tc := range []struct {
		line []string
		name string
		args []string
	}{
		{[]string{"history", "API_TOKEN"}, "history", []string{"API_TOKEN"}},
		{[]string{"history", "restore", "API_TOKEN", "1"}, "history restore", []string{"API_TOKEN", "1"}},
		{[]string{"history", "--", "restore"}, "history", []string{"--", "restore"}},
		{[]string{"trash"}, "trash", []string{}},
		{[]string{"trash", "rm", "OLD", "--yes"}, "trash rm", []string{"OLD", "--yes"}},
		{[]string{"trash", "frob"}, "trash", []string{"frob"}},
		{[]string{"user", "frob"}, "user frob", []string{}},
	} {
		name, args := commandLine(cmds, tc.line)
		if name != tc.name || !slices.Equal(args, tc.args) {
			t.Errorf("%q: %q %q, want %q %q", tc.line, name, args, tc.name, tc.args)
		}
	}
	if code, out, errOut := runLine(t, "trash", "frob"); code != 1 || out != "" || !strings.Contains(errOut, `trash has no command "frob"`) {
		t.Errorf("trash frob: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runLine(t, "history"); code != 1 || !strings.Contains(errOut, "history needs one secret name") {
		t.Errorf("history: code %d, stderr %q", code, errOut)
	}
}

// TestUsage_SynopsisNamesOnlyFlagsTheCommandTakes: the usage line of a command shows none but its
// own flags, and every command says what it does.
func TestUsage_SynopsisNamesOnlyFlagsTheCommandTakes(t *testing.T) {
	inSynopsis := regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	for _, c := range commands() {
		fs := mustFlagSet(t, c)
		for _, m := range inSynopsis.FindAllStringSubmatch(c.synopsis, -1) {
			if fs.Lookup(m[1]) == nil {
				t.Errorf("%s: the usage line names --%s, which it does not take", c.name, m[1])
			}
		}
		if c.summary == "" || c.section == "" || !slices.ContainsFunc(sections, func(s struct{ name, title string }) bool { return s.name == c.section }) {
			t.Errorf("%s: no summary, or no section of keyhold help", c.name)
		}
	}
}

// TestUsage_BadFlagExits2WithUsage: a flag the command does not take, or one without its value, exits
// 2 with the error and the command's usage on stderr, before the command does anything. A value a
// flag refuses is the command's one-line error, exit 1.
func TestUsage_BadFlagExits2WithUsage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KEYHOLD_DATA", filepath.Join(dir, "keyhold-data"))
	t.Chdir(dir)
	lines := [][]string{{"--no-such-flag"}}
	for _, c := range commands() {
		lines = append(lines, append(strings.Fields(c.name), "--no-such-flag"))
	}
	lines = append(lines, []string{"get", "NAME", "--no-such-flag"}, []string{"import", "-", "--no-such-flag"})
	for _, args := range lines {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runLine(t, args...)
			name := strings.Join(args[:len(args)-1], " ")
			if name == "" {
				name = "serve"
			}
			name = strings.TrimSuffix(strings.TrimSuffix(name, " NAME"), " -")
			if code != 2 || out != "" {
				t.Fatalf("code %d, stdout %q: want 2 and nothing", code, out)
			}
			if want := "keyhold: flag provided but not defined: -no-such-flag\n\nUsage: keyhold "; !strings.HasPrefix(errOut, want) {
				t.Fatalf("stderr %q, want it to start with %q", errOut, want)
			}
			c, _ := findCommand(commands(), name)
			var help bytes.Buffer
			writeCommandHelp(&help, c)
			if !strings.HasSuffix(errOut, "\n\n"+help.String()) {
				t.Errorf("stderr does not end with %s's usage:\n%s", name, errOut)
			}
		})
	}
	t.Run("a flag without its value", func(t *testing.T) {
		code, _, errOut := runLine(t, "backup", "--out")
		if code != 2 || !strings.HasPrefix(errOut, "keyhold: flag needs an argument: -out\n\nUsage: keyhold backup --out FILE") {
			t.Errorf("code %d, stderr %q", code, errOut)
		}
	})
	t.Run("a value the flag refuses", func(t *testing.T) {
		code, out, errOut := runLine(t, "healthcheck", "--public-url", "keyhold.example.com")
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "is not an http or https address") {
			t.Errorf("code %d, stdout %q, stderr %q: want 1 and one line", code, out, errOut)
		}
	})
	t.Run("an unknown command", func(t *testing.T) {
		if code, _, errOut := runLine(t, "frobnicate"); code != 1 || errOut != "keyhold: unknown command \"frobnicate\": run 'keyhold help'\n" {
			t.Errorf("code %d, stderr %q", code, errOut)
		}
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused command line created %v", entries)
	}
}

// TestHelp_NeverShowsTheDatabasePassword: a default taken from KEYHOLD_DATABASE_URL is shown without
// its password.
func TestHelp_NeverShowsTheDatabasePassword(t *testing.T) {
	t.Setenv("KEYHOLD_DATABASE_URL", "postgres://keyhold:hunter2-secret@db.example:5432/keyhold?sslmode=require")
	for _, args := range [][]string{{"help"}, {"migrate", "--help"}, {"serve", "--help"}, {"backup", "--bogus"},
		{"completion", "bash"}, {"completion", "zsh"}, {"completion", "fish"}} {
		code, out, errOut := runLine(t, args...)
		if strings.Contains(out+errOut, "hunter2") {
			t.Errorf("%q (code %d) shows the password:\n%s%s", args, code, out, errOut)
		}
	}
	if _, out, _ := runLine(t, "migrate", "--help"); !strings.Contains(strings.Join(strings.Fields(out), " "), `(default "postgres://keyhold:xxxxx@db.example:5432/keyhold?sslmode=require")`) {
		t.Errorf("migrate --help does not show the redacted default:\n%s", out)
	}
}

// TestHelp_NamesEveryEnvironmentVariable: every variable package main reads is in keyhold help (a
// NAME_FILE through its NAME and the _FILE paragraph).
func TestHelp_NamesEveryEnvironmentVariable(t *testing.T) {
	_, help, _ := runLine(t, "help")
	read := regexp.MustCompile(`"(KEYHOLD_[A-Z0-9_]+)"|(?:Getenv|LookupEnv|envOr|env)\("([A-Z][A-Z0-9_]*)"`)
	files, _ := filepath.Glob("*.go")
	seen := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			name := m[1] + m[2]
			seen++
			if strings.Contains(help, name) {
				continue
			}
			if base, ok := strings.CutSuffix(name, "_FILE"); ok && strings.Contains(help, "\n  "+base+" ") && strings.Contains(help, "_FILE added") {
				continue
			}
			t.Errorf("%s reads %s, which keyhold help does not name", file, name)
		}
	}
	if seen < 10 {
		t.Fatalf("found only %d reads of the environment: is the pattern stale?", seen)
	}
}

// TestHelp_ClientFlagsMatchTheirCommands: get, import and run parse their arguments themselves; help
// lists the flags their options register (getOptions and the like), and each command takes each of
// them.
func TestHelp_ClientFlagsMatchTheirCommands(t *testing.T) {
	want := map[string][]string{
		"get":             {"api-key", "api-key-file", "json", "newline", "url", "version"},
		"import":          {"api-key", "api-key-file", "dry-run", "overwrite", "url"},
		"run":             {"api-key", "api-key-file", "only", "prefix", "sdk-env", "url"},
		"history":         {"api-key", "api-key-file", "json", "url"},
		"history restore": {"api-key", "api-key-file", "url"},
		"trash":           {"api-key", "api-key-file", "json", "url"},
		"trash restore":   {"api-key", "api-key-file", "as", "url"},
		"trash rm":        {"api-key", "api-key-file", "url", "yes"},
	}
	// The client commands that parse their own arguments, without a server to go to.
	unsetenv(t, "KEYHOLD_URL", "KEYHOLD_URL_FILE")
	clients := map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
		"get": clientGet, "history": clientHistory, "history restore": clientHistoryRestore,
		"trash": clientTrash, "trash restore": clientTrashRestore, "trash rm": clientTrashRm,
	}
	for _, c := range commands() {
		if c.flags == nil {
			continue
		}
		fs := mustFlagSet(t, c)
		names, ok := want[c.name]
		if !ok {
			if got := flagsOf(fs); len(got) > 0 {
				t.Errorf("%s: help lists the flags %q from its table entry: add the command to this test", c.name, got)
			}
			continue
		}
		if got := flagsOf(fs); !slices.Equal(got, names) {
			t.Errorf("%s: help lists the flags %q, want %q", c.name, got, names)
		}
		for _, name := range flagsOf(fs) {
			var err error
			args := []string{"--" + name}
			switch c.name {
			case "get", "history", "history restore", "trash", "trash restore", "trash rm":
				err = clients[c.name](context.Background(), args, io.Discard, io.Discard)
			case "import":
				err = clientImport(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard)
			case "run":
				_, err = runWithSecrets(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard)
			}
			if err == nil || strings.Contains(err.Error(), "not defined") {
				t.Errorf("%s --%s: %v", c.name, name, err)
			}
		}
	}
}

// TestVersion_SameFromCommandAndFlag: keyhold version and keyhold --version print the same one line.
func TestVersion_SameFromCommandAndFlag(t *testing.T) {
	code, out, errOut := runLine(t, "version")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "keyhold ") || len(strings.TrimSpace(strings.TrimPrefix(out, "keyhold "))) == 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("version: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, form := range []string{"--version", "-version"} {
		if code, got, _ := runLine(t, form); code != 0 || got != out {
			t.Errorf("%s: code %d, %q; want %q", form, code, got, out)
		}
	}
	if code, _, errOut := runLine(t, "version", "extra"); code != 1 || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("version extra: code %d, stderr %q", code, errOut)
	}
}

// TestVersion_StampedElseFromTheBuild: the version stamped with -ldflags "-X main.version=…" wins;
// else the module's version, else the VCS revision (+dirty for a modified tree), else devel.
func TestVersion_StampedElseFromTheBuild(t *testing.T) {
	rev := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{nil, "devel"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: rev("true")}, "v1.2.3"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: rev("false")}, "0123456789ab"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: rev("true")}, "0123456789ab+dirty"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	} {
		if got := buildVersion(tc.bi); got != tc.want {
			t.Errorf("buildVersion(%+v) = %q, want %q", tc.bi, got, tc.want)
		}
	}
	defer func(v string) { version = v }(version)
	version = "1.4.0"
	if code, out, _ := runLine(t, "version"); code != 0 || out != "keyhold 1.4.0\n" {
		t.Errorf("stamped: code %d, %q", code, out)
	}
}

// TestCompletion_EveryCommandAndFlag: each script names every command, every group's commands and
// every flag of every command; another shell, or none, is refused.
func TestCompletion_EveryCommandAndFlag(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			code, script, errOut := runLine(t, "completion", shell)
			if code != 0 || errOut != "" || script == "" {
				t.Fatalf("code %d, stderr %q", code, errOut)
			}
			for _, c := range commands() {
				for _, word := range strings.Fields(c.name) {
					if !regexp.MustCompile(`\b` + regexp.QuoteMeta(word) + `\b`).MatchString(script) {
						t.Errorf("no %q (of %s)", word, c.name)
					}
				}
				for _, name := range flagsOf(mustFlagSet(t, c)) {
					want := "--" + name
					if shell == "fish" {
						want = "-l " + name + " "
					}
					// In the part of the script about this command.
					if !strings.Contains(commandPart(script, shell, c.name), want) {
						t.Errorf("%s: no %q", c.name, want)
					}
				}
			}
			if path, err := exec.LookPath(shell); err == nil {
				cmd := exec.Command(path, "-n")
				if shell == "fish" {
					cmd = exec.Command(path, "--no-execute")
				}
				cmd.Stdin = strings.NewReader(script)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s -n: %v\n%s", shell, err, out)
				}
			}
		})
	}
	for _, args := range [][]string{{"completion", "powershell"}, {"completion"}, {"completion", "bash", "zsh"}} {
		if code, out, errOut := runLine(t, args...); code != 1 || out != "" || !strings.Contains(errOut, "bash, zsh or fish") {
			t.Errorf("%q: code %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// commandPart is the part of a completion script about one command: its line in bash, its case in
// zsh, its complete lines in fish.
func commandPart(script, shell, name string) string {
	var b strings.Builder
	switch shell {
	case "bash":
		for line := range strings.Lines(script) {
			if strings.HasPrefix(strings.TrimSpace(line), strconv.Quote(name)+")") {
				b.WriteString(line)
			}
		}
	case "zsh":
		_, rest, _ := strings.Cut(script, "\n    '"+name+"')")
		part, _, _ := strings.Cut(rest, ";;")
		b.WriteString(part)
	case "fish":
		for line := range strings.Lines(script) {
			if strings.Contains(line, "-n '__keyhold_using "+name+"'") {
				b.WriteString(line)
			}
		}
	}
	return b.String()
}

// TestCompletion_BashCompletes: the bash script, run in bash, completes commands, a group's commands,
// a command's flags and the values it knows.
func TestCompletion_BashCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	_, script, _ := runLine(t, "completion", "bash")
	file := filepath.Join(t.TempDir(), "keyhold.bash")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{"keyhold ", "serve org user apikey backup rotate-master-key migrate get history ls run export import trash healthcheck help version completion"},
		{"keyhold us", "user"},
		{"keyhold user ", "add invite reset-password remove"},
		{"keyhold user add --org Acme --e", "--email"},
		{"keyhold --add", "--addr"},
		{"keyhold get NAME --n", "--newline"},
		{"keyhold get NAME --v", "--version"},
		{"keyhold trash ", "restore rm"},
		{"keyhold trash --j", "--json"},
		{"keyhold trash restore OLD --as", "--as"},
		{"keyhold trash rm OLD --y", "--yes"},
		{"keyhold history API_TOKEN --j", "--json"},
		{"keyhold history restore API_TOKEN 1 --", "--api-key --api-key-file --url"},
		{"keyhold completion ", "bash zsh fish"},
		{"keyhold help apik", "apikey"},
		{"keyhold serve --addr ", ""},
	} {
		line := "source " + strconv.Quote(file) + `
COMP_WORDS=(` + tc.line + `)
[[ "` + tc.line + `" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_keyhold
echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", line).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("%q: %q (%v), want %q", tc.line, got, err, tc.want)
		}
	}
}

// TestUsage_HealthcheckFindsTheServerServeStarts: healthcheck reads --addr and KEYHOLD_ADDR as serve
// does, asks a wildcard address on loopback, and exits 1 when /healthz is not 200.
func TestUsage_HealthcheckFindsTheServerServeStarts(t *testing.T) {
	status := http.StatusOK
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer ts.Close()
	addr := ts.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	t.Setenv("KEYHOLD_ADDR", "127.0.0.1:1")
	if code, _, errOut := runLine(t, "healthcheck", "--addr", addr); code != 0 {
		t.Errorf("--addr %s: code %d, %q", addr, code, errOut)
	}
	for _, env := range []string{addr, "0.0.0.0:" + port, ":" + port} {
		t.Setenv("KEYHOLD_ADDR", env)
		if code, _, errOut := runLine(t, "healthcheck"); code != 0 {
			t.Errorf("KEYHOLD_ADDR=%s: code %d, %q", env, code, errOut)
		}
	}
	status = http.StatusServiceUnavailable
	if code, _, errOut := runLine(t, "healthcheck"); code != 1 || !strings.Contains(errOut, "503") {
		t.Errorf("a 503: code %d, %q", code, errOut)
	}
}
