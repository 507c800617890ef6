package main

import (
	"context"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestConfigDocComplete: docs/config.md mentions every environment variable
// the binary reads (envNames), every flag of every command (each command of
// the usage text is run with -h, and the flag sets newFlagSet recorded are
// listed), and every key of the config file (Config's toml tags). A failure
// names what is missing: add it to docs/config.md.
func TestConfigDocComplete(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)

	// Environment variables: the name as a word (GOGC in `GOGC=400` counts,
	// AWS_ENDPOINT_URL in AWS_ENDPOINT_URL_SECRETS_MANAGER does not).
	if len(envNames) == 0 {
		t.Fatal("envNames is empty: the registry of environment variables was not filled")
	}
	for _, name := range sortedKeys(envNames) {
		if !regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(name) + `([^A-Za-z0-9_]|$)`).MatchString(doc) {
			t.Errorf("docs/config.md does not mention the environment variable %s, which rotor reads", name)
		}
	}

	// Flags: run every command with -h; nothing is started or contacted
	// (a command that ignored -h would meet a closed port, not a server).
	t.Setenv("ROTOR_ENDPOINT", "http://127.0.0.1:1")
	flagSets.Lock()
	flagSets.byName = map[string]*flag.FlagSet{}
	flagSets.output = io.Discard
	flagSets.Unlock()
	t.Cleanup(func() {
		flagSets.Lock()
		flagSets.output = nil
		flagSets.Unlock()
	})
	var usage strings.Builder
	(&cmdline{}).writeUsage(&usage)
	cmds := usageCommands(usage.String())
	for _, must := range []string{"server", "recover-admin", "backup"} {
		if !slices.ContainsFunc(cmds, func(c []string) bool { return c[0] == must }) {
			t.Fatalf("the usage text yielded the commands %q, without %q: usageCommands no longer understands it", cmds, must)
		}
	}
	for _, c := range cmds {
		run(context.Background(), append(slices.Clone(c), "-h"), io.Discard, io.Discard)
	}
	flagSets.Lock()
	sets := flagSets.byName
	flagSets.byName = map[string]*flag.FlagSet{}
	flagSets.Unlock()
	for _, want := range []string{"rotor server", "rotor recover-admin", "rotor backup"} {
		if sets[want] == nil {
			t.Errorf("no flag set %q was made by running the commands with -h (made: %q)", want, sortedKeys(sets))
		}
	}
	flags := map[string][]string{} // flag name -> the commands that define it
	usages := map[string]string{}
	for _, name := range sortedKeys(sets) {
		sets[name].VisitAll(func(f *flag.Flag) {
			flags[f.Name] = append(flags[f.Name], name)
			usages[f.Name] = f.Usage
		})
	}
	for _, name := range sortedKeys(flags) {
		if !regexp.MustCompile(`(^|[^\w-])--?` + regexp.QuoteMeta(name) + `([^\w-]|$)`).MatchString(doc) {
			t.Errorf("docs/config.md does not mention the flag --%s of %s (%s)", name, strings.Join(flags[name], ", "), usages[name])
		}
	}

	// Config file keys, as `key` or `section.key`; a function's keys by
	// themselves (the [[functions]] table).
	for _, key := range tomlKeys(reflect.TypeFor[Config](), "") {
		if !strings.Contains(doc, "`"+key+"`") {
			t.Errorf("docs/config.md does not mention the config key `%s`", key)
		}
	}
	if !strings.Contains(doc, "`[[functions]]`") {
		t.Error("docs/config.md does not mention the config table `[[functions]]`")
	}
	for _, key := range tomlKeys(reflect.TypeFor[FunctionConfig](), "") {
		if !strings.Contains(doc, "`"+key+"`") {
			t.Errorf("docs/config.md does not mention the [[functions]] key `%s`", key)
		}
	}
}

// usageCommands returns the commands the usage text lists under
// "Commands:", each as its words (`identity policy put`), without the
// arguments and the description that follow.
func usageCommands(usage string) [][]string {
	word := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	var out [][]string
	in := false
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case line == "Commands:":
			in = true
			continue
		case !in:
			continue
		case strings.TrimSpace(line) == "":
			return out
		case !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   "):
			continue // a description continued on the next line
		}
		first, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		var words []string
		for _, w := range strings.Fields(first) {
			if !word.MatchString(w) {
				break
			}
			words = append(words, w)
		}
		if len(words) > 0 {
			out = append(out, words)
		}
	}
	return out
}

// tomlKeys returns the config keys of the struct type t: "prefix.key" for
// each field with a toml tag, recursing into struct fields (not into
// slices: [[functions]] is listed apart).
func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type.NumField() > 0 && f.Type.Field(0).Tag.Get("toml") != "" {
			keys = append(keys, tomlKeys(f.Type, prefix+tag+".")...)
			continue
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestEnvReadsAreRegistered keeps TestConfigDocComplete complete: in the
// command's own sources, no getenv function (os.Getenv, os.LookupEnv, a
// getenv parameter, Main.Getenv) is called with a string literal — fixed
// names come from envName — and no flag set is made without newFlagSet.
func TestEnvReadsAreRegistered(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
				if x, ok := fn.X.(*ast.Ident); ok && x.Name == "flag" && name == "NewFlagSet" && file != "names.go" {
					t.Errorf("%s: flag.NewFlagSet: use newFlagSet, so that TestConfigDocComplete sees the flags", fset.Position(call.Pos()))
				}
			}
			switch name {
			case "Getenv", "getenv", "LookupEnv":
			default:
				return true
			}
			for _, arg := range call.Args {
				if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					t.Errorf("%s: %s(%s): declare the name with envName (names.go), so that TestConfigDocComplete checks it is documented",
						fset.Position(call.Pos()), name, lit.Value)
				}
			}
			return true
		})
	}
}
