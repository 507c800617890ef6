package redis_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/redis"
)

var hostile = []string{
	`it's "quoted" \ back; FLUSHALL`,
	"ünï©ødé ✓ 名前 with spaces\tand\r\nnewlines",
	">not-a-rule <nor-this",
}

func function(env *builtintest.Env, s builtin.Strategy) *builtin.Function {
	return &builtin.Function{Secrets: env.Secrets, Strategy: s, Password: redis.Engine().Password}
}

func TestDriverHostile(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	user := `o'b"r\` + builtintest.Unique("")
	s.createUser(t, user, "initial", adminRules...)
	prev := "initial"
	for _, pw := range hostile {
		sess, err := redis.Driver{}.Connect(ctx, builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: prev})
		if err != nil {
			t.Fatal(err)
		}
		if who, err := sess.WhoAmI(ctx); err != nil || who != user {
			t.Fatalf("WhoAmI = %q, %v", who, err)
		}
		err = sess.ChangeOwnPassword(ctx, pw)
		sess.Close()
		if err != nil {
			t.Fatal(err)
		}
		s.mustLogIn(t, user, pw)
		s.mustRefuse(t, user, prev)
		if n := s.passwords(t, user); n != 1 {
			t.Errorf("user has %d passwords after ChangeOwnPassword, want 1", n)
		}
		prev = pw
	}
	// SetPasswords keeps exactly what it is told to.
	sess, err := redis.Driver{}.Connect(ctx, builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: prev})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.(builtin.MultiPassword).SetPasswords(ctx, user, []string{hostile[0]}, hostile[1]); err != nil {
		t.Fatal(err)
	}
	s.mustLogIn(t, user, hostile[0])
	s.mustLogIn(t, user, hostile[1])
	s.mustRefuse(t, user, prev)
}

// TestWhoAmIWithoutPermission: a user that may not run ACL WHOAMI is the
// user it authenticated as.
// TestConnectClassifiesRefusal: a wrong password, an unknown or disabled
// user is a refused login (builtin.IsLoginRefused), so the strategies try
// the next password; an unreachable server is not.
func TestConnectClassifiesRefusal(t *testing.T) {
	s := newServer(t)
	user := builtintest.Unique("rotor_test_class_")
	s.createUser(t, user, "right-pw", plainRules...)
	disabled := builtintest.Unique("rotor_test_off_")
	s.createUser(t, disabled, "right-pw", plainRules...)
	if err := s.admin.Do(context.Background(), "ACL", "SETUSER", disabled, "off").Err(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		c       builtin.Conn
		refused bool
	}{
		"WrongPassword": {builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: "wrong-pw"}, true},
		"UnknownUser":   {builtin.Conn{Host: s.host, Port: s.port, Username: user + "_x", Password: "right-pw"}, true},
		"DisabledUser":  {builtin.Conn{Host: s.host, Port: s.port, Username: disabled, Password: "right-pw"}, true},
		"ClosedPort":    {builtin.Conn{Host: "127.0.0.1", Port: freePort(t), Username: user, Password: "right-pw"}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sess, err := redis.Driver{}.Connect(context.Background(), tt.c)
			if err == nil {
				sess.Close()
				t.Fatal("Connect succeeded")
			}
			if got := builtin.IsLoginRefused(err); got != tt.refused {
				t.Errorf("IsLoginRefused(%v) = %v, want %v", err, got, tt.refused)
			}
		})
	}
}

func TestWhoAmIWithoutPermission(t *testing.T) {
	s := newServer(t)
	user := builtintest.Unique("rotor_test_noacl_")
	s.createUser(t, user, "pw", "+@connection")
	sess, err := redis.Driver{}.Connect(context.Background(), builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if who, err := sess.WhoAmI(context.Background()); err != nil || who != user {
		t.Errorf("WhoAmI = %q, %v; want %q", who, err, user)
	}
}

func TestSingleUserRotations(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	user := builtintest.Unique("rotor_test_single_")
	s.createUser(t, user, hostile[1], adminRules...)
	arn := env.CreateSecret(t, builtintest.Unique("redis-single-"), secretJSON(s.host, s.port, user, hostile[1], nil))
	fn := function(env, builtin.SingleUser{Engine: redis.Engine()})
	old := hostile[1]
	for i := range 3 {
		env.Rotate(t, fn, arn)
		cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
		if cur.Password == old {
			t.Fatalf("rotation %d: password unchanged", i)
		}
		s.mustLogIn(t, user, cur.Password)
		s.mustRefuse(t, user, old)
		if n := s.passwords(t, user); n != 1 {
			t.Errorf("rotation %d: %d passwords, want 1", i, n)
		}
		old = cur.Password
	}
}

// TestMultiCredentialRotations, by the user itself and by an
// administrator: after each rotation AWSCURRENT and AWSPREVIOUS log in, the
// password before them does not, and the user holds exactly two.
func TestMultiCredentialRotations(t *testing.T) {
	for _, withMaster := range []bool{false, true} {
		t.Run("master="+strconv.FormatBool(withMaster), func(t *testing.T) {
			s := newServer(t)
			env := builtintest.NewEnv(t)
			user := builtintest.Unique("rotor_test_multi_")
			extra := map[string]any{}
			if withMaster {
				s.createUser(t, user, "initial-pw", plainRules...)
				admin := builtintest.Unique("rotor_test_admin_")
				s.createUser(t, admin, "admin-pw", adminRules...)
				extra["masterarn"] = env.CreateSecret(t, builtintest.Unique("redis-master-"), secretJSON(s.host, s.port, admin, "admin-pw", nil))
			} else {
				s.createUser(t, user, "initial-pw", adminRules...)
			}
			arn := env.CreateSecret(t, builtintest.Unique("redis-multi-"), secretJSON(s.host, s.port, user, "initial-pw", extra))
			fn := function(env, builtin.MultiCredential{Engine: redis.Engine()})
			var history []string
			history = append(history, "initial-pw")
			for i := range 4 {
				env.Rotate(t, fn, arn)
				cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
				prev := parseCreds(t, env.Value(t, arn, rotor.StagePrevious))
				history = append(history, cur.Password)
				if prev.Password != history[len(history)-2] {
					t.Fatalf("rotation %d: AWSPREVIOUS is not the previous password", i)
				}
				s.mustLogIn(t, user, cur.Password)
				s.mustLogIn(t, user, prev.Password)
				if len(history) >= 3 {
					s.mustRefuse(t, user, history[len(history)-3])
				}
				if n := s.passwords(t, user); n != 2 {
					t.Errorf("rotation %d: user holds %d passwords, want 2", i, n)
				}
			}
		})
	}
}

// TestMultiCredentialWithoutPermission: a user that may not change users,
// without a master secret, gets a clear error and keeps its password.
func TestMultiCredentialWithoutPermission(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	user := builtintest.Unique("rotor_test_noperm_")
	s.createUser(t, user, "initial-pw", plainRules...)
	arn := env.CreateSecret(t, builtintest.Unique("redis-noperm-"), secretJSON(s.host, s.port, user, "initial-pw", nil))
	fn := function(env, builtin.MultiCredential{Engine: redis.Engine()})
	token := env.StartRotation(t, arn)
	err := env.Steps(fn, arn, token, rotor.Steps...)
	if err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("rotation by a user without ACL permissions = %v, want a NOPERM failure", err)
	}
	t.Logf("error: %v", err)
	s.mustLogIn(t, user, "initial-pw")
	if n := s.passwords(t, user); n != 1 {
		t.Errorf("user holds %d passwords after a refused change, want 1", n)
	}
}

func TestMultiCredentialWrongMasterThenFixed(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	user := builtintest.Unique("rotor_test_badm_")
	s.createUser(t, user, "initial-pw", plainRules...)
	admin := builtintest.Unique("rotor_test_admin_")
	s.createUser(t, admin, "admin-pw", adminRules...)
	master := env.CreateSecret(t, builtintest.Unique("redis-master-"), secretJSON(s.host, s.port, admin, "wrong-admin-pw", nil))
	arn := env.CreateSecret(t, builtintest.Unique("redis-badm-"), secretJSON(s.host, s.port, user, "initial-pw", map[string]any{"masterarn": master}))
	fn := function(env, builtin.MultiCredential{Engine: redis.Engine()})
	token := env.StartRotation(t, arn)
	err := env.Steps(fn, arn, token, rotor.Steps...)
	if err == nil || !strings.Contains(err.Error(), "administrator") || strings.Contains(err.Error(), "wrong-admin-pw") {
		t.Fatalf("rotation with a wrong master password = %v, want an error about the administrator without its password", err)
	}
	t.Logf("error: %v", err)
	env.PutCurrent(t, master, secretJSON(s.host, s.port, admin, "admin-pw", nil))
	if err := env.Steps(fn, arn, token, rotor.Steps...); err != nil {
		t.Fatalf("retry after fixing the master secret: %v", err)
	}
	s.mustLogIn(t, user, parseCreds(t, env.Value(t, arn, rotor.StageCurrent)).Password)
	s.mustLogIn(t, user, "initial-pw")
}

func TestUnreachableMidRun(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	p := builtintest.NewProxy(t, s.addr, nil)
	user := builtintest.Unique("rotor_test_cut_")
	s.createUser(t, user, "initial-pw", adminRules...)
	arn := env.CreateSecret(t, builtintest.Unique("redis-cut-"), secretJSON(p.Host(), p.Port(), user, "initial-pw", nil))
	fn := function(env, builtin.MultiCredential{Engine: redis.Engine()})
	for round, failing := range []string{rotor.StepSet, rotor.StepTest} {
		token := env.StartRotation(t, arn)
		steps := []string{rotor.StepCreate}
		if failing == rotor.StepTest {
			steps = append(steps, rotor.StepSet)
		}
		if err := env.Steps(fn, arn, token, steps...); err != nil {
			t.Fatal(err)
		}
		pending := parseCreds(t, env.Value(t, arn, rotor.StagePending))
		p.Cut()
		err := env.Step(fn, arn, token, failing)
		if err == nil {
			t.Fatalf("round %d: %s succeeded with the server cut off", round, failing)
		}
		t.Logf("round %d: %s error: %v", round, failing, err)
		if !strings.Contains(err.Error(), "unable to log in") || strings.Contains(err.Error(), pending.Password) {
			t.Errorf("round %d: error %q should say it cannot log in, without the password", round, err)
		}
		p.Restore()
		if err := env.Steps(fn, arn, token, rotor.Steps...); err != nil {
			t.Fatalf("round %d: retry: %v", round, err)
		}
		env.FinishRotation(t, arn)
		s.mustLogIn(t, user, parseCreds(t, env.Value(t, arn, rotor.StageCurrent)).Password)
		s.mustLogIn(t, user, parseCreds(t, env.Value(t, arn, rotor.StagePrevious)).Password)
	}
}

// TestTLS rotates through a TLS endpoint in front of the server: verified
// with the secret's own CA, refused without it.
func TestTLS(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	caPEM, serverTLS := builtintest.NewCA(t)
	p := builtintest.NewProxy(t, s.addr, &builtintest.ProxyTLS{Config: serverTLS})
	user := builtintest.Unique("rotor_test_tls_")
	s.createUser(t, user, "initial-pw", adminRules...)
	fn := function(env, builtin.MultiCredential{Engine: redis.Engine()})

	bad := env.CreateSecret(t, builtintest.Unique("redis-tls-"), secretJSON(p.Host(), p.Port(), user, "initial-pw", map[string]any{"ssl": true}))
	token := env.StartRotation(t, bad)
	if err := env.Steps(fn, bad, token, rotor.Steps...); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("rotation over TLS with an unknown CA = %v, want a certificate error", err)
	}

	arn := env.CreateSecret(t, builtintest.Unique("redis-tls-"), secretJSON(p.Host(), p.Port(), user, "initial-pw", map[string]any{"ssl": true, "rotor:ssl_ca": caPEM}))
	env.Rotate(t, fn, arn)
	cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
	s.mustLogIn(t, user, cur.Password)

	// The driver spoke TLS: a plaintext client cannot use that endpoint.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	sess, err := redis.Driver{}.Connect(context.Background(), builtin.Conn{Host: p.Host(), Port: p.Port(), Username: user, Password: cur.Password,
		TLS: &tls.Config{ServerName: p.Host(), RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	sess.Close()
	if _, err := (redis.Driver{}).Connect(context.Background(), builtin.Conn{Host: p.Host(), Port: p.Port(), Username: user, Password: cur.Password}); err == nil {
		t.Error("a plaintext connection went through the TLS endpoint")
	}
}

// TestACLFilePersisted runs a private redis-server with an ACL file and
// checks that every rotation is saved to it.
func TestACLFilePersisted(t *testing.T) {
	bin := testsvc.Command(t, "redis-server")
	dir := t.TempDir()
	aclFile := filepath.Join(dir, "users.acl")
	if err := os.WriteFile(aclFile, []byte("user default on nopass ~* &* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--aclfile", aclFile, "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	admin := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), Protocol: 2})
	defer admin.Close()
	deadline := time.Now().Add(10 * time.Second)
	for admin.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("private redis-server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	user := "app"
	if err := admin.Do(context.Background(), append([]any{"ACL", "SETUSER", user, "on", ">initial-pw"}, toAny(adminRules)...)...).Err(); err != nil {
		t.Fatal(err)
	}
	env := builtintest.NewEnv(t)
	arn := env.CreateSecret(t, "redis-aclfile", secretJSON("127.0.0.1", port, user, "initial-pw", nil))
	fn := function(env, builtin.MultiCredential{Engine: redis.Engine()})
	for range 2 {
		env.Rotate(t, fn, arn)
		// Reloading the file proves it holds the new passwords.
		if err := admin.Do(context.Background(), "ACL", "LOAD").Err(); err != nil {
			t.Fatal(err)
		}
		for _, stage := range []string{rotor.StageCurrent, rotor.StagePrevious} {
			c := parseCreds(t, env.Value(t, arn, stage))
			cl := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), Username: user, Password: c.Password, Protocol: 2, MaxRetries: -1})
			err := cl.Ping(context.Background()).Err()
			cl.Close()
			if err != nil {
				t.Errorf("%s does not log in after ACL LOAD: %v", stage, err)
			}
		}
	}
	data, err := os.ReadFile(aclFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "initial-pw") || !strings.Contains(string(data), "user app on") {
		t.Errorf("ACL file does not hold the rotated user: %s", data)
	}
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
