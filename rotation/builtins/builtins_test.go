package builtins_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/builtins"
	"github.com/rotorhq/rotor/rotation/mysql"
	"github.com/rotorhq/rotor/rotation/postgres"
	"github.com/rotorhq/rotor/rotation/redis"
	"github.com/rotorhq/rotor/rotation/rotorkeys"
	"github.com/rotorhq/rotor/sqlite"
)

func TestRegister(t *testing.T) {
	reg := rotation.NewRegistry("000000000000")
	builtins.Register(reg, builtintest.NewEnv(t).Secrets, rotorkeys.Service{})
	var names []string
	for _, f := range reg.Functions() {
		if f.Kind != "builtin" || f.Regions != nil {
			t.Errorf("%s: kind %q regions %v, want builtin in every region", f.Name, f.Kind, f.Regions)
		}
		names = append(names, f.Name)
	}
	want := []string{
		"rotor-access-key", "rotor-generate-password",
		"rotor-mariadb-alternating-users", "rotor-mariadb-single-user",
		"rotor-mysql-alternating-users", "rotor-mysql-single-user",
		"rotor-postgres-alternating-users", "rotor-postgres-single-user",
		"rotor-redis-multi-credential", "rotor-redis-single-user",
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("registered %v, want %v", names, want)
	}

	strategies := map[string]builtin.Strategy{
		"rotor-access-key":                 builtin.AccessKeys{},
		"rotor-generate-password":          builtin.GeneratePassword{},
		"rotor-postgres-single-user":       builtin.SingleUser{},
		"rotor-postgres-alternating-users": builtin.AlternatingUsers{},
		"rotor-mysql-single-user":          builtin.SingleUser{},
		"rotor-mysql-alternating-users":    builtin.AlternatingUsers{},
		"rotor-mariadb-single-user":        builtin.SingleUser{},
		"rotor-mariadb-alternating-users":  builtin.AlternatingUsers{},
		"rotor-redis-single-user":          builtin.SingleUser{},
		"rotor-redis-multi-credential":     builtin.MultiCredential{},
	}
	engines := map[string][]string{
		"rotor-postgres-single-user": {"postgres", "aurora-postgresql"}, "rotor-postgres-alternating-users": {"postgres", "aurora-postgresql"},
		"rotor-mysql-single-user": {"mysql", "aurora-mysql"}, "rotor-mysql-alternating-users": {"mysql", "aurora-mysql"},
		"rotor-mariadb-single-user": {"mariadb"}, "rotor-mariadb-alternating-users": {"mariadb"},
		"rotor-redis-single-user": {"redis"}, "rotor-redis-multi-credential": {"redis"},
	}
	excludes := map[string]string{
		"rotor-postgres-single-user": postgres.Engine().Password.ExcludeCharacters,
		"rotor-mysql-single-user":    mysql.MySQL().Password.ExcludeCharacters,
		"rotor-redis-single-user":    redis.Engine().Password.ExcludeCharacters,
	}
	for _, region := range []string{"us-east-1", "eu-west-3"} {
		for name, want := range strategies {
			fn, err := reg.Lookup(region, reg.ARN(region, name))
			if err != nil {
				t.Fatalf("Lookup(%s, %s): %v", region, name, err)
			}
			f, ok := fn.(*builtin.Function)
			if !ok || reflect.TypeOf(f.Strategy) != reflect.TypeOf(want) {
				t.Fatalf("%s is %T with strategy %T, want %T", name, fn, f.Strategy, want)
			}
			if e := engineOf(f.Strategy); e != nil && !reflect.DeepEqual(e.Engines, engines[name]) {
				t.Errorf("%s serves engines %v, want %v", name, e.Engines, engines[name])
			}
			if x, ok := excludes[name]; ok && f.Password.ExcludeCharacters != x {
				t.Errorf("%s excludes %q, want %q", name, f.Password.ExcludeCharacters, x)
			}
		}
	}
	if got := postgres.Engine().Password.ExcludeCharacters; got != `:/@"'\` {
		t.Errorf("PostgreSQL excludes %q", got)
	}
	if got := mysql.MariaDB().Password.ExcludeCharacters; got != `/@"'\` {
		t.Errorf("MariaDB excludes %q", got)
	}
}

func engineOf(s builtin.Strategy) *builtin.Engine {
	switch s := s.(type) {
	case builtin.SingleUser:
		return &s.Engine
	case builtin.AlternatingUsers:
		return &s.Engine
	case builtin.MultiCredential:
		return &s.Engine
	}
	return nil
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, rotor.Caller, rotor.AccessRequest) error { return nil }

// issuer hands out credentials the built-in functions never use.
type issuer struct{}

func (issuer) IssueTemporary(rotor.Principal, time.Duration) (string, string, string, error) {
	return "ASIATEST", "secret", "token", nil
}
func (issuer) Temporary(string) (rotor.Principal, bool) { return rotor.Principal{}, false }
func (issuer) Revoke(string)                            {}

// TestEngineRotates wires the built-ins as the server does — manager with
// the registry, RotateSecret, the engine — and rotates a generated
// password and a Redis user through it.
func TestEngineRotates(t *testing.T) {
	u := testsvc.Redis(t)
	host, port := builtintest.HostPort(t, u)
	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	user := builtintest.Unique("rotor_test_engine_")
	if err := rc.Do(context.Background(), "ACL", "SETUSER", user, "on", ">initial-pw", "+@connection", "+acl|whoami", "+acl|setuser", "+config|get").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rc.Do(context.Background(), "ACL", "DELUSER", user).Err(); err != nil {
			t.Errorf("delete user %s: %v", user, err)
		}
	})

	st, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	reg := rotation.NewRegistry(builtintest.Account)
	svc := manager.New(manager.Config{Store: st, Keyring: kr, Authorizer: allowAll{}, Account: builtintest.Account, Functions: reg})
	builtins.Register(reg, svc, nil)
	eng := &rotation.Engine{Control: svc, Functions: reg, Credentials: issuer{}, Backoff: func(int) time.Duration { return 0 }}
	ctx := rotor.NewContext(context.Background(), rotor.Caller{Region: builtintest.Region, Principal: rotor.Principal{Role: rotor.RoleAdmin}})

	create := func(name, value string) string {
		out, err := svc.CreateSecret(ctx, rotor.CreateSecretInput{Name: name, ClientRequestToken: uuid.NewString(), Value: rotor.Value{String: &value}})
		if err != nil {
			t.Fatal(err)
		}
		return out.ARN
	}
	value := func(arn, stage string) map[string]any {
		out, err := svc.GetSecretValue(ctx, rotor.GetSecretValueInput{SecretID: arn, VersionStage: stage})
		if err != nil {
			t.Fatalf("get %s: %v", stage, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(*out.Value.String), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	raw := func(arn, stage string) string {
		out, err := svc.GetSecretValue(ctx, rotor.GetSecretValueInput{SecretID: arn, VersionStage: stage})
		if err != nil {
			t.Fatalf("get %s: %v", stage, err)
		}
		return *out.Value.String
	}
	// Fields the functions do not own come back exactly as written: a big
	// integer, <>&, escapes, nesting, key order, whitespace.
	const others = `"account": 12345678901234567890, "html": "<b>&amp;</b>", "esc": "\u00e9\u003c",
	  "nested": {"z": [1, 2.50, null], "a": true}`
	secrets := map[string]string{
		builtins.GeneratePassword:     create("webhook", `{"password":"initial-pw",`+others+`, "rotor:password_length":"48"}`),
		builtins.RedisMultiCredential: create("redis-app", `{"engine":"redis",`+others+`,"host":"`+host+`","port":`+itoa(port)+`,"username":"`+user+`","password":"initial-pw"}`),
	}
	for round := range 2 {
		for name, arn := range secrets {
			before := value(arn, rotor.StageCurrent)["password"]
			beforeRaw := raw(arn, rotor.StageCurrent)
			if _, err := svc.RotateSecret(ctx, rotor.RotateSecretInput{SecretID: arn, RotationLambdaARN: reg.ARN(builtintest.Region, name)}); err != nil {
				t.Fatalf("round %d: RotateSecret(%s): %v", round, name, err)
			}
			if _, err := eng.RunDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			runs, err := svc.ListRotationRuns(ctx, rotor.RunFilter{SecretID: arn, Limit: 1})
			if err != nil || len(runs) != 1 || runs[0].Status != rotor.RunSucceeded {
				t.Fatalf("round %d: %s runs = %+v, %v; want one succeeded", round, name, runs, err)
			}
			after := value(arn, rotor.StageCurrent)
			if after["password"] == before {
				t.Fatalf("round %d: %s did not change the password", round, name)
			}
			want := strings.Replace(beforeRaw, `"password":`+jsonText(t, before), `"password":`+jsonText(t, after["password"]), 1)
			if got := raw(arn, rotor.StageCurrent); got != want {
				t.Errorf("round %d: %s rewrote the secret:\n got %s\nwant %s", round, name, got, want)
			}
			if name == builtins.GeneratePassword && len(after["password"].(string)) != 48 {
				t.Errorf("generated password has %d characters, want the secret's 48", len(after["password"].(string)))
			}
			if name == builtins.RedisMultiCredential {
				for _, stage := range []string{rotor.StageCurrent, rotor.StagePrevious} {
					c := goredis.NewClient(&goredis.Options{Addr: opt.Addr, Username: user, Password: value(arn, stage)["password"].(string), Protocol: 2, MaxRetries: -1})
					who, err := c.Do(context.Background(), "ACL", "WHOAMI").Text()
					c.Close()
					if err != nil || who != user {
						t.Errorf("round %d: %s does not log in: %q, %v", round, stage, who, err)
					}
				}
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// jsonText encodes v as JSON without HTML escaping, as the built-ins do.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
