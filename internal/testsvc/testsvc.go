// Package testsvc finds what Rotor's tests need from the machine: the
// PostgreSQL, MySQL/MariaDB and Redis test servers, programs on PATH,
// Python modules, the JavaScript test dependencies, root and a second user.
//
// A test that needs something missing fails, naming what is missing and how
// to get it (scripts/services starts the servers), unless the opt-out
// variable ROTOR_TEST_SKIP names it: then the test is skipped and says why.
// ROTOR_TEST_SKIP is a comma-separated list of Names, e.g.
// ROTOR_TEST_SKIP=mysql,node. A name in it that is not one of Names fails
// every test that asks, so a typo never skips silently. Something present is
// used whether or not ROTOR_TEST_SKIP names it.
//
// Each check runs once per test process; its result is shared.
package testsvc

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SkipEnv is the opt-out variable.
const SkipEnv = "ROTOR_TEST_SKIP"

// The names ROTOR_TEST_SKIP accepts.
const (
	NamePostgres = "postgres" // the PostgreSQL test server
	NameMySQL    = "mysql"    // the MySQL/MariaDB test server
	NameRedis    = "redis"    // the Redis test server and redis-server on PATH
	NamePython   = "python"   // python3 on PATH with the modules a test imports
	NameNode     = "node"     // node on PATH and test/js's npm dependencies
	NameAWS      = "aws"      // the AWS CLI on PATH
	NameRoot     = "root"     // running as root, with a user to switch to
	NameSystemd  = "systemd"  // systemd-analyze on PATH (checks the packaged unit)
	NameZsh      = "zsh"      // zsh on PATH (the completion script's test)
	NameChromium = "chromium" // Debian's chromium on PATH, for the web console's browser tests
)

// Names are the names ROTOR_TEST_SKIP accepts.
var Names = []string{NamePostgres, NameMySQL, NameRedis, NamePython, NameNode, NameAWS, NameRoot, NameSystemd, NameZsh, NameChromium}

// Variables naming the test servers, and their defaults (where
// scripts/services runs them).
const (
	PostgresEnv = "ROTOR_TEST_POSTGRES_URL"
	MySQLEnv    = "ROTOR_TEST_MYSQL_URL"
	RedisEnv    = "ROTOR_TEST_REDIS_URL"

	PostgresDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	MySQLDefault    = "mysql://root@127.0.0.1:3306/"
	RedisDefault    = "redis://127.0.0.1:6379/0"
)

const startHint = "run scripts/services (as root) to install and start the test servers"

// Postgres returns the URL of the PostgreSQL test server, a superuser's:
// $ROTOR_TEST_POSTGRES_URL or PostgresDefault.
func Postgres(t testing.TB) *url.URL {
	t.Helper()
	return service(t, NamePostgres, "PostgreSQL", PostgresEnv, PostgresDefault)
}

// MySQL returns the URL of the MySQL or MariaDB test server, an
// administrator's: $ROTOR_TEST_MYSQL_URL or MySQLDefault.
func MySQL(t testing.TB) *url.URL {
	t.Helper()
	return service(t, NameMySQL, "MySQL/MariaDB", MySQLEnv, MySQLDefault)
}

// Redis returns the URL of the Redis test server, as its default user:
// $ROTOR_TEST_REDIS_URL or RedisDefault.
func Redis(t testing.TB) *url.URL {
	t.Helper()
	return service(t, NameRedis, "Redis", RedisEnv, RedisDefault)
}

// commands maps the programs Command knows to the name that opts out of
// them and how to get them.
var commands = map[string]struct{ name, how string }{
	"redis-server":    {NameRedis, "apt-get install redis-server (scripts/services does it)"},
	"python3":         {NamePython, "install Python 3"},
	"node":            {NameNode, "install Node.js 18+ (apt-get install nodejs npm)"},
	"aws":             {NameAWS, "install the AWS CLI (apt-get install awscli, or pip install awscli)"},
	"systemd-analyze": {NameSystemd, "apt-get install systemd (scripts/services does it)"},
	"zsh":             {NameZsh, "apt-get install zsh (scripts/services does it)"},
	"chromium":        {NameChromium, "apt-get install chromium (scripts/services does it)"},
}

// Command returns the path of program prog on PATH. prog must be one of
// redis-server, python3, node, aws, systemd-analyze, zsh and chromium.
func Command(t testing.TB, prog string) string {
	t.Helper()
	c, ok := commands[prog]
	if !ok {
		t.Fatalf("testsvc: Command(%q): unknown program", prog)
	}
	r := once("command "+prog, func() (string, error) {
		p, err := exec.LookPath(prog)
		if err != nil {
			return "", fmt.Errorf("%s is not on PATH; %s", prog, c.how)
		}
		return p, nil
	})
	return r.get(t, c.name)
}

// Python returns the absolute path of the interpreter python3 on PATH runs
// (past any pyenv shim), after checking that it imports modules.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	py := Command(t, "python3")
	imports := strings.Join(append([]string{"sys"}, modules...), ", ")
	r := once("python "+imports, func() (string, error) {
		out, err := exec.Command(py, "-c", "import "+imports+"; print(sys.executable)").CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s cannot import %s (%v: %s); pip install %s",
				py, imports, err, strings.TrimSpace(string(out)), strings.Join(modules, " "))
		}
		p := strings.TrimSpace(string(out))
		if !filepath.IsAbs(p) {
			return "", fmt.Errorf("%s: sys.executable = %q is not absolute", py, p)
		}
		return p, nil
	})
	return r.get(t, NamePython)
}

// Node returns the path of node, after checking that the npm packages
// exist in dir/node_modules (npm ci in dir installs them).
func Node(t testing.TB, dir string, packages ...string) string {
	t.Helper()
	node := Command(t, "node")
	r := once("node "+dir+" "+strings.Join(packages, " "), func() (string, error) {
		for _, p := range packages {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", p)); err != nil {
				return "", fmt.Errorf("npm package %s is not installed in %s; run `npm ci` there (scripts/test does it)", p, dir)
			}
		}
		return node, nil
	})
	return r.get(t, NameNode)
}

// Root checks that the test runs as root (to switch to another user).
func Root(t testing.TB) {
	t.Helper()
	r := once("root", func() (string, error) {
		if os.Geteuid() != 0 {
			return "", fmt.Errorf("the test runs as uid %d; switching to another user needs root", os.Geteuid())
		}
		return "", nil
	})
	r.get(t, NameRoot)
}

// User returns the account name, which tests that run as root switch to.
// scripts/services makes sure that the user nobody exists.
func User(t testing.TB, name string) *user.User {
	t.Helper()
	r := once("user "+name, func() (string, error) {
		if _, err := user.Lookup(name); err != nil {
			return "", fmt.Errorf("no user %s on this machine (%v); %s", name, err, startHint)
		}
		return name, nil
	})
	r.get(t, NameRoot)
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("testsvc: look up user %s: %v", name, err)
	}
	return u
}

// service returns the URL in env (or def) after checking, once per
// process, that its host accepts TCP connections.
func service(t testing.TB, name, what, env, def string) *url.URL {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("testsvc: %s=%q is not a URL with a host", env, raw)
	}
	r := once("dial "+u.Host, func() (string, error) {
		c, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
		if err != nil {
			return "", fmt.Errorf("the %s test server %s is unreachable (%v); %s, or set %s to a running server",
				what, u.Redacted(), err, startHint, env)
		}
		c.Close()
		return "", nil
	})
	r.get(t, name)
	return u
}

// result is the outcome of one check.
type result struct {
	value string
	err   error
}

// get returns the value, or fails t naming the problem unless
// ROTOR_TEST_SKIP names name, in which case it skips t.
func (r result) get(t testing.TB, name string) string {
	t.Helper()
	if bad := unknownNames(os.Getenv(SkipEnv)); len(bad) > 0 {
		t.Fatalf("testsvc: %s=%q names %s; it takes a comma-separated list of %s",
			SkipEnv, os.Getenv(SkipEnv), strings.Join(bad, ", "), strings.Join(Names, ", "))
	}
	if r.err == nil {
		return r.value
	}
	if optedOut(os.Getenv(SkipEnv), name) {
		t.Skipf("skipped (%s names %s): %v", SkipEnv, name, r.err)
	}
	t.Fatalf("%v (to skip the tests that need it instead, set %s=%s)", r.err, SkipEnv, name)
	return ""
}

var (
	mu      sync.Mutex
	checked = map[string]result{}
)

// once runs check the first time key is asked for and remembers the result.
func once(key string, check func() (string, error)) result {
	mu.Lock()
	defer mu.Unlock()
	r, ok := checked[key]
	if !ok {
		r.value, r.err = check()
		checked[key] = r
	}
	return r
}

// optedOut reports whether the ROTOR_TEST_SKIP value v names name.
func optedOut(v, name string) bool {
	return slices.Contains(splitNames(v), name)
}

// unknownNames returns the names in the ROTOR_TEST_SKIP value v that are not
// in Names.
func unknownNames(v string) []string {
	var bad []string
	for _, n := range splitNames(v) {
		if !slices.Contains(Names, n) {
			bad = append(bad, strconv.Quote(n))
		}
	}
	return bad
}

func splitNames(v string) []string {
	var out []string
	for n := range strings.SplitSeq(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
