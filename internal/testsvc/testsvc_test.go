package testsvc

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a check ended instead of
// ending the test that runs it.
type recorder struct {
	testing.TB
	ended   string // "fatal", "skip" or "" (returned)
	message string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.ended, r.message = "fatal", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.ended, r.message = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls check with a recorder on a goroutine of its own (Fatalf and
// Skipf end it) and returns the recorder.
func run(check func(testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r
}

// fresh forgets earlier checks so that each case checks again.
func fresh(t *testing.T) {
	mu.Lock()
	clear(checked)
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		clear(checked)
		mu.Unlock()
	})
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestMissingServiceFails(t *testing.T) {
	fresh(t)
	t.Setenv(RedisEnv, "redis://"+closedAddr(t)+"/0")
	t.Setenv(SkipEnv, "")
	r := run(func(tb testing.TB) { Redis(tb) })
	if r.ended != "fatal" {
		t.Fatalf("a missing Redis ended the test with %q (%s), want a failure", r.ended, r.message)
	}
	for _, want := range []string{"Redis", RedisEnv, "scripts/services", SkipEnv + "=redis"} {
		if !strings.Contains(r.message, want) {
			t.Errorf("failure %q does not mention %q", r.message, want)
		}
	}
}

func TestMissingServiceSkipsWhenOptedOut(t *testing.T) {
	fresh(t)
	t.Setenv(PostgresEnv, "postgres://postgres@"+closedAddr(t)+"/postgres")
	t.Setenv(SkipEnv, "mysql, postgres")
	r := run(func(tb testing.TB) { Postgres(tb) })
	if r.ended != "skip" || !strings.Contains(r.message, "PostgreSQL") || !strings.Contains(r.message, SkipEnv+" names postgres") {
		t.Fatalf("ended %q with %q, want a skip that names PostgreSQL and %s", r.ended, r.message, SkipEnv)
	}
	// Opting out of another service does not skip this one.
	fresh(t)
	t.Setenv(SkipEnv, "mysql")
	if r := run(func(tb testing.TB) { Postgres(tb) }); r.ended != "fatal" {
		t.Errorf("ROTOR_TEST_SKIP=mysql and PostgreSQL missing: ended %q, want a failure", r.ended)
	}
}

func TestUnknownOptOutFails(t *testing.T) {
	fresh(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv(MySQLEnv, "mysql://root@"+l.Addr().String()+"/")
	t.Setenv(SkipEnv, "postgress")
	r := run(func(tb testing.TB) { MySQL(tb) })
	if r.ended != "fatal" || !strings.Contains(r.message, `"postgress"`) {
		t.Fatalf("ended %q with %q, want a failure naming the unknown name", r.ended, r.message)
	}
}

func TestPresentServiceIsUsedEvenWhenOptedOut(t *testing.T) {
	fresh(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv(MySQLEnv, "mysql://root@"+l.Addr().String()+"/")
	t.Setenv(SkipEnv, "mysql")
	var host string
	r := run(func(tb testing.TB) { host = MySQL(tb).Host })
	if r.ended != "" || host != l.Addr().String() {
		t.Fatalf("ended %q (%s), host %q; want the URL of the listening server", r.ended, r.message, host)
	}
}

func TestMissingCommandFails(t *testing.T) {
	fresh(t)
	t.Setenv("PATH", t.TempDir())
	t.Setenv(SkipEnv, "")
	r := run(func(tb testing.TB) { Command(tb, "redis-server") })
	if r.ended != "fatal" || !strings.Contains(r.message, "redis-server is not on PATH") || !strings.Contains(r.message, SkipEnv+"=redis") {
		t.Fatalf("ended %q with %q, want a failure naming redis-server and %s=redis", r.ended, r.message, SkipEnv)
	}
	fresh(t)
	t.Setenv(SkipEnv, "redis")
	if r := run(func(tb testing.TB) { Command(tb, "redis-server") }); r.ended != "skip" {
		t.Errorf("opted out: ended %q (%s), want a skip", r.ended, r.message)
	}
}

func TestMissingUserFails(t *testing.T) {
	fresh(t)
	t.Setenv(SkipEnv, "")
	r := run(func(tb testing.TB) { User(tb, "rotor-no-such-user") })
	if r.ended != "fatal" || !strings.Contains(r.message, "no user rotor-no-such-user") {
		t.Fatalf("ended %q with %q, want a failure naming the user", r.ended, r.message)
	}
}

func TestMissingPythonModuleFails(t *testing.T) {
	fresh(t)
	t.Setenv(SkipEnv, "")
	r := run(func(tb testing.TB) { Python(tb, "rotor_no_such_module") })
	if r.ended != "fatal" || !strings.Contains(r.message, "rotor_no_such_module") {
		t.Fatalf("ended %q with %q, want a failure naming the module", r.ended, r.message)
	}
}
