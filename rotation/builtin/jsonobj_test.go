package builtin_test

import (
	"context"
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
