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
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
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

// configKeysTable returns the rows of docs/config.md's "## Keys" table by
// their first cell (the file key, without backquotes), each as its cells,
// and the keys listed more than once.
func configKeysTable(t *testing.T, doc string) (rows map[string][]string, twice []string) {
	t.Helper()
	_, after, ok := strings.Cut(doc, "\n## Keys\n")
	if !ok {
		t.Fatal(`docs/config.md has no "## Keys" section`)
	}
	rows = map[string][]string{}
	inTable := false
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(strings.ReplaceAll(line, `\|`, "\x00"), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(cells[i], "\x00", "|"))
		}
		key := strings.Trim(cells[0], "`")
		if len(cells) != 5 || key == "File key" || strings.HasPrefix(key, "---") {
			continue
		}
		if rows[key] != nil {
			twice = append(twice, key)
		}
		rows[key] = cells
	}
	return rows, twice
}

// configField returns the field of c that the config key (`section.key`)
// sets.
func configField(c *Config, key string) (reflect.Value, bool) {
	v := reflect.ValueOf(c).Elem()
	for _, part := range strings.Split(key, ".") {
		found := false
		for i := range v.NumField() {
			if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("toml"), ","); tag == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, false
		}
	}
	return v, true
}

// TestConfigDocKeysTable: docs/config.md's Keys table has one row per key
// of the config file — no key missing, none listed twice, none the binary
// does not read —; the row of each key that a flag and an environment
// variable set names that very flag and variable; and each default
// written as a literal is the code's default.
func TestConfigDocKeysTable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows, twice := configKeysTable(t, string(raw))
	for _, k := range twice {
		t.Errorf("docs/config.md lists the key `%s` twice in its Keys table", k)
	}
	keys := tomlKeys(reflect.TypeFor[Config](), "")
	for _, k := range keys {
		if rows[k] == nil {
			t.Errorf("the Keys table of docs/config.md has no row for the config key `%s`", k)
		}
	}
	for k := range rows {
		if !slices.Contains(keys, k) && k != "[[functions]]" {
			t.Errorf("docs/config.md's Keys table documents `%s`, which is not a config key", k)
		}
	}

	// The key each setting sets, found by applying it to an empty
	// configuration, and the flag and variable its row must name.
	type names struct{ flag, env string }
	byKey := map[string]names{"allow_hidden_regions": {"allow-hidden-regions", envAllowHiddenRegions}}
	for _, s := range settings {
		var set []string
		for _, sample := range []string{"us-west-2", "1m", "on", "7"} {
			var c Config
			if s.apply(&c, sample) != nil {
				continue
			}
			for _, k := range keys {
				if f, _ := configField(&c, k); !f.IsZero() {
					set = append(set, k)
				}
			}
			break
		}
		if len(set) != 1 {
			t.Errorf("setting --%s sets the keys %v, want one", s.flag, set)
			continue
		}
		byKey[set[0]] = names{s.flag, s.env}
	}
	for k, n := range byKey {
		row := rows[k]
		if row == nil {
			continue // reported above
		}
		if !strings.Contains(row[1], "`--"+n.flag+"`") && !strings.Contains(row[1], "`--"+n.flag+" ") {
			t.Errorf("docs/config.md: the flag of `%s` is --%s, the table says %s", k, n.flag, row[1])
		}
		if !strings.Contains(row[2], "`"+n.env+"`") {
			t.Errorf("docs/config.md: the environment variable of `%s` is %s, the table says %s", k, n.env, row[2])
		}
	}
	for k, row := range rows {
		if (row[1] != "—") != (byKey[k] != names{}) && k != "[[functions]]" {
			t.Errorf("docs/config.md: `%s` has the flag cell %q, but the flag that sets it is %q", k, row[1], byKey[k].flag)
		}
	}

	// Defaults written as a literal (`24h`, `["us-east-1"]`, `"100MiB"`;
	// not placeholders such as `<data_dir>/kek.json`) decode to the code's.
	def := DefaultConfig()
	literal := regexp.MustCompile("^`([^`]+)`")
	for k, row := range rows {
		m := literal.FindStringSubmatch(row[3])
		if m == nil || strings.Contains(m[1], "<") {
			continue
		}
		section, name := "", k
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			section, name = "["+k[:i]+"]\n", k[i+1:]
		}
		var c Config
		if _, err := toml.Decode(section+name+" = "+m[1], &c); err != nil {
			if _, err := toml.Decode(section+name+" = "+strconv.Quote(m[1]), &c); err != nil {
				t.Errorf("docs/config.md: the default of `%s`, %s, does not decode: %v", k, m[1], err)
				continue
			}
		}
		got, _ := configField(&c, k)
		want, _ := configField(&def, k)
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("docs/config.md: the default of `%s` is documented as %s (%v), the code's is %v", k, m[1], got.Interface(), want.Interface())
		}
	}
}

// TestDocTOMLExamplesLoad: every TOML example in README.md and docs/ is a
// configuration the server accepts — no unknown key, no wrong type, and
// valid. An example that declares functions of regions without setting
// `regions` is read as part of a configuration serving them.
func TestDocTOMLExamplesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("..", "..", "README.md"))
	block := regexp.MustCompile("(?s)```toml\n(.*?)```")
	n := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(raw), -1) {
			n++
			c := DefaultConfig()
			md, err := toml.Decode(m[1], &c)
			if err != nil {
				t.Errorf("%s: a TOML example does not decode: %v\n%s", file, err, m[1])
				continue
			}
			if und := md.Undecoded(); len(und) > 0 {
				t.Errorf("%s: a TOML example has the unknown key %q\n%s", file, und[0].String(), m[1])
				continue
			}
			if !md.IsDefined("regions") {
				for _, f := range c.Functions {
					for _, r := range f.Regions {
						if !slices.Contains(c.Regions, r) {
							c.Regions = append(c.Regions, r)
						}
					}
				}
			}
			if err := c.Validate(); err != nil {
				t.Errorf("%s: a TOML example is refused: %v\n%s", file, err, m[1])
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d TOML examples in the docs; the extraction is broken", n)
	}
}
