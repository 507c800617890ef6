package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// The command line is one tree of commands (commandTree). The dispatcher,
// `rotor help`, `rotor COMMAND --help` and the completion scripts all read
// that tree, so a command cannot exist without its help line and its
// completion, nor the other way round.

// command is one node of the tree: a group of subcommands, or a leaf that
// runs.
type command struct {
	name    string
	args    string // a leaf's positional arguments as usage shows them: "<name> <file>", "<file>...", "[<command>...]"
	summary string // one line for the command lists
	subs    []*command
	kind    commandKind
	// setup registers a leaf's own flags on fs and returns the action that
	// runs with them; it only registers, so help and completion call it to
	// learn the flags. Nil for a group.
	setup func(fs *flag.FlagSet, x *cmdline) action
}

// action runs a leaf with its positional arguments. flagArgs are the flag
// arguments, still unparsed, of a kindConfig command (which parses them
// with the server's configuration); other kinds get them parsed already.
type action func(ctx context.Context, pos, flagArgs []string) error

// commandKind says which flags a leaf takes besides its own.
type commandKind int

const (
	kindLocal  commandKind = iota // none: works on local files or prints
	kindClient                    // the client flags (--endpoint, --region, --profile, --output): it calls a running server
	kindConfig                    // the server's configuration flags (docs/config.md): it works on a stopped server's data directory
)

// cmdline is one invocation of the command line.
type cmdline struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	loc            *time.Location // where dates are shown: $TZ, else the system's zone

	// The client flags.
	endpoint, region, profile string
	output                    string // outputTable or outputJSON
	api                       *apiClient
}

// The values of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// commandTree is the root of the command line.
var commandTree *command

func init() {
	// Assigned here, not in the declaration: the help command's action
	// reads commandTree, which Go's initialization order would otherwise
	// refuse as a cycle.
	commandTree = &command{name: "rotor", subs: []*command{
		{name: "server", summary: "run the server (configuration: rotor server --help, docs/config.md)", kind: kindConfig, setup: setupServer},
		{name: "secret", summary: "read and write secrets without the AWS CLI", subs: []*command{
			{name: "ls", summary: "list secrets: name, last changed, rotation on/off, next rotation [--filter KEY=VALUE]", kind: kindClient, setup: setupSecretList},
			{name: "get", args: "<secret-id>", summary: "print a secret's value exactly as stored [--version-stage S | --version-id ID]", kind: kindClient, setup: setupSecretGet},
			{name: "put", args: "<name>", summary: "store a value, creating the secret if needed (--value V | --value-file F | --value-stdin)", kind: kindClient, setup: setupSecretPut},
			{name: "rotate", args: "<secret-id>", summary: "start a rotation now and print the new version id", kind: kindClient, setup: setupSecretRotate},
			{name: "history", args: "<secret-id>", summary: "a secret's versions and its rotation runs with every step [--limit N]", kind: kindClient, setup: setupSecretHistory},
		}},
		{name: "backup", args: "<file>", summary: "download a snapshot of the server's database to <file> here [--force]; --on-server: into its backup_dir", kind: kindClient, setup: setupBackup},
		{name: "restore", args: "<file>", summary: "install a backup in a stopped server's data directory, if the keyring opens it [--force]", kind: kindConfig, setup: setupRestore},
		{name: "identity", summary: "manage identities (IAM users) and their policies", subs: []*command{
			{name: "create", args: "<name>", summary: "create an identity [--role admin|read-only]; without a role: no rights until a policy", kind: kindClient, setup: setupIdentityCreate},
			{name: "list", summary: "identities with their roles and access keys", kind: kindClient, setup: setupIdentityList},
			{name: "delete", args: "<name>", summary: "delete an identity and its access keys", kind: kindClient, setup: setupIdentityDelete},
			{name: "policy", summary: "an identity's inline IAM policy", subs: []*command{
				{name: "put", args: "<name> <file>", summary: "set the identity's inline IAM policy (JSON, <= 6,144 chars; - = stdin)", kind: kindClient, setup: setupPolicyPut},
				{name: "get", args: "<name>", summary: "print the identity's inline policy exactly as put", kind: kindClient, setup: setupPolicyGet},
				{name: "delete", args: "<name>", summary: "remove the identity's inline policy", kind: kindClient, setup: setupPolicyDelete},
			}},
		}},
		{name: "access-key", summary: "manage access keys", subs: []*command{
			{name: "create", args: "<identity>", summary: "create an access key: shown once, or written to a profile [--write-profile P]", kind: kindClient, setup: setupAccessKeyCreate},
			{name: "activate", args: "<access-key-id>", summary: "let an access key sign requests again", kind: kindClient, setup: setupAccessKeyStatus("Active")},
			{name: "deactivate", args: "<access-key-id>", summary: "stop an access key from signing requests", kind: kindClient, setup: setupAccessKeyStatus("Inactive")},
			{name: "delete", args: "<access-key-id>", summary: "delete an access key", kind: kindClient, setup: setupAccessKeyDelete},
		}},
		{name: "keys", summary: "key-encryption keys", subs: []*command{
			{name: "list", summary: "key-encryption keys and how many data keys each wraps", kind: kindClient, setup: setupKeysList},
			{name: "add", args: "<key-file>", summary: "offline: stage a new, inactive key in a key file, to give every server sharing a database before 'keys rotate'", setup: setupKeysAdd},
			{name: "rotate", summary: "make a new key-encryption key active (the staged one, if any) and re-wrap every data key under it", kind: kindClient, setup: setupKeysRotate},
			{name: "retire", args: "<key-id>", summary: "remove a key-encryption key that wraps nothing (older backups need it: keep a copy)", kind: kindClient, setup: setupKeysRetire},
		}},
		{name: "rotation", summary: "rotation runs", subs: []*command{
			{name: "list", summary: "rotation runs, newest first [--failed] [--status S] [--limit N]", kind: kindClient, setup: setupRotationList},
			{name: "history", args: "<secret-id>", summary: "a secret's rotation runs with every step [--limit N]", kind: kindClient, setup: setupRotationHistory},
			{name: "abandon", args: "<secret-id>", summary: "stop a rotation and remove its stray AWSPENDING label", kind: kindClient, setup: setupRotationAbandon},
		}},
		{name: "recover-admin", summary: "on a STOPPED server's data directory: a new admin access key, written to a file", kind: kindConfig, setup: setupRecoverAdmin},
		{name: "migrate", summary: "copy a STOPPED SQLite server's data into an empty PostgreSQL database, then verify it (--from DIR --to URL)", setup: setupMigrate},
		{name: "audit", summary: "the audit log", subs: []*command{
			{name: "verify", args: "<file>...", summary: "check the audit log's hash chain, oldest file first: audit.log.* audit.log", setup: setupAuditVerify},
		}},
		{name: "completion", summary: "print a shell completion script", subs: []*command{
			{name: "bash", summary: "bash completion: source <(rotor completion bash)", setup: setupCompletion("bash")},
			{name: "zsh", summary: "zsh completion: source <(rotor completion zsh), after compinit", setup: setupCompletion("zsh")},
		}},
		{name: "version", summary: "print the version of this build", setup: setupVersion},
		{name: "help", args: "[<command>...]", summary: "list the commands, or describe one", setup: setupHelp},
	}}
}

// sub returns the subcommand of c called name, or nil.
func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// subNames lists c's subcommands, comma-separated.
func (c *command) subNames() string {
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// arity returns how many positional arguments c.args allows: a word in
// brackets is optional, a word ending in "..." repeats (max -1 = no limit).
func (c *command) arity() (minArgs, maxArgs int) {
	for _, w := range strings.Fields(c.args) {
		optional := strings.HasPrefix(w, "[")
		if !optional {
			minArgs++
		}
		if strings.HasSuffix(strings.TrimSuffix(w, "]"), "...") {
			return minArgs, -1
		}
		maxArgs++
	}
	return minArgs, maxArgs
}

// flagSet returns a leaf's complete flag set (its own flags and those of
// its kind) and its action. The flag set prints nothing by itself.
func (c *command) flagSet(path string, x *cmdline) (*flag.FlagSet, action) {
	fs := newFlagSet(path)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	act := c.setup(fs, x)
	switch c.kind {
	case kindClient:
		x.clientFlags(fs)
	case kindConfig:
		configFlags(fs)
	}
	return fs, act
}

// clientFlags registers the flags every client command takes.
func (x *cmdline) clientFlags(fs *flag.FlagSet) {
	fs.StringVar(&x.endpoint, "endpoint", "", "the server's URL (default $ROTOR_ENDPOINT, $AWS_ENDPOINT_URL_SECRETS_MANAGER, $AWS_ENDPOINT_URL, else http://"+DefaultListen+")")
	fs.StringVar(&x.region, "region", "", "region to sign for (default from the AWS configuration, else us-east-1)")
	fs.StringVar(&x.profile, "profile", "", "AWS shared-config profile whose credentials sign the requests (default $AWS_PROFILE, else default)")
	fs.StringVar(&x.output, "output", outputTable, "table (for people: tables, local times) or json (the server's answer, for scripts)")
	fs.StringVar(&x.output, "o", outputTable, "short for --output")
}

// configFlags registers on fs the flags that loadConfig defines (the
// server's configuration), for help and completion. It lets loadConfig
// define them, so they are the same flags by construction.
func configFlags(fs *flag.FlagSet) {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	loadConfig(fs, []string{"-h"}, func(string) string { return "" }) // defines the flags, then stops at -h
	fs.SetOutput(out)
}

// flagChoices are the values a flag accepts, where they are few: the
// completion scripts offer them.
var flagChoices = map[string][]string{
	"output": {outputTable, outputJSON},
	"o":      {outputTable, outputJSON},
	"role":   {"admin", "read-only"},
	"status": {"pending", "running", "succeeded", "failed", "cancelled", "abandoned"},
	"audit":  {"on", "off"},
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, os.Stdin, stdout, stderr)
}

// runWith is run with an explicit standard input.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	x := &cmdline{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, loc: localZone()}
	if len(args) == 0 {
		x.writeUsage(stderr)
		return 2
	}
	front, rest := leadingClientFlags(args)
	if len(rest) == 0 { // flags and no command: dispatch says so
		front, rest = nil, front
	}
	err := x.dispatch(ctx, rest, front)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rotor: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks a mistake in the command line (exit status 2).
type usageError string

func (e usageError) Error() string { return string(e) + " (see 'rotor help')" }

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// dispatch walks the command tree along args and runs the leaf it reaches,
// with front (client flags given before the command) ahead of the leaf's
// own arguments.
func (x *cmdline) dispatch(ctx context.Context, args, front []string) error {
	node, path := commandTree, []string{}
	for node.subs != nil {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			if len(args) > 0 && isHelp(args[0]) {
				return x.writeHelp(x.stdout, path)
			}
			if node == commandTree && len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
				args = append([]string{"version"}, args[1:]...) // as most tools take it
				continue
			}
			if node == commandTree {
				return usageError(fmt.Sprintf("flag %s must come with a command; the commands are %s", args[0], node.subNames()))
			}
			return usageError(fmt.Sprintf("%s needs a subcommand: %s", strings.Join(path, " "), node.subNames()))
		}
		next := node.sub(args[0])
		if next == nil {
			if node == commandTree {
				return usageError(fmt.Sprintf("unknown command %q; the commands are %s", args[0], node.subNames()))
			}
			return usageError(fmt.Sprintf("unknown command %q; the %s commands are %s",
				strings.Join(append(path, args[0]), " "), strings.Join(path, " "), node.subNames()))
		}
		node, path, args = next, append(path, next.name), args[1:]
	}
	name := "rotor " + strings.Join(path, " ")
	fs, act := node.flagSet(name, x)
	flagArgs, pos, err := splitArgs(fs, append(front[:len(front):len(front)], args...))
	if errors.Is(err, flag.ErrHelp) {
		return x.writeHelp(x.stdout, path)
	}
	if err != nil {
		return usageError(fmt.Sprintf("%s: %v", name, err))
	}
	if minArgs, maxArgs := node.arity(); len(pos) < minArgs || maxArgs >= 0 && len(pos) > maxArgs {
		if maxArgs < 0 && len(pos) < minArgs {
			words := strings.Fields(node.args)
			return usageError(fmt.Sprintf("%s needs at least one %s", name, strings.Trim(words[len(words)-1], "<>.")))
		}
		return usageError(strings.TrimSpace("usage: " + name + " " + node.args))
	}
	if node.kind == kindClient && x.output != outputTable && x.output != outputJSON {
		return usageError(fmt.Sprintf("--output %q must be %s or %s", x.output, outputTable, outputJSON))
	}
	if node.kind == kindConfig {
		// The action parses the flags again, with the configuration
		// (loadConfig), on a flag set holding only its own flags.
		own := newFlagSet(name)
		own.SetOutput(io.Discard)
		own.Usage = func() {}
		return node.setup(own, x)(ctx, pos, flagArgs)
	}
	return act(ctx, pos, nil)
}

// splitArgs parses the flags in args, which may come before, between or
// after the positional arguments (`rotor identity create bob --role
// admin`), and returns the flag arguments and the positional ones in
// order. After "--" every argument is positional.
func splitArgs(fs *flag.FlagSet, args []string) (flagArgs, pos []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		consumed := args[:len(args)-fs.NArg()]
		flagArgs = append(flagArgs, consumed...)
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			flagArgs = flagArgs[:len(flagArgs)-1]
			return flagArgs, append(pos, fs.Args()...), nil
		}
		if fs.NArg() == 0 {
			return flagArgs, pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// find returns the node at path (nil if there is none).
func find(path []string) *command {
	node := commandTree
	for _, name := range path {
		if node = node.sub(name); node == nil {
			return nil
		}
	}
	return node
}

// leaves calls fn for every leaf under c, in the tree's order, with its
// path from the root.
func (c *command) leaves(path []string, fn func(path []string, leaf *command)) {
	if c.subs == nil {
		fn(path, c)
		return
	}
	for _, s := range c.subs {
		s.leaves(append(path[:len(path):len(path)], s.name), fn)
	}
}

// writeUsage writes `rotor help`: every command with one line each.
func (x *cmdline) writeUsage(w io.Writer) error {
	fmt.Fprint(w, "Usage: rotor <command> [arguments] [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	commandTree.leaves(nil, func(path []string, leaf *command) {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(strings.Join(path, " ")+" "+leaf.args), leaf.summary)
	})
	tw.Flush()
	_, err := fmt.Fprint(w, clientHelp)
	return err
}

// clientHelp closes `rotor help`.
const clientHelp = `
Client flags (before or after the command):
  --endpoint URL     the server; else $ROTOR_ENDPOINT, $AWS_ENDPOINT_URL_SECRETS_MANAGER
                     or $AWS_ENDPOINT_URL (default http://127.0.0.1:8740)
  --region R         region to sign for (default from the AWS configuration, else us-east-1)
  --profile P        AWS shared-config profile whose credentials sign the requests
  --output, -o FMT   table (default: tables and key/value lists for people, dates in the
                     local time zone, $TZ) or json (the server's answer, unchanged, for scripts)

Client commands sign with the AWS credentials of the environment ($AWS_SHARED_CREDENTIALS_FILE,
$AWS_PROFILE, $AWS_ACCESS_KEY_ID, ...). 'rotor COMMAND --help' describes one command.
`

// writeHelp writes the help of the command at path: the command list for
// the root, the subcommands of a group, the usage and flags of a leaf.
func (x *cmdline) writeHelp(w io.Writer, path []string) error {
	node := find(path)
	if node == nil {
		// Name the commands of the deepest group the path reaches.
		group, known := commandTree, 0
		for known < len(path) && group.sub(path[known]) != nil && group.sub(path[known]).subs != nil {
			group, known = group.sub(path[known]), known+1
		}
		if group == commandTree {
			return usageError(fmt.Sprintf("unknown command %q; the commands are %s", strings.Join(path, " "), group.subNames()))
		}
		return usageError(fmt.Sprintf("unknown command %q; the %s commands are %s",
			strings.Join(path, " "), strings.Join(path[:known], " "), group.subNames()))
	}
	if node == commandTree {
		if err := x.writeUsage(w); err != nil {
			return err
		}
		return flag.ErrHelp
	}
	name := "rotor " + strings.Join(path, " ")
	if node.subs != nil {
		fmt.Fprintf(w, "Usage: %s <command> [arguments] [flags]\n\n%s.\n\nCommands:\n", name, capitalize(node.summary))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		node.leaves(path, func(p []string, leaf *command) {
			fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace("rotor "+strings.Join(p, " ")+" "+leaf.args), leaf.summary)
		})
		tw.Flush()
		return flag.ErrHelp
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\n%s.\n", strings.TrimSpace(name+" "+node.args), capitalize(node.summary))
	fs, _ := node.flagSet(name, &cmdline{})
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	return flag.ErrHelp
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func setupHelp(_ *flag.FlagSet, x *cmdline) action {
	return func(_ context.Context, pos, _ []string) error {
		return x.writeHelp(x.stdout, pos)
	}
}

func setupVersion(_ *flag.FlagSet, x *cmdline) action {
	return func(context.Context, []string, []string) error {
		_, err := fmt.Fprintln(x.stdout, "rotor", version())
		return err
	}
}

func setupAuditVerify(_ *flag.FlagSet, x *cmdline) action {
	return func(_ context.Context, pos, _ []string) error {
		return auditVerify(pos, x.stdout)
	}
}

func setupServer(fs *flag.FlagSet, x *cmdline) action {
	return func(ctx context.Context, _, flagArgs []string) error {
		cfg, err := loadConfig(fs, flagArgs, os.Getenv)
		if err != nil {
			return err
		}
		return runServer(ctx, cfg, x.stdout)
	}
}

func setupRecoverAdmin(fs *flag.FlagSet, x *cmdline) action {
	return recoverAdminAction(fs, x.stdout)
}
