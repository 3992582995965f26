package main

// keyhold help, version and completion. Help and the completion scripts are made from the command
// table (commands) and each command's flag set (command.flagSet), the one run parses the command line
// with: a flag is listed because the command takes it, with the usage text it was registered with,
// whose "(env NAME)" names its environment variable. Only the variables no flag stands for are
// described here (envNotes).

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/keyhold/keyhold/db"
)

// version is keyhold's version, stamped at build time: go build -ldflags "-X main.version=1.4.0" (the
// Dockerfile's VERSION). Unstamped, versionString reads it from the binary's build information.
var version string

// versionString is keyhold's version: the stamped one, else the module's version, else the VCS
// revision it was built from ("+dirty" when the work tree had changes), else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	bi, _ := debug.ReadBuildInfo()
	return buildVersion(bi)
}

// buildVersion is the version bi records (nil: none): the main module's version, else its VCS
// revision, else "devel".
func buildVersion(bi *debug.BuildInfo) string {
	if bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return rev
}

// The client commands that parse their own arguments (get, import and run: their flags may follow
// the positional arguments, or end at the command to run) register their flags inside their functions;
// these register the same flags, for help, completion and checkFlags.
// TestHelp_ClientFlagsMatchTheirCommands checks them against those functions' source.

// getFlags, importFlags and runFlags register the flags of keyhold get, import and run for help and
// completion: the very flags the commands parse (getOptions and the like).
func getFlags(fs *flag.FlagSet)    { new(getOptions).register(fs) }
func importFlags(fs *flag.FlagSet) { new(importOptions).register(fs) }
func runFlags(fs *flag.FlagSet)    { new(runOptions).register(fs) }

// historyFlags and the like register the flags of keyhold history, history restore, trash, trash
// restore and trash rm, which take flags after their arguments too.
func historyFlags(fs *flag.FlagSet)        { new(historyOptions).register(fs) }
func historyRestoreFlags(fs *flag.FlagSet) { new(historyRestoreOptions).register(fs) }
func trashFlags(fs *flag.FlagSet)          { new(trashOptions).register(fs) }
func trashRestoreFlags(fs *flag.FlagSet)   { new(trashRestoreOptions).register(fs) }
func trashRmFlags(fs *flag.FlagSet)        { new(trashRmOptions).register(fs) }

// noFlags is the flag set of help, version and completion: none but -h.
func noFlags(*flag.FlagSet) {}

// envNote describes an environment variable that no flag stands for, or one whose flag's usage does
// not say enough about it.
type envNote struct{ name, about string }

// envNotes are the variables keyhold reads besides those its flags name.
func envNotes() []envNote {
	return []envNote{
		{"KEYHOLD_MASTER_KEY", "the master key: base64 of 32 random bytes (openssl rand -base64 32). On SQLite the default is <data>/master.key, generated on the first start; on PostgreSQL it is required, the same on every instance"},
		{"KEYHOLD_MASTER_KEY_FILE", "a file holding the master key"},
		{"KEYHOLD_API_KEY", "the API key itself, for get, ls, history, trash, run, export and import (or KEYHOLD_API_KEY_FILE, or --api-key-file)"},
		{"KEYHOLD_API_KEY_FILE", "a file holding the API key, for get, ls, history, trash, run, export and import (--api-key-file)"},
		{"KEYHOLD_READ_HEADER_TIMEOUT", "how long serve lets a client take to send its request headers (default 10s)"},
		{"KEYHOLD_CPUPROFILE", "a file serve writes a CPU profile to until it stops, for go tool pprof"},
		{"GOGC", "the Go garbage collector's target percentage (serve's default: 400)"},
		{"GOMEMLIMIT", "the Go runtime's soft memory limit (serve's default: 160MiB)"},
	}
}

// envFileNote says how secrets are given as files; it is one paragraph with its line breaks, so that
// each pair of names stays on one line.
const envFileNote = `A flag given on the command line wins over its variable. Every KEYHOLD_ variable but
KEYHOLD_CPUPROFILE may instead be given as a file holding the value, named by the variable with
_FILE added (for Docker and Kubernetes secrets): KEYHOLD_DATABASE_URL or KEYHOLD_DATABASE_URL_FILE,
KEYHOLD_MASTER_KEY or KEYHOLD_MASTER_KEY_FILE, KEYHOLD_API_KEY or KEYHOLD_API_KEY_FILE.
`

// helpWidth is the width keyhold help wraps its text to.
const helpWidth = 100

// sections are the parts of keyhold help, in order, with what they say first.
var sections = []struct{ name, title string }{
	{sectionData, "Commands on the data: SQLite in --data DIR (the default), or the PostgreSQL database of " +
		"--database URL (postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require), shared by every instance. " +
		"On PostgreSQL the master key must come from KEYHOLD_MASTER_KEY or KEYHOLD_MASTER_KEY_FILE, the same on every " +
		"instance, and backup is pg_dump's job."},
	{sectionClient, "A keyhold server's secrets, where code runs, through its API with an API key: --url and " +
		"--api-key-file, or KEYHOLD_URL and KEYHOLD_API_KEY or KEYHOLD_API_KEY_FILE."},
	{sectionOther, "Checks and help:"},
}

// helpCommand is keyhold help [COMMAND]: the usage of every command, or of one command or group.
func helpCommand(cmds []command, args []string, w io.Writer) error {
	name := strings.Join(args, " ")
	if name == "" {
		writeUsage(w, cmds)
		return nil
	}
	if c, ok := findCommand(cmds, name); ok {
		writeCommandHelp(w, c)
		return nil
	}
	if sub := groupCommands(cmds, name); len(sub) > 0 {
		writeGroupUsage(w, name, sub)
		return nil
	}
	return unknownCommand(cmds, name)
}

// writeUsage writes keyhold help: every command with its usage line, what it does and all its flags,
// then every environment variable the commands read.
func writeUsage(w io.Writer, cmds []command) {
	var b strings.Builder
	wrap(&b, "", "", "keyhold: a self-hosted secrets portal: a web portal for people, a JSON API for code, and this command line.")
	b.WriteString("\n")
	b.WriteString("Usage: keyhold COMMAND [FLAGS] [ARGUMENTS]   (serve when no command is named)\n")
	for _, s := range sections {
		var in []command
		for _, c := range cmds {
			if c.section == s.name {
				in = append(in, c)
			}
		}
		if len(in) == 0 {
			continue
		}
		b.WriteString("\n")
		wrap(&b, "", "", s.title)
		for _, c := range in {
			writeEntry(&b, c)
		}
	}
	b.WriteString("\nEnvironment:\n")
	env := environment(cmds)
	width := 0
	for _, e := range env {
		width = max(width, len(e.name))
	}
	for _, e := range env {
		wrap(&b, "  "+e.name+strings.Repeat(" ", width-len(e.name)+2), strings.Repeat(" ", width+4), e.about)
	}
	b.WriteString("\n" + envFileNote)
	b.WriteString("\nRun 'keyhold COMMAND --help' for what each flag of a command does, and its default.\n")
	io.WriteString(w, b.String())
}

// writeGroupUsage writes the help of a group of commands (keyhold user --help).
func writeGroupUsage(w io.Writer, group string, cmds []command) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: keyhold %s COMMAND [FLAGS]\n\n", group)
	for _, c := range cmds {
		writeEntry(&b, c)
	}
	fmt.Fprintf(&b, "\nRun 'keyhold %s COMMAND --help' for what each flag does.\n", group)
	io.WriteString(w, b.String())
}

// writeEntry writes one command in keyhold help: its usage line, what it does, and its flags.
func writeEntry(b *strings.Builder, c command) {
	wrap(b, "  ", "          ", usageLine(c))
	wrap(b, "      ", "      ", c.summary)
	fs, err := c.flagSet()
	if err != nil {
		wrap(b, "      ", "      ", "flags: cannot be listed: "+oneLine(err))
		return
	}
	if names := flagNames(fs); len(names) > 0 {
		wrap(b, "      flags: ", "             ", strings.Join(names, " "))
	}
}

// usageLine is a command's usage: keyhold, its name and its usual arguments.
func usageLine(c command) string {
	name := c.name
	if name == defaultCommand {
		name = "[" + name + "]"
	}
	return strings.TrimSpace("keyhold " + name + " " + c.synopsis)
}

// flagNames lists the flags of fs, as --name, in the flag package's order.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	return names
}

// writeCommandHelp writes keyhold COMMAND --help: the usage line, what the command does, each flag
// with its value, usage and default (as flag.PrintDefaults does), and the environment variables the
// command reads besides those its flags name.
func writeCommandHelp(w io.Writer, c command) {
	var b strings.Builder
	wrap(&b, "Usage: ", "           ", usageLine(c))
	b.WriteString("\n")
	summary := c.summary
	wrap(&b, "", "", strings.ToUpper(summary[:1])+summary[1:]+".")
	fs, err := c.flagSet()
	switch {
	case err != nil:
		wrap(&b, "\n", "", "Its flags cannot be listed: "+oneLine(err))
	case len(flagNames(fs)) > 0:
		b.WriteString("\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			value, usage := flag.UnquoteUsage(f)
			b.WriteString("  --" + f.Name)
			if value != "" {
				b.WriteString(" " + value)
			}
			b.WriteString("\n")
			wrap(&b, "        ", "        ", usage+flagDefault(f))
		})
	}
	notes := envNotes()
	var env []envNote
	for _, name := range c.env {
		if i := slices.IndexFunc(notes, func(n envNote) bool { return n.name == name }); i >= 0 {
			env = append(env, notes[i])
		}
	}
	if len(env) > 0 {
		b.WriteString("\nEnvironment, besides the variables of the flags:\n")
		for _, e := range env {
			b.WriteString("  " + e.name + "\n")
			wrap(&b, "        ", "        ", e.about)
		}
	}
	if len(env) > 0 || strings.Contains(b.String(), "(env KEYHOLD_") {
		b.WriteString("\n" + envFileNote)
	}
	if sub := groupCommands(commands(), c.name); len(sub) > 0 {
		// A command that is a group too (keyhold trash, keyhold trash restore).
		b.WriteString("\nCommands:\n")
		for _, s := range sub {
			wrap(&b, "  ", "          ", usageLine(s))
			wrap(&b, "      ", "      ", s.summary)
		}
	}
	io.WriteString(w, b.String())
}

// flagDefault is " (default …)" for a flag whose default is not its type's zero value, as
// flag.PrintDefaults writes it. A default from the environment may be a database URL: its password
// is never shown.
func flagDefault(f *flag.Flag) string {
	def := f.DefValue
	switch def {
	case "", "false", "0", "0s", "[]":
		return ""
	}
	if strings.Contains(def, "://") {
		def = db.RedactURL(def)
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, ok := g.Get().(string); ok {
			return fmt.Sprintf(" (default %q)", def)
		}
	}
	return " (default " + def + ")"
}

// envInUsage and envName find the variables a flag's usage names: "(env KEYHOLD_ADDR)", "(env
// KEYHOLD_API_KEY_FILE, or KEYHOLD_API_KEY)".
var (
	envInUsage = regexp.MustCompile(`\(env ([^)]*)\)`)
	envName    = regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b`)
)

// environment lists every variable the commands read, by name: envNotes', and those their flags name
// in their usage, with the flags. A flag whose name stands for different variables in different
// commands (--url) is listed with its commands.
func environment(cmds []command) []envNote {
	type use struct{ env, flag, cmd string }
	var uses []use
	for _, c := range cmds {
		fs, err := c.flagSet()
		if err != nil {
			continue
		}
		fs.VisitAll(func(f *flag.Flag) {
			for _, m := range envInUsage.FindAllStringSubmatch(f.Usage, -1) {
				for _, name := range envName.FindAllString(m[1], -1) {
					uses = append(uses, use{name, f.Name, c.name})
				}
			}
		})
	}
	ambiguous := func(flagName string) bool {
		i := slices.IndexFunc(uses, func(u use) bool { return u.flag == flagName })
		return slices.ContainsFunc(uses, func(u use) bool { return u.flag == flagName && u.env != uses[i].env })
	}
	var names []string
	flags := map[string][]string{}     // by variable: its flags, in order
	cmdsOf := map[[2]string][]string{} // by variable and flag: the commands, when the flag is ambiguous
	for _, u := range uses {
		if !slices.Contains(names, u.env) {
			names = append(names, u.env)
		}
		if !slices.Contains(flags[u.env], u.flag) {
			flags[u.env] = append(flags[u.env], u.flag)
		}
		if k := [2]string{u.env, u.flag}; ambiguous(u.flag) && !slices.Contains(cmdsOf[k], u.cmd) {
			cmdsOf[k] = append(cmdsOf[k], u.cmd)
		}
	}
	notes := envNotes()
	env := slices.Clone(notes)
	for _, name := range names {
		if slices.ContainsFunc(notes, func(n envNote) bool { return n.name == name }) {
			continue
		}
		var about []string
		for _, f := range flags[name] {
			s := "--" + f
			if c := cmdsOf[[2]string{name, f}]; len(c) > 0 {
				s += " (" + strings.Join(c, ", ") + ")"
			}
			about = append(about, s)
		}
		env = append(env, envNote{name, strings.Join(about, ", ")})
	}
	slices.SortFunc(env, func(a, b envNote) int { return strings.Compare(a.name, b.name) })
	return env
}

// wrap writes text in lines of at most helpWidth columns: the first starting with first, the others
// with indent.
func wrap(b *strings.Builder, first, indent, text string) {
	line := first
	empty := true
	for word := range strings.FieldsSeq(text) {
		if !empty && len(line)+1+len(word) > helpWidth {
			b.WriteString(line + "\n")
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	b.WriteString(line + "\n")
}

// completionCommand is keyhold completion SHELL: a script that completes keyhold's commands and each
// command's flags in bash, zsh or fish.
func completionCommand(cmds []command, args []string, w io.Writer) error {
	if len(args) != 1 {
		return usageError{"completion needs a shell: keyhold completion bash, zsh or fish"}
	}
	spec := completionSpec(cmds)
	var script string
	switch args[0] {
	case "bash":
		script = bashCompletion(spec)
	case "zsh":
		script = zshCompletion(spec)
	case "fish":
		script = fishCompletion(spec)
	default:
		return usageError{fmt.Sprintf("no completion for %q: keyhold completion bash, zsh or fish", args[0])}
	}
	_, err := io.WriteString(w, script)
	return err
}

// compSpec is what the completion scripts know of keyhold's commands.
type compSpec struct {
	top      []compWord            // the first word: a command, or a group (user)
	groups   map[string][]compWord // a group's commands, by group
	commands []compCommand
}

type compWord struct{ word, about string }

type compCommand struct {
	name  string // "user add"
	flags []compFlag
	args  argKind
}

// compFlag is a flag: its name, its usage, and what its value is ("" for a boolean flag; "directory"
// and "file" complete paths).
type compFlag struct{ name, usage, value string }

func completionSpec(cmds []command) compSpec {
	spec := compSpec{groups: map[string][]compWord{}}
	for _, c := range cmds {
		cc := compCommand{name: c.name, args: c.args}
		if fs, err := c.flagSet(); err == nil {
			fs.VisitAll(func(f *flag.Flag) {
				value, usage := flag.UnquoteUsage(f)
				cc.flags = append(cc.flags, compFlag{name: f.Name, usage: usage, value: value})
			})
		}
		spec.commands = append(spec.commands, cc)
		group, sub, ok := strings.Cut(c.name, " ")
		if !ok {
			spec.top = append(spec.top, compWord{c.name, c.summary})
			continue
		}
		if _, seen := spec.groups[group]; !seen && !slices.ContainsFunc(spec.top, func(t compWord) bool { return t.word == group }) {
			spec.top = append(spec.top, compWord{group, ""})
		}
		spec.groups[group] = append(spec.groups[group], compWord{sub, c.summary})
	}
	for i, t := range spec.top {
		if sub, ok := spec.groups[t.word]; ok {
			var words []string
			for _, s := range sub {
				words = append(words, s.word)
			}
			if t.about == "" {
				spec.top[i].about = t.word + " commands: " + strings.Join(words, ", ")
			} else { // a command that is a group too (trash, and trash restore)
				spec.top[i].about = t.about + "; also " + t.word + " " + strings.Join(words, ", ")
			}
		}
	}
	return spec
}

// groupNames are the spec's groups, in the order of the command table.
func (s compSpec) groupNames() []string {
	var names []string
	for _, t := range s.top {
		if _, ok := s.groups[t.word]; ok {
			names = append(names, t.word)
		}
	}
	return names
}

// groupCommandNames are the full names of the groups' commands (user add, trash rm), in the order
// of the command table: the scripts take the second word as the command's only for these.
func (s compSpec) groupCommandNames() []string {
	var names []string
	for _, c := range s.commands {
		if strings.Contains(c.name, " ") {
			names = append(names, c.name)
		}
	}
	return names
}

func words(ws []compWord) string {
	var s []string
	for _, w := range ws {
		s = append(s, w.word)
	}
	return strings.Join(s, " ")
}

// valueFlags lists the names of the flags that take a value and whose value is kind ("": any).
func (c compCommand) valueFlags(kind string) string {
	var s []string
	for _, f := range c.flags {
		if f.value != "" && (kind == "" || f.value == kind) {
			s = append(s, f.name)
		}
	}
	return strings.Join(s, " ")
}

var shells = []string{"bash", "zsh", "fish"}

func bashCompletion(spec compSpec) string {
	var b strings.Builder
	b.WriteString(`# bash completion for keyhold, made by "keyhold completion bash" from keyhold's command table.
# Load it from ~/.bashrc with: source <(keyhold completion bash)

_keyhold_files() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$1"); }
_keyhold_dirs() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$1"); }

_keyhold() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmd="" first=1 i
    if ((COMP_CWORD > 1)) && [[ ${COMP_WORDS[1]} != -* ]]; then
        cmd=${COMP_WORDS[1]} first=2
        if ((COMP_CWORD > 2)); then
            case "$cmd ${COMP_WORDS[2]}" in
`)
	var quoted []string
	for _, n := range spec.groupCommandNames() {
		quoted = append(quoted, strconv.Quote(n))
	}
	fmt.Fprintf(&b, "            %s) cmd=\"$cmd ${COMP_WORDS[2]}\" first=3 ;;\n", strings.Join(quoted, "|"))
	b.WriteString(`            esac
        fi
    fi
    if ((COMP_CWORD == 1)) && [[ $cur != -* ]]; then
`)
	fmt.Fprintf(&b, "        mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n", words(spec.top))
	b.WriteString(`        return
    fi
    if ((COMP_CWORD == 2)) && [[ $cur != -* ]]; then
        case $cmd in
`)
	for _, g := range spec.groupNames() {
		fmt.Fprintf(&b, "        %s) mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\"); return ;;\n", g, words(spec.groups[g]))
	}
	b.WriteString(`        esac
    fi
    [[ -n $cmd ]] || cmd=serve
    local flags="" values="" dirs="" files="" args=""
    case $cmd in
`)
	for _, c := range spec.commands {
		var flags []string
		for _, f := range c.flags {
			flags = append(flags, "--"+f.name)
		}
		fmt.Fprintf(&b, "    %q) flags=%q values=%q dirs=%q files=%q args=%s ;;\n", c.name, strings.Join(flags, " "),
			c.valueFlags(""), c.valueFlags("directory"), c.valueFlags("file"), argWord(c.args))
	}
	b.WriteString(`    esac
    for ((i = first; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            if [[ $args == command ]]; then
                if declare -F _command_offset >/dev/null; then
                    _command_offset $((i + 1))
                elif ((i + 1 == COMP_CWORD)); then
                    mapfile -t COMPREPLY < <(compgen -c -- "$cur")
                else
                    _keyhold_files "$cur"
                fi
            fi
            return
        fi
    done
    local name=${prev#-}
    name=${name#-}
    if [[ $prev == -* && " $values " == *" $name "* ]]; then
        if [[ " $dirs " == *" $name "* ]]; then
            _keyhold_dirs "$cur"
        elif [[ " $files " == *" $name "* ]]; then
            _keyhold_files "$cur"
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
        return
    fi
    case $args in
    file) _keyhold_files "$cur" ;;
`)
	fmt.Fprintf(&b, "    name) mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\") ;;\n", words(spec.top))
	fmt.Fprintf(&b, "    shell) mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\") ;;\n", strings.Join(shells, " "))
	b.WriteString(`    esac
}

complete -F _keyhold keyhold
`)
	return b.String()
}

// argWord names an argKind in the completion scripts.
func argWord(k argKind) string {
	switch k {
	case argFile:
		return "file"
	case argCommand:
		return "command"
	case argName:
		return "name"
	case argShell:
		return "shell"
	case argSecret:
		return "secret"
	}
	return "none"
}

// zshQuote quotes s for zsh in single quotes.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// zshDescribe escapes a description for _arguments' [...] and _describe's name:description.
func zshDescribe(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `:`, `\:`).Replace(s)
}

func zshCompletion(spec compSpec) string {
	var b strings.Builder
	b.WriteString(`#compdef keyhold
# zsh completion for keyhold, made by "keyhold completion zsh" from keyhold's command table.
# Save it as _keyhold in a directory on $fpath, or load it from ~/.zshrc, after compinit, with:
#   source <(keyhold completion zsh)

_keyhold() {
  local cmd="" n=1
  local -a cmds
  if (( CURRENT > 2 )) && [[ $words[2] != -* ]]; then
    cmd=$words[2] n=2
`)
	var escaped []string
	for _, n := range spec.groupCommandNames() {
		escaped = append(escaped, strings.ReplaceAll(n, " ", `\ `))
	}
	fmt.Fprintf(&b, "    if (( CURRENT > 3 )) && [[ \"$cmd $words[3]\" == (%s) ]]; then\n", strings.Join(escaped, "|"))
	b.WriteString(`      cmd="$cmd $words[3]" n=3
    fi
  fi
  if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
    cmds=(
`)
	for _, t := range spec.top {
		fmt.Fprintf(&b, "      %s\n", zshQuote(t.word+":"+zshDescribe(t.about)))
	}
	b.WriteString(`    )
    _describe -t commands 'keyhold command' cmds
    return
  fi
  if (( CURRENT == 3 )) && [[ $PREFIX != -* ]]; then
    case $cmd in
`)
	for _, g := range spec.groupNames() {
		fmt.Fprintf(&b, "      %s) cmds=(", g)
		for i, s := range spec.groups[g] {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(zshQuote(s.word + ":" + zshDescribe(s.about)))
		}
		b.WriteString(") ;;\n")
	}
	b.WriteString(`    esac
    if (( $#cmds )); then
      _describe -t commands "keyhold $cmd command" cmds
      return
    fi
  fi
  [[ -n $cmd ]] || cmd=serve
  if (( n > 1 )); then
    shift $(( n - 1 )) words
    (( CURRENT -= n - 1 ))
  fi
  case $cmd in
`)
	for _, c := range spec.commands {
		var specs []string
		for _, f := range c.flags {
			switch f.value {
			case "":
				specs = append(specs, zshQuote("--"+f.name+"["+zshDescribe(f.usage)+"]"))
			default:
				action := " "
				switch f.value {
				case "directory":
					action = "_files -/"
				case "file":
					action = "_files"
				}
				specs = append(specs, zshQuote("--"+f.name+"=["+zshDescribe(f.usage)+"]:"+zshDescribe(f.value)+":"+action))
			}
		}
		switch c.args {
		case argFile:
			specs = append(specs, "'1:file:_files'")
		case argCommand:
			specs = append(specs, "'(-)1:command:_command_names -e'", "'*::argument:_normal'")
		case argName:
			specs = append(specs, zshQuote("*:command:("+words(spec.top)+")"))
		case argShell:
			specs = append(specs, zshQuote("1:shell:("+strings.Join(shells, " ")+")"))
		case argSecret:
			specs = append(specs, "'1:secret name: '")
		}
		fmt.Fprintf(&b, "    %s)", zshQuote(c.name))
		if len(specs) > 0 {
			b.WriteString("\n      _arguments -S \\\n        " + strings.Join(specs, " \\\n        ") + "\n      ")
		} else {
			b.WriteString(" ")
		}
		b.WriteString(";;\n")
	}
	b.WriteString(`  esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _keyhold "$@"
else
  compdef _keyhold keyhold
fi
`)
	return b.String()
}

// fishQuote quotes s for fish in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func fishCompletion(spec compSpec) string {
	var b strings.Builder
	b.WriteString(`# fish completion for keyhold, made by "keyhold completion fish" from keyhold's command table.
# Save it as ~/.config/fish/completions/keyhold.fish, or load it with: keyhold completion fish | source

# __keyhold_command prints the command being completed: its name (user add), or serve when none is named.
function __keyhold_command
    set -l words (commandline -opc)
    set -e words[1]
    if set -q words[1]; and not string match -q -- '-*' $words[1]
`)
	var names []string
	for _, n := range spec.groupCommandNames() {
		names = append(names, fishQuote(n))
	}
	fmt.Fprintf(&b, "        if set -q words[2]; and contains -- \"$words[1] $words[2]\" %s\n", strings.Join(names, " "))
	b.WriteString(`            echo "$words[1] $words[2]"
        else
            echo $words[1]
        end
    else
        echo serve
    end
end

function __keyhold_using
    set -l cmd (__keyhold_command)
    test "$cmd" = "$argv"
end

function __keyhold_needs_command
    test (count (commandline -opc)) -eq 1
end

function __keyhold_in_group
    set -l words (commandline -opc)
    test (count $words) -eq 2; and test "$words[2]" = "$argv"
end

complete -c keyhold -f
`)
	for _, t := range spec.top {
		fmt.Fprintf(&b, "complete -c keyhold -n __keyhold_needs_command -a %s -d %s\n", t.word, fishQuote(t.about))
	}
	for _, g := range spec.groupNames() {
		for _, s := range spec.groups[g] {
			fmt.Fprintf(&b, "complete -c keyhold -n %s -a %s -d %s\n", fishQuote("__keyhold_in_group "+g), s.word, fishQuote(s.about))
		}
	}
	for _, c := range spec.commands {
		using := fishQuote("__keyhold_using " + c.name)
		for _, f := range c.flags {
			var value string
			switch f.value {
			case "":
			case "directory":
				value = " -x -a '(__fish_complete_directories)'"
			case "file":
				value = " -r -F"
			default:
				value = " -x"
			}
			fmt.Fprintf(&b, "complete -c keyhold -n %s -l %s%s -d %s\n", using, f.name, value, fishQuote(f.usage))
		}
		switch c.args {
		case argFile:
			fmt.Fprintf(&b, "complete -c keyhold -n %s -F\n", using)
		case argCommand:
			fmt.Fprintf(&b, "complete -c keyhold -n %s -a '(__fish_complete_command)'\n", using)
		case argName:
			fmt.Fprintf(&b, "complete -c keyhold -n %s -a %s\n", using, fishQuote(words(spec.top)))
		case argShell:
			fmt.Fprintf(&b, "complete -c keyhold -n %s -a %s\n", using, fishQuote(strings.Join(shells, " ")))
		}
	}
	return b.String()
}
