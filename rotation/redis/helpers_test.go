package redis_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
)

// server is the test Redis server and a connection as the user of the
// URL (the default user), which the tests never change.
type server struct {
	addr  string
	host  string
	port  int
	admin *goredis.Client
}

func newServer(t *testing.T) *server {
	t.Helper()
	u := testsvc.Redis(t)
	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	opt.Protocol = 2
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	host, port := builtintest.HostPort(t, u)
	return &server{addr: u.Host, host: host, port: port, admin: c}
}

// createUser creates an ACL user with one password and rules, and deletes
// it when the test ends.
func (s *server) createUser(t *testing.T, name, password string, rules ...string) {
	t.Helper()
	args := []any{"ACL", "SETUSER", name, "reset", "on", ">" + password}
	for _, r := range rules {
		args = append(args, r)
	}
	if err := s.admin.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("create user %q: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.admin.Do(context.Background(), "ACL", "DELUSER", name).Err(); err != nil {
			t.Errorf("delete user %q: %v", name, err)
		}
	})
}

// Rules for test users: may connect; may change users (and itself) when
// admin is true.
var (
	plainRules = []string{"+@connection", "+acl|whoami"}
	adminRules = []string{"+@connection", "+acl|whoami", "+acl|setuser", "+config|get", "+acl|save"}
)

func (s *server) login(user, password string) (string, error) {
	c := goredis.NewClient(&goredis.Options{Addr: s.addr, Username: user, Password: password, Protocol: 2,
		MaxRetries: -1, DialTimeout: 5 * time.Second, DisableIdentity: true})
	defer c.Close()
	return c.Do(context.Background(), "ACL", "WHOAMI").Text()
}

// mustLogIn proves a wrong password is refused for user, then that
// password logs in, and that the server says the session is user's.
func (s *server) mustLogIn(t *testing.T, user, password string) {
	t.Helper()
	s.mustRefuse(t, user, password+"-wrong")
	who, err := s.login(user, password)
	if err != nil {
		t.Fatalf("log in as %q: %v", user, err)
	}
	if who != user {
		t.Fatalf("logged in as %q, want %q", who, user)
	}
}

func (s *server) mustRefuse(t *testing.T, user, password string) {
	t.Helper()
	_, err := s.login(user, password)
	if err == nil {
		t.Fatalf("%q logged in with a wrong password", user)
	}
	if !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("log in as %q with a wrong password: %v, want WRONGPASS", user, err)
	}
}

// passwords counts the passwords user holds.
func (s *server) passwords(t *testing.T, user string) int {
	t.Helper()
	res, err := s.admin.Do(context.Background(), "ACL", "GETUSER", user).Slice()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(res); i += 2 {
		if res[i] == "passwords" {
			ps, _ := res[i+1].([]any)
			return len(ps)
		}
	}
	t.Fatalf("ACL GETUSER %s has no passwords field: %v", user, res)
	return 0
}

func secretJSON(host string, port int, user, password string, extra map[string]any) string {
	m := map[string]any{"engine": "redis", "host": host, "port": port, "username": user, "password": password}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

type creds struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func parseCreds(t *testing.T, s string) creds {
	t.Helper()
	var c creds
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.Username == "" {
		t.Fatalf("secret %q has no credentials: %v", s, err)
	}
	return c
}
