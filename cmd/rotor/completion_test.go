package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/internal/testsvc"
)

// completionScript writes `rotor completion SHELL` to a file and returns
// its path.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, out, errOut := runCLI(t, nil, "completion", shell)
	if code != 0 {
		t.Fatalf("rotor completion %s: exit %d: %s", shell, code, errOut)
	}
	path := filepath.Join(t.TempDir(), "rotor."+shell)
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// everyCommand calls fn with the path of every command and group of the
// dispatcher's tree and the flags the dispatcher accepts for it.
func everyCommand(fn func(path string, c *command, flags []string)) {
	var walk func(c *command, path []string)
	walk = func(c *command, path []string) {
		var flags []string
		if c.subs == nil {
			fs, _ := c.flagSet("", &cmdline{})
			fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
		}
		fn(strings.Join(path, " "), c, flags)
		for _, s := range c.subs {
			walk(s, append(path[:len(path):len(path)], s.name))
		}
	}
	walk(commandTree, nil)
}

// TestCompletionCoversTheCommandTree: both scripts name every command,
// subcommand and flag of the tree the dispatcher runs.
func TestCompletionCoversTheCommandTree(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		code, script, _ := runCLI(t, nil, "completion", shell)
		if code != 0 {
			t.Fatalf("completion %s: exit %d", shell, code)
		}
		n := 0
		everyCommand(func(path string, c *command, flags []string) {
			n++
			if path != "" && !strings.Contains(script, "'"+path+"')") {
				t.Errorf("%s script has no case for %q", shell, path)
			}
			if path != "" && !strings.Contains(script, c.name) {
				t.Errorf("%s script does not offer %q", shell, c.name)
			}
			for _, f := range flags {
				dash := "--"
				if len(f) == 1 {
					dash = "-"
				}
				if !strings.Contains(script, dash+f+" ") && !strings.Contains(script, dash+f+"'") && !strings.Contains(script, dash+f+")") {
					t.Errorf("%s script lacks flag %s%s of %q", shell, dash, f, path)
				}
			}
		})
		if n < 30 {
			t.Errorf("walked only %d commands", n)
		}
	}
	// A flag name means the same (takes a value or not) in every command,
	// since the scripts skip flag values by name.
	kinds := map[string]bool{}
	everyCommand(func(path string, c *command, _ []string) {
		if c.subs != nil {
			return
		}
		fs, _ := c.flagSet("", &cmdline{})
		fs.VisitAll(func(f *flag.Flag) {
			b, ok := f.Value.(interface{ IsBoolFlag() bool })
			takesValue := !ok || !b.IsBoolFlag()
			if prev, seen := kinds[f.Name]; seen && prev != takesValue {
				t.Errorf("flag %s of %q takes a value in one command and not in another", f.Name, path)
			}
			kinds[f.Name] = takesValue
		})
	})
}

// bashComplete runs the bash script's completion for the words typed
// (the last one being completed) and returns the candidates.
func bashComplete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shQuote(w)
	}
	prog := "source " + shQuote(script) + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
		strconv.Itoa(len(words)-1) + "\n_rotor\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v: %s", err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	script := completionScript(t, "bash")
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v: %s", err, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "backup-2026.db"), nil, 0o600)
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"rotor", "se"}, []string{"secret", "server"}},
		{[]string{"rotor", "keys", ""}, []string{"add", "list", "rotate", "retire"}},
		{[]string{"rotor", "identity", "policy", "g"}, []string{"get"}},
		{[]string{"rotor", "secret", "put", "app", "--value-"}, []string{"--value-file", "--value-stdin"}},
		{[]string{"rotor", "--output", ""}, []string{"json", "table"}},
		{[]string{"rotor", "--endpoint", "http://127.0.0.1:1", "ke"}, []string{"keys"}},
		{[]string{"rotor", "identity", "create", "bob", "--role", "r"}, []string{"read-only"}},
		{[]string{"rotor", "restore", filepath.Join(dir, "backup-")}, []string{filepath.Join(dir, "backup-2026.db")}},
		{[]string{"rotor", "restore", "--da"}, []string{"--data-dir"}},
		{[]string{"rotor", "completion", ""}, []string{"bash", "zsh"}},
		{[]string{"rotor", "keys", "list", "x"}, nil},
	} {
		got := bashComplete(t, script, tc.words...)
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("completing %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestZshCompletion parses the zsh script and runs its completion
// function with the completion system's builtins replaced by functions
// that print what they are given.
func TestZshCompletion(t *testing.T) {
	zsh := testsvc.Command(t, "zsh")
	script := completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v: %s", err, out)
	}
	// zsh's _describe and compadd filter by what is typed themselves: the
	// script hands them every candidate for the position.
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"rotor", "se"}, []string{"describe: server:run the server", "|secret:read and write secrets without the AWS CLI|", "|keys:"}},
		{[]string{"rotor", "keys", ""}, []string{"describe: list:key-encryption keys", "|rotate:", "|retire:"}},
		{[]string{"rotor", "--endpoint", "http://x", "identity", "policy", ""}, []string{"describe: put:", "|get:", "|delete:"}},
		{[]string{"rotor", "secret", "put", "x", "--value-"}, []string{"compadd: -- ", " --value-file ", " --value-stdin ", " --binary "}},
		{[]string{"rotor", "-o", ""}, []string{"compadd: -- table json\n"}},
		{[]string{"rotor", "backup", ""}, []string{"files\n"}},
	} {
		quoted := make([]string, len(tc.words))
		for i, w := range tc.words {
			quoted[i] = shQuote(w)
		}
		prog := "compdef() { :; }\n_describe() { print -r -- \"describe: ${(j:|:)${(P)${@[-1]}}}\"; }\n" +
			"compadd() { print -r -- \"compadd: $*\"; }\n_files() { print files; }\n" +
			"source " + shQuote(script) + "\nwords=(" + strings.Join(quoted, " ") + ")\nCURRENT=" + strconv.Itoa(len(tc.words)) + "\n_rotor\n"
		out, err := exec.Command(zsh, "-f", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("zsh: %v: %s", err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("completing %q printed %q, lacking %q", tc.words, out, w)
			}
		}
	}
}

// TestHelpListsEveryCommand: `rotor help` and `rotor --help` list every
// leaf of the dispatcher's tree with its line; `rotor GROUP --help` lists
// the group's commands; `rotor COMMAND --help` shows its usage and flags.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 {
			t.Fatalf("rotor %s: exit %d", args[0], code)
		}
		commandTree.leaves(nil, func(path []string, leaf *command) {
			line := strings.TrimSpace(strings.Join(path, " ") + " " + leaf.args)
			if !strings.Contains(out, "\n  "+line+" ") || !strings.Contains(out, leaf.summary+"\n") {
				t.Errorf("rotor %s lacks %q — %q", args[0], line, leaf.summary)
			}
		})
	}
	for _, args := range [][]string{{"keys", "--help"}, {"help", "keys"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: rotor keys <command>") {
			t.Fatalf("rotor %s: exit %d, %q", strings.Join(args, " "), code, out)
		}
		for _, sub := range []string{"rotor keys list ", "rotor keys rotate ", "rotor keys retire <key-id> "} {
			if !strings.Contains(out, sub) {
				t.Errorf("rotor %s lacks %q: %s", strings.Join(args, " "), sub, out)
			}
		}
	}
	for _, args := range [][]string{{"secret", "get", "--help"}, {"help", "secret", "get"}, {"secret", "get", "x", "-h"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: rotor secret get <secret-id> [flags]\n") {
			t.Fatalf("rotor %s: exit %d, %q", strings.Join(args, " "), code, out)
		}
		for _, f := range []string{"-version-stage", "-version-id", "-endpoint", "-output"} {
			if !strings.Contains(out, "  "+f+" ") {
				t.Errorf("rotor %s lacks flag %s", strings.Join(args, " "), f)
			}
		}
	}
	code, out, _ := runCLI(t, nil, "server", "--help")
	if code != 0 || !strings.Contains(out, "-data-dir") || !strings.Contains(out, "-key-file") {
		t.Errorf("server --help: exit %d, %q", code, out)
	}
	code, _, errOut := runCLI(t, nil, "help", "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: exit %d, %q", code, errOut)
	}
	// No arguments at all: the list, on standard error, exit 2.
	code, out, errOut = runCLI(t, nil)
	if code != 2 || out != "" || !strings.Contains(errOut, "secret ls") {
		t.Errorf("rotor: exit %d, %q, %q", code, out, errOut)
	}
}
