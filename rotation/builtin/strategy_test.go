package builtin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/mysql"
	"github.com/rotorhq/rotor/rotation/postgres"
	"github.com/rotorhq/rotor/rotation/redis"
)

// unreachable is a driver for tests whose requests must be refused before
// anything is dialled: it fails the test if it is ever used.
type unreachable struct{ t *testing.T }

func (u unreachable) Connect(context.Context, builtin.Conn) (builtin.Session, error) {
	u.t.Helper()
	u.t.Error("the strategy connected to the target; it should have refused first")
	return nil, errors.New("unreachable")
}

// offline returns e with a driver that must not be used.
func offline(t *testing.T, e builtin.Engine) builtin.Engine {
	e.Driver = unreachable{t}
	return e
}

func pw(s string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return s, nil }
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return m
}

func TestGenerateKeepsKeys(t *testing.T) {
	cur := `{"engine":"postgres","host":"db.example","port":"5433","username":"app","password":"old","dbname":"shop","masterarn":"arn:m","extra":{"a":[1,2]},"ssl":true}`
	tests := map[string]struct {
		s    builtin.Strategy
		user string
	}{
		"SingleUser":       {builtin.SingleUser{Engine: offline(t, postgres.Engine())}, "app"},
		"AlternatingUsers": {builtin.AlternatingUsers{Engine: offline(t, postgres.Engine())}, "app_clone"},
		"MultiCredential":  {builtin.MultiCredential{Engine: offline(t, postgres.Engine())}, "app"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tt.s.Generate(context.Background(), cur, pw(`n3w<&>"pw`))
			if err != nil {
				t.Fatal(err)
			}
			want := decode(t, cur)
			want["password"] = `n3w<&>"pw`
			want["username"] = tt.user
			if g := decode(t, got); !reflect.DeepEqual(g, want) {
				t.Errorf("Generate = %v, want %v", g, want)
			}
			if strings.Contains(got, `\u003c`) {
				t.Errorf("Generate escaped HTML characters: %s", got)
			}
		})
	}
}

func TestAlternatingUsersFlipsBack(t *testing.T) {
	a := builtin.AlternatingUsers{Engine: offline(t, mysql.MySQL())}
	cur := `{"engine":"mysql","host":"h","username":"app","password":"p","masterarn":"arn:m"}`
	next, err := a.Generate(context.Background(), cur, pw("p1"))
	if err != nil {
		t.Fatal(err)
	}
	if u := decode(t, next)["username"]; u != "app_clone" {
		t.Fatalf("first username = %v, want app_clone", u)
	}
	back, err := a.Generate(context.Background(), next, pw("p2"))
	if err != nil {
		t.Fatal(err)
	}
	if u := decode(t, back)["username"]; u != "app" {
		t.Fatalf("second username = %v, want app", u)
	}
}

func TestGenerateErrors(t *testing.T) {
	pg, my, maria, rd := offline(t, postgres.Engine()), offline(t, mysql.MySQL()), offline(t, mysql.MariaDB()), offline(t, redis.Engine())
	tests := map[string]struct {
		s        builtin.Strategy
		current  string
		code     string
		contains []string
	}{
		"NotJSON": {builtin.SingleUser{Engine: pg}, `password`, rotor.EINVALID, []string{"not a JSON object"}},
		"WrongEngine": {builtin.SingleUser{Engine: pg}, `{"engine":"mysql","host":"h","username":"u","password":"p"}`,
			rotor.EINVALID, []string{`"postgres" or "aurora-postgresql"`, `not "mysql"`}},
		"WrongEngineMariaDB": {builtin.SingleUser{Engine: maria}, `{"engine":"mysql","host":"h","username":"u","password":"p"}`,
			rotor.EINVALID, []string{`"mariadb"`}},
		"WrongEngineRedis": {builtin.MultiCredential{Engine: rd}, `{"engine":"postgres","host":"h","username":"u","password":"p"}`,
			rotor.EINVALID, []string{`"redis"`}},
		"MissingEngine":   {builtin.SingleUser{Engine: pg}, `{"host":"h","username":"u","password":"p"}`, rotor.EINVALID, []string{`"engine" key is missing`}},
		"MissingHost":     {builtin.SingleUser{Engine: pg}, `{"engine":"postgres","username":"u","password":"p"}`, rotor.EINVALID, []string{`"host" key is missing`}},
		"MissingUsername": {builtin.SingleUser{Engine: my}, `{"engine":"mysql","host":"h","password":"p"}`, rotor.EINVALID, []string{`"username" key is missing`}},
		"MissingPassword": {builtin.SingleUser{Engine: my}, `{"engine":"mysql","host":"h","username":"u"}`, rotor.EINVALID, []string{`"password" key is missing`}},
		"BadPort": {builtin.SingleUser{Engine: pg}, `{"engine":"postgres","host":"h","username":"u","password":"p","port":"x"}`,
			rotor.EINVALID, []string{`"port"`}},
		"PortOutOfRange": {builtin.SingleUser{Engine: pg}, `{"engine":"postgres","host":"h","username":"u","password":"p","port":70000}`,
			rotor.EINVALID, []string{`"port"`}},
		"HostNotString": {builtin.SingleUser{Engine: pg}, `{"engine":"postgres","host":5,"username":"u","password":"p"}`,
			rotor.EINVALID, []string{`"host" must be a string`}},
		"BadSSLMode": {builtin.SingleUser{Engine: pg}, `{"engine":"postgres","host":"h","username":"u","password":"p","rotor:sslmode":"allow"}`,
			rotor.EINVALID, []string{`"rotor:sslmode"`}},
		"BadCA": {builtin.SingleUser{Engine: pg}, `{"engine":"postgres","host":"h","username":"u","password":"p","rotor:ssl_ca":"nope"}`,
			rotor.EINVALID, []string{`"rotor:ssl_ca"`}},
		"MissingMasterARN": {builtin.AlternatingUsers{Engine: pg}, `{"engine":"postgres","host":"h","username":"u","password":"p"}`,
			rotor.EINVALID, []string{`"masterarn" key is missing`}},
		// 58 bytes + "_clone" = 64 > 63.
		"CloneNameTooLongPostgres": {builtin.AlternatingUsers{Engine: pg},
			`{"engine":"postgres","host":"h","username":"` + strings.Repeat("a", 58) + `","password":"p","masterarn":"m"}`,
			rotor.EINVALID, []string{"64 long", "at most 63"}},
		// PostgreSQL counts bytes: 29 two-byte characters + "_clone" = 64 bytes.
		"CloneNameTooLongPostgresBytes": {builtin.AlternatingUsers{Engine: pg},
			`{"engine":"postgres","host":"h","username":"` + strings.Repeat("é", 29) + `","password":"p","masterarn":"m"}`,
			rotor.EINVALID, []string{"64 long"}},
		"CloneNameTooLongMySQL": {builtin.AlternatingUsers{Engine: my},
			`{"engine":"mysql","host":"h","username":"` + strings.Repeat("a", 27) + `","password":"p","masterarn":"m"}`,
			rotor.EINVALID, []string{"33 long", "at most 32"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tt.s.Generate(context.Background(), tt.current, pw("secret-pw"))
			if got := rotor.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			for _, c := range tt.contains {
				if !strings.Contains(rotor.ErrorMessage(err), c) {
					t.Errorf("message %q does not contain %q", rotor.ErrorMessage(err), c)
				}
			}
		})
	}
}

func TestGenerateUsernameAtLimit(t *testing.T) {
	tests := map[string]struct {
		e    builtin.Engine
		user string
	}{
		"Postgres57Bytes":  {postgres.Engine(), strings.Repeat("a", 57)},
		"PostgresMultiple": {postgres.Engine(), strings.Repeat("é", 28) + "a"},
		"MySQL26":          {mysql.MySQL(), strings.Repeat("ü", 26)}, // characters, not bytes
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			e := offline(t, tt.e)
			cur := `{"engine":"` + e.Engines[0] + `","host":"h","username":"` + tt.user + `","password":"p","masterarn":"m"}`
			got, err := builtin.AlternatingUsers{Engine: e}.Generate(context.Background(), cur, pw("x"))
			if err != nil {
				t.Fatal(err)
			}
			if u := decode(t, got)["username"]; u != tt.user+"_clone" {
				t.Errorf("username = %v", u)
			}
		})
	}
}

func TestGeneratePasswordError(t *testing.T) {
	s := builtin.SingleUser{Engine: offline(t, postgres.Engine())}
	_, err := s.Generate(context.Background(), `{"engine":"postgres","host":"h","username":"u","password":"p"}`,
		func(context.Context) (string, error) { return "", rotor.Errorf(rotor.EINVALID, "bad spec") })
	if rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(rotor.ErrorMessage(err), "bad spec") {
		t.Fatalf("err = %v", err)
	}
}

// TestSetRefusesConfusedDeputy: a tampered AWSPENDING that names another
// server or user is refused before anything is dialled.
func TestSetRefusesConfusedDeputy(t *testing.T) {
	pg := offline(t, postgres.Engine())
	rd := offline(t, redis.Engine())
	cur := `{"engine":"postgres","host":"db","port":5432,"username":"app","password":"old","masterarn":"m"}`
	tests := map[string]struct {
		s        builtin.Strategy
		current  string
		pending  string
		contains string
	}{
		"SingleOtherHost": {builtin.SingleUser{Engine: pg}, cur,
			`{"engine":"postgres","host":"evil","port":5432,"username":"app","password":"new"}`, "evil:5432"},
		"SingleOtherPort": {builtin.SingleUser{Engine: pg}, cur,
			`{"engine":"postgres","host":"db","port":5433,"username":"app","password":"new"}`, "db:5433"},
		"SingleOtherUser": {builtin.SingleUser{Engine: pg}, cur,
			`{"engine":"postgres","host":"db","username":"postgres","password":"new"}`, `"postgres"`},
		"AlternatingOtherUser": {builtin.AlternatingUsers{Engine: pg}, cur,
			`{"engine":"postgres","host":"db","username":"postgres","password":"new","masterarn":"m"}`, `nor its alternate "app_clone"`},
		"AlternatingOtherHost": {builtin.AlternatingUsers{Engine: pg}, cur,
			`{"engine":"postgres","host":"other","username":"app_clone","password":"new","masterarn":"m"}`, "other:5432"},
		"MultiOtherUser": {builtin.MultiCredential{Engine: rd}, `{"engine":"redis","host":"r","username":"app","password":"old"}`,
			`{"engine":"redis","host":"r","username":"default","password":"new"}`, `"default"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := tt.s.Set(context.Background(), builtin.Values{SecretARN: "arn:s", Current: tt.current, Pending: tt.pending})
			if rotor.ErrorCode(err) != rotor.EPRECONDITION {
				t.Fatalf("code = %q (%v), want %q", rotor.ErrorCode(err), err, rotor.EPRECONDITION)
			}
			if !strings.Contains(rotor.ErrorMessage(err), tt.contains) || !strings.Contains(rotor.ErrorMessage(err), "refusing") {
				t.Errorf("message %q does not refuse naming %q", rotor.ErrorMessage(err), tt.contains)
			}
		})
	}
}

func TestSetMissingMasterARN(t *testing.T) {
	a := builtin.AlternatingUsers{Engine: offline(t, postgres.Engine())}
	err := a.Set(context.Background(), builtin.Values{
		Current: `{"engine":"postgres","host":"db","username":"app","password":"old"}`,
		Pending: `{"engine":"postgres","host":"db","username":"app_clone","password":"new"}`,
	})
	if rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(rotor.ErrorMessage(err), `"masterarn" key is missing`) {
		t.Fatalf("err = %v", err)
	}
}

// leaky is a driver whose errors quote the password it was given, as a
// careless driver might. It refuses every login, so the strategies try
// every password they have.
type leaky struct{}

func (leaky) Connect(_ context.Context, c builtin.Conn) (builtin.Session, error) {
	return nil, builtin.Refused(errors.New("login refused for password " + c.Password))
}

func TestErrorsNeverHoldPasswords(t *testing.T) {
	e := postgres.Engine()
	e.Driver = leaky{}
	const curPW, pendPW, prevPW, masterPW = `cur-S3cret"'\`, "pend-S3cret", "prev-S3cret", "master-S3cret"
	v := builtin.Values{
		SecretARN: "arn:s",
		Current:   `{"engine":"postgres","host":"db","username":"app","password":"cur-S3cret\"'\\","masterarn":"m"}`,
		Pending:   `{"engine":"postgres","host":"db","username":"app","password":"` + pendPW + `","masterarn":"m"}`,
		Previous:  `{"engine":"postgres","host":"db","username":"app","password":"` + prevPW + `","masterarn":"m"}`,
		Master:    `{"username":"admin","password":"` + masterPW + `"}`,
	}
	for name, s := range map[string]builtin.Strategy{
		"SingleUser":      builtin.SingleUser{Engine: e},
		"MultiCredential": builtin.MultiCredential{Engine: e},
	} {
		for _, step := range []string{"set", "test"} {
			t.Run(name+"/"+step, func(t *testing.T) {
				var err error
				if step == "set" {
					err = s.Set(context.Background(), v)
				} else {
					err = s.Test(context.Background(), v)
				}
				if err == nil {
					t.Fatal("no error from a driver that refuses every login")
				}
				for _, p := range []string{curPW, pendPW, prevPW, masterPW} {
					if strings.Contains(err.Error(), p) {
						t.Errorf("error %q contains password %q", err, p)
					}
				}
				if !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("error %q does not show where the driver's text was scrubbed", err)
				}
			})
		}
	}
}

func TestPasswordSpecFor(t *testing.T) {
	base := rotor.PasswordSpec{Length: 32, ExcludeCharacters: `/@"'\`, RequireEachIncludedType: true}
	tests := map[string]struct {
		secret string
		want   rotor.PasswordSpec
		code   string
	}{
		"NotJSON":        {"plain text", base, ""},
		"NoKeys":         {`{"password":"x"}`, base, ""},
		"Exclude":        {`{"rotor:exclude_characters":"abc"}`, rotor.PasswordSpec{Length: 32, ExcludeCharacters: "abc", RequireEachIncludedType: true}, ""},
		"Length":         {`{"rotor:password_length":64}`, rotor.PasswordSpec{Length: 64, ExcludeCharacters: `/@"'\`, RequireEachIncludedType: true}, ""},
		"LengthStr":      {`{"rotor:password_length":"20"}`, rotor.PasswordSpec{Length: 20, ExcludeCharacters: `/@"'\`, RequireEachIncludedType: true}, ""},
		"Both":           {`{"rotor:password_length":8,"rotor:exclude_characters":""}`, rotor.PasswordSpec{Length: 8, RequireEachIncludedType: true}, ""},
		"LengthTooLarge": {`{"rotor:password_length":5000}`, base, rotor.EINVALID},
		"LengthZero":     {`{"rotor:password_length":0}`, base, rotor.EINVALID},
		"LengthFraction": {`{"rotor:password_length":1.5}`, base, rotor.EINVALID},
		"ExcludeNumber":  {`{"rotor:exclude_characters":5}`, base, rotor.EINVALID},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := builtin.PasswordSpecFor(base, tt.secret)
			if rotor.ErrorCode(err) != tt.code {
				t.Fatalf("code = %q (%v), want %q", rotor.ErrorCode(err), err, tt.code)
			}
			if tt.code == "" && got != tt.want {
				t.Errorf("spec = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// counting wraps a real driver and counts its logins.
type counting struct {
	builtin.Driver
	mu sync.Mutex
	n  int
}

func (c *counting) Connect(ctx context.Context, conn builtin.Conn) (builtin.Session, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Driver.Connect(ctx, conn)
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// closedPort returns a local TCP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestSetUnreachableTriesOnePassword: when the target cannot be reached,
// setSecret returns the connection error after one login, instead of
// trying the next password (which cannot fix it and would hide the real
// error behind "no credentials log in").
func TestSetUnreachableTriesOnePassword(t *testing.T) {
	port := closedPort(t)
	secret := func(engine, user, pw string) string {
		return fmt.Sprintf(`{"engine":%q,"host":"127.0.0.1","port":%d,"username":%q,"password":%q,"ssl":false,"masterarn":"arn:m"}`, engine, port, user, pw)
	}
	tests := map[string]struct {
		e    builtin.Engine
		s    func(builtin.Engine) builtin.Strategy
		pend string // AWSPENDING's user
		want string // the stage the error names
	}{
		"PostgresSingle":      {postgres.Engine(), func(e builtin.Engine) builtin.Strategy { return builtin.SingleUser{Engine: e} }, "app", "AWSCURRENT"},
		"MariaDBSingle":       {mysql.MariaDB(), func(e builtin.Engine) builtin.Strategy { return builtin.SingleUser{Engine: e} }, "app", "AWSCURRENT"},
		"RedisSingle":         {redis.Engine(), func(e builtin.Engine) builtin.Strategy { return builtin.SingleUser{Engine: e} }, "app", "AWSCURRENT"},
		"RedisMulti":          {redis.Engine(), func(e builtin.Engine) builtin.Strategy { return builtin.MultiCredential{Engine: e} }, "app", "AWSCURRENT"},
		"PostgresAlternating": {postgres.Engine(), func(e builtin.Engine) builtin.Strategy { return builtin.AlternatingUsers{Engine: e} }, "app_clone", "AWSPENDING"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			d := &counting{Driver: tt.e.Driver}
			e := tt.e
			e.Driver = d
			engine := e.Engines[0]
			err := tt.s(e).Set(context.Background(), builtin.Values{
				SecretARN: "arn:s",
				Current:   secret(engine, "app", "cur-pw"),
				Pending:   secret(engine, tt.pend, "pend-pw"),
				Previous:  secret(engine, "app", "prev-pw"),
				Master:    `{"username":"admin","password":"master-pw"}`,
			})
			if err == nil {
				t.Fatal("setSecret succeeded against a closed port")
			}
			if n := d.count(); n != 1 {
				t.Errorf("setSecret logged in %d times, want 1: a connection error must not move on to another password (error: %v)", n, err)
			}
			msg := rotor.ErrorMessage(err)
			if !strings.Contains(msg, "with the "+tt.want+" secret") || !strings.Contains(msg, "refused") {
				t.Errorf("error %q should name %s and the connection error", msg, tt.want)
			}
			for _, p := range []string{"cur-pw", "pend-pw", "prev-pw", "master-pw"} {
				if strings.Contains(msg, p) {
					t.Errorf("error %q holds password %q", msg, p)
				}
			}
		})
	}
}

func TestRefused(t *testing.T) {
	base := errors.New("password authentication failed")
	err := fmt.Errorf("connect: %w", builtin.Refused(base))
	if !builtin.IsLoginRefused(err) || !errors.Is(err, base) || err.Error() != "connect: password authentication failed" {
		t.Errorf("Refused(%v) wrapped = %v: refused %v, unwraps %v", base, err, builtin.IsLoginRefused(err), errors.Is(err, base))
	}
	if builtin.IsLoginRefused(base) || builtin.IsLoginRefused(nil) || builtin.Refused(nil) != nil {
		t.Error("an unmarked error or nil counts as refused")
	}
}
