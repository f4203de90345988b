package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/opentoken/opentoken/internal/suggest"
)

// env is what a command runs with: the environment and the standard
// streams. ready, when set, is told the emulators' URLs once they listen.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	ready          func(urls []string)
}

// action runs a command once its flags are parsed, with its operands.
type action func(ctx context.Context, e *env, operands []string) error

// command is one subcommand: its name as typed, its synopsis, and the
// flags it declares. Each command parses only its own flags, so a flag of
// another one is an error rather than ignored.
type command struct {
	name     string // "keys create"
	synopsis string // what follows the name in the usage line
	summary  string
	// operands is how many operands it takes.
	operands int
	// define declares the command's flags on fs and returns its action.
	define func(fs *flag.FlagSet) action
}

// commands lists every command, in the help's order. Their definitions
// are beside what they do: serve.go, admin.go.
var commands []*command

func init() {
	commands = []*command{
		{name: "serve", synopsis: "[--config FILE]", summary: "serve the gateway (the default command)", define: defineServe},
		{name: "check-config", synopsis: "[--config FILE]", summary: "check a configuration as serving would, then exit", define: defineCheckConfig},
		{name: "emulate", synopsis: "[--anthropic ADDR] [--gemini ADDR] [--key KEY] [--vertex ADDR --vertex-credentials FILE]", summary: "serve the strict upstream emulators alone", define: defineEmulate},
		{name: "workspaces create", synopsis: "NAME [--config FILE]", summary: "create a workspace", operands: 1, define: defineWorkspacesCreate},
		{name: "workspaces list", synopsis: "[--config FILE]", summary: "list the workspaces with their credit and keys", define: defineWorkspacesList},
		{name: "keys create", synopsis: "--workspace W --name N [--expires RFC3339|30d] [--limit-usd X --limit-reset daily|weekly|monthly] [--rpm N] [--tpm N] [--max-concurrent N] [--config FILE]",
			summary: "issue a key; its secret is printed once", define: defineKeysCreate},
		{name: "keys update", synopsis: "ID-OR-PREFIX [--expires RFC3339|30d|never] [--limit-usd X --limit-reset W | --limit-usd none] [--rpm N] [--tpm N] [--max-concurrent N] [--config FILE]",
			summary: "change a key's expiry, spend limit or rate limits", operands: 1, define: defineKeysUpdate},
		{name: "keys list", synopsis: "[--workspace W] [--config FILE]", summary: "list the issued keys", define: defineKeysList},
		{name: "keys revoke", synopsis: "ID-OR-PREFIX [--config FILE]", summary: "revoke a key", operands: 1, define: defineKeysRevoke},
		{name: "credits add", synopsis: "--workspace W --usd X [--config FILE]", summary: "add credit to a workspace", define: defineCreditsAdd},
		{name: "credits show", synopsis: "--workspace W [--config FILE]", summary: "show a workspace's credit", define: defineCreditsShow},
		{name: "usage", synopsis: "[--workspace W] [--key K] [--since YYYY-MM-DD] [--json] [--config FILE]", summary: "report usage by day, key and model", define: defineUsage},
		{name: "requests", synopsis: "[--key ID] [--model M] [--status N] [--before ID] [--limit N] [--config FILE]", summary: "list recent billed requests, newest first", define: defineRequests},
		{name: "admin-token create", synopsis: "--name N [--workspace W] [--config FILE]", summary: "issue a web console sign-in token; it is printed once", define: defineAdminTokenCreate},
		{name: "admin-token list", synopsis: "[--config FILE]", summary: "list the console's admin tokens", define: defineAdminTokenList},
		{name: "admin-token revoke", synopsis: "ID [--config FILE]", summary: "revoke an admin token, ending its sessions", operands: 1, define: defineAdminTokenRevoke},
		{name: "version", summary: "print the version and the revision it was built from", define: defineVersion},
		{name: "help", synopsis: "[COMMAND]", summary: "print this help, or a command's"},
	}
}

// usageError is a command line that is wrong: its usage follows it.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

// cli runs the command line args and returns the process's exit code: 0,
// 1 when the command failed, 2 when the command line is wrong.
func cli(ctx context.Context, args []string, e *env) int {
	err := dispatch(ctx, args, e)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "opentoken: %s\n\n%s\n", ue.msg, ue.usage)
		return 2
	}
	fmt.Fprintf(e.stderr, "opentoken: %s\n", err)
	return 1
}

// dispatch finds the command args name and runs it. Nothing is opened
// before the whole command line is known to be right.
func dispatch(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || (strings.HasPrefix(args[0], "-") && !isHelp(args[0]) && args[0] != "--version") {
		return runCommand(ctx, find("serve"), args, e)
	}
	switch {
	case isHelp(args[0]):
		_, err := io.WriteString(e.stdout, overview())
		return err
	case args[0] == "--version":
		return runCommand(ctx, find("version"), args[1:], e)
	case args[0] == "help":
		return help(args[1:], e.stdout)
	}
	c, rest, err := lookup(args)
	if err != nil {
		return err
	}
	return runCommand(ctx, c, rest, e)
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// lookup finds the command the first words of args name, and returns the
// rest. A group (keys) needs one of its subcommands (keys list).
func lookup(args []string) (*command, []string, error) {
	if c := find(args[0]); c != nil {
		return c, args[1:], nil
	}
	sub := subcommands(args[0])
	if len(sub) == 0 {
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := suggest.Closest(args[0], words()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, nil, &usageError{msg: msg, usage: overview()}
	}
	group := args[0]
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		if len(args) >= 2 && isHelp(args[1]) {
			return find("help"), []string{group}, nil
		}
		return nil, nil, &usageError{msg: fmt.Sprintf("%s needs a subcommand: %s", group, strings.Join(sub, ", ")), usage: groupUsage(group)}
	}
	if c := find(group + " " + args[1]); c != nil {
		return c, args[2:], nil
	}
	msg := fmt.Sprintf("unknown command %q; %s has %s", group+" "+args[1], group, strings.Join(sub, ", "))
	if s := suggest.Closest(args[1], sub); s != "" {
		msg = fmt.Sprintf("unknown command %q; did you mean %q?", group+" "+args[1], group+" "+s)
	}
	return nil, nil, &usageError{msg: msg, usage: groupUsage(group)}
}

// find returns the command named name, nil when none is.
func find(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// subcommands lists the subcommands of a group, none when it is not one.
func subcommands(group string) []string {
	var sub []string
	for _, c := range commands {
		if g, s, ok := strings.Cut(c.name, " "); ok && g == group {
			sub = append(sub, s)
		}
	}
	return sub
}

// words lists what a command line may start with.
func words() []string {
	var w []string
	for _, c := range commands {
		first, _, _ := strings.Cut(c.name, " ")
		if !slices.Contains(w, first) {
			w = append(w, first)
		}
	}
	return w
}

// runCommand parses c's flags from args, wherever they stand among its
// operands, checks the operands' count and runs it.
func runCommand(ctx context.Context, c *command, args []string, e *env) error {
	if c.define == nil { // help
		return help(args, e.stdout)
	}
	fs := flag.NewFlagSet("opentoken "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := c.define(fs)
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				_, err := io.WriteString(e.stdout, commandHelp(c))
				return err
			}
			return &usageError{msg: flagError(c, fs, err), usage: commandHelp(c)}
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		operands, args = append(operands, args[0]), args[1:]
	}
	if len(operands) != c.operands {
		msg := fmt.Sprintf("%s takes no operands, got %q", c.name, strings.Join(operands, " "))
		if c.operands > 0 {
			msg = fmt.Sprintf("%s takes %s", c.name, strings.Fields(c.synopsis)[0])
		}
		return &usageError{msg: msg, usage: commandHelp(c)}
	}
	if err := run(ctx, e, operands); err != nil {
		var ue *usageError
		if errors.As(err, &ue) && ue.usage == "" {
			ue.usage = commandHelp(c)
		}
		return err
	}
	return nil
}

// flagError says what is wrong with a flag in the operator's words.
func flagError(c *command, fs *flag.FlagSet, err error) string {
	name, undefined := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !undefined {
		return strings.Replace(err.Error(), " -", " --", 1)
	}
	msg := fmt.Sprintf("%s has no flag --%s", c.name, name)
	var flags []string
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
	if s := suggest.Closest(name, flags); s != "" {
		msg += fmt.Sprintf("; did you mean --%s?", s)
	}
	return msg
}

// help prints the overview, or the help of the command args name.
func help(args []string, out io.Writer) error {
	if len(args) == 0 {
		_, err := io.WriteString(out, overview())
		return err
	}
	name := strings.Join(args, " ")
	if c := find(name); c != nil {
		_, err := io.WriteString(out, commandHelp(c))
		return err
	}
	if len(args) == 1 && len(subcommands(args[0])) > 0 {
		_, err := io.WriteString(out, groupUsage(args[0]))
		return err
	}
	c, _, err := lookup(args)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, commandHelp(c))
	return err
}

// overview is the help of the whole command line.
func overview() string {
	var b strings.Builder
	b.WriteString("OpenToken: an OpenAI-compatible gateway to Anthropic and Google models.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  opentoken %s %s\n        %s\n", c.name, c.synopsis, c.summary)
	}
	b.WriteString("\nWith no command, opentoken serves. Settings come from the environment and --config FILE,\n" +
		"a TOML file whose keys are the environment variables' names (see the README).\n" +
		"Run 'opentoken help COMMAND' for a command's flags.\n")
	return b.String()
}

// groupUsage lists a group's subcommands.
func groupUsage(group string) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(&b, "  opentoken %s %s\n        %s\n", c.name, c.synopsis, c.summary)
		}
	}
	return b.String()
}

// commandHelp is a command's usage line, summary and flags.
func commandHelp(c *command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: opentoken %s %s\n\n%s.\n", c.name, c.synopsis, strings.ToUpper(c.summary[:1])+c.summary[1:])
	if c.define == nil {
		return b.String()
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.define(fs)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			b.WriteString("\nFlags:\n")
			first = false
		}
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s %s\n        %s", f.Name, arg, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	return b.String()
}
