package builtin_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/postgres"
	"github.com/rotorhq/rotor/rotation/redis"
)

// newPassword is what the tests' password generator returns: characters
// json.Marshal would escape (<, >, &) and one it must (").
const newPassword = `n3w<&>"pw`

func fixedPassword(context.Context) (string, error) { return newPassword, nil }

// TestGenerateKeepsTheValueAsWritten: createSecret changes the fields the
// strategy owns and keeps every other byte of the user's JSON — big
// numbers, <>&, unicode escapes, nested objects, whitespace, key order.
func TestGenerateKeepsTheValueAsWritten(t *testing.T) {
	const others = `"z": 12345678901234567890, "html":"<a href='x'>&amp;</a>",
	 "esc": "\u00e9\u003c\/", "nested": {"b": [1, 2.50, {"c": null}], "a": true}, "huge": 1e400, "neg": -0.0`
	for name, tc := range map[string]struct {
		s             builtin.Strategy
		current, want string
	}{
		"GeneratePassword": {builtin.GeneratePassword{},
			`{ ` + others + `, "password" : "old" }`,
			`{ ` + others + `, "password" : "n3w<&>\"pw" }`},
		"GeneratePasswordAppends": {builtin.GeneratePassword{},
			`{ ` + others + ` }`,
			`{ ` + others + `,"password":"n3w<&>\"pw" }`},
		"GeneratePasswordEmptyObject": {builtin.GeneratePassword{}, ` { } `, ` {"password":"n3w<&>\"pw" } `},
		"GeneratePasswordNotJSON":     {builtin.GeneratePassword{}, `just a token`, newPassword},
		"GeneratePasswordJSONString":  {builtin.GeneratePassword{}, `"a string"`, newPassword},
		"RedisSingleUser": {builtin.SingleUser{Engine: offline(t, redis.Engine())},
			`{"password":"old",` + others + `,"engine":"redis","host":"cache","username":"app"}`,
			`{"password":"n3w<&>\"pw",` + others + `,"engine":"redis","host":"cache","username":"app"}`},
		"PostgresAlternatingUsers": {builtin.AlternatingUsers{Engine: offline(t, postgres.Engine())},
			`{"engine":"postgres",` + others + `,"host":"db","username":"app","password":"old","masterarn":"m"}`,
			`{"engine":"postgres",` + others + `,"host":"db","username":"app_clone","password":"n3w<&>\"pw","masterarn":"m"}`},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.s.Generate(context.Background(), tc.current, fixedPassword)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Generate =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestGenerateRefusesAmbiguousValues: a key given twice means different
// things to different readers, and a broken object would be lost if it
// were replaced whole; neither is rewritten.
func TestGenerateRefusesAmbiguousValues(t *testing.T) {
	for name, tc := range map[string]struct {
		s        builtin.Strategy
		current  string
		contains string
	}{
		"Duplicate":        {builtin.GeneratePassword{}, `{"password":"a","password":"b"}`, `duplicate key "password"`},
		"DuplicateEscaped": {builtin.GeneratePassword{}, `{"note":"a","\u006eote":"b"}`, `duplicate key "note"`},
		"Broken":           {builtin.GeneratePassword{}, `{"password":"a",`, "not valid JSON"},
		"Trailing":         {builtin.GeneratePassword{}, `{"password":"a"} {"b":1}`, "not valid JSON"},
		"DBDuplicate": {builtin.SingleUser{Engine: offline(t, redis.Engine())},
			`{"engine":"redis","host":"h","username":"u","password":"p","host":"evil"}`, `duplicate key "host"`},
		"DBNotObject": {builtin.SingleUser{Engine: offline(t, redis.Engine())}, `["redis"]`, "not a JSON object"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.s.Generate(context.Background(), tc.current, fixedPassword)
			if rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(rotor.ErrorMessage(err), tc.contains) {
				t.Fatalf("Generate = %q, %v; want EINVALID containing %q", got, err, tc.contains)
			}
		})
	}
}

// FuzzGeneratePasswordKeepsOtherMembers: for any JSON object accepted,
// the result is valid JSON with the same members — numbers as written —
// except "password", which is the new one.
func FuzzGeneratePasswordKeepsOtherMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"password":"x"}`, `{"a":12345678901234567890,"b":"<&>"}`,
		` {"n":{"password":1},"password":[1,2]} `, `{"\u0070assword":"x","e":1e400}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := builtin.GeneratePassword{}.Generate(context.Background(), in, fixedPassword)
		if err != nil || !json.Valid([]byte(in)) || !strings.HasPrefix(strings.TrimSpace(in), "{") {
			return
		}
		decode := func(s string) map[string]any {
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("decode %q: %v", s, err)
			}
			return m
		}
		before, after := decode(in), decode(got)
		if after["password"] != newPassword {
			t.Fatalf("Generate(%q) = %q: password not set", in, got)
		}
		delete(before, "password")
		delete(after, "password")
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("Generate(%q) = %q changed other members", in, got)
		}
	})
}

// TestGeneratePasswordNeverLooksLikeObject: a new whole-value password
// that would start with "{" is drawn again, so the next rotation does not
// refuse its own output as a broken JSON object; a generator that only
// makes such passwords is an error, not a value that blocks rotation.
func TestGeneratePasswordNeverLooksLikeObject(t *testing.T) {
	draws := []string{"{starts-like-json", " {also", "fine{"}
	n := 0
	next := func(context.Context) (string, error) {
		pw := draws[n]
		n++
		return pw, nil
	}
	got, err := builtin.GeneratePassword{}.Generate(context.Background(), "old token", next)
	if err != nil || got != "fine{" {
		t.Fatalf("Generate = %q, %v; want the first password not starting with {", got, err)
	}
	again, err := builtin.GeneratePassword{}.Generate(context.Background(), got, fixedPassword)
	if err != nil || again != newPassword {
		t.Fatalf("the next rotation of %q: %q, %v", got, again, err)
	}
	always := func(context.Context) (string, error) { return "{x", nil }
	if got, err := (builtin.GeneratePassword{}).Generate(context.Background(), "old token", always); err == nil {
		t.Fatalf("Generate with a generator of {-passwords only = %q, want an error", got)
	}
}
