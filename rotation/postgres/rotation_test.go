package postgres_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/postgres"
)

// creds is the part of a secret a test checks.
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

func function(env *builtintest.Env, s builtin.Strategy) *builtin.Function {
	return &builtin.Function{Secrets: env.Secrets, Strategy: s, Password: postgres.Engine().Password}
}

func TestSingleUserRotations(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	db, _ := s.createDB(t)
	user := `o'brien "rotor" ` + builtintest.Unique("")
	initial := hostile[0]
	s.createRole(t, user, initial, "")
	// A stale masterarn does not matter to the single-user strategy.
	stale := map[string]any{"masterarn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:gone-AbCdEf"}
	arn := env.CreateSecret(t, builtintest.Unique("pg-single-"), secretJSON(s.host, s.port, user, initial, db, stale))
	fn := function(env, builtin.SingleUser{Engine: postgres.Engine()})

	old := initial
	for i := range 3 {
		env.Rotate(t, fn, arn)
		cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
		if cur.Username != user || cur.Password == old {
			t.Fatalf("rotation %d: AWSCURRENT = %+v, want user %q with a new password", i, cur, user)
		}
		if len(cur.Password) != 32 || strings.ContainsAny(cur.Password, `:/@"'\`) {
			t.Errorf("rotation %d: password %q breaks the PostgreSQL password rules", i, cur.Password)
		}
		s.mustLogIn(t, user, cur.Password, db)
		s.mustRefuse(t, user, old, db)
		if prev := parseCreds(t, env.Value(t, arn, rotor.StagePrevious)); prev.Password != old {
			t.Errorf("rotation %d: AWSPREVIOUS password is not the old one", i)
		}
		old = cur.Password
	}
}

// TestSingleUserRecoversWithPrevious: when the database holds the
// AWSPREVIOUS password (an earlier run changed it and AWSCURRENT was put
// back), setSecret logs in with AWSPREVIOUS.
func TestSingleUserRecoversWithPrevious(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	user := builtintest.Unique("rotor_test_prev_")
	s.createRole(t, user, "p0-initial", "")
	arn := env.CreateSecret(t, builtintest.Unique("pg-prev-"), secretJSON(s.host, s.port, user, "p0-initial", "postgres", nil))
	fn := function(env, builtin.SingleUser{Engine: postgres.Engine()})
	env.Rotate(t, fn, arn)
	s.exec(t, "ALTER ROLE "+postgres.Ident(user)+" PASSWORD "+postgres.QuoteLiteral("p0-initial"))
	s.mustRefuse(t, user, parseCreds(t, env.Value(t, arn, rotor.StageCurrent)).Password, "postgres")

	env.Rotate(t, fn, arn)
	s.mustLogIn(t, user, parseCreds(t, env.Value(t, arn, rotor.StageCurrent)).Password, "postgres")
	s.mustRefuse(t, user, "p0-initial", "postgres")
}

func TestSingleUserNoCredentialsWork(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	user := builtintest.Unique("rotor_test_lost_")
	s.createRole(t, user, "the-real-pw", "")
	arn := env.CreateSecret(t, builtintest.Unique("pg-lost-"), secretJSON(s.host, s.port, user, "not-the-pw", "postgres", nil))
	fn := function(env, builtin.SingleUser{Engine: postgres.Engine()})
	token := env.StartRotation(t, arn)
	err := env.Steps(fn, arn, token, rotor.StepCreate, rotor.StepSet)
	if err == nil || !strings.Contains(err.Error(), "unable to log in") {
		t.Fatalf("rotation with a wrong AWSCURRENT = %v, want an error saying it cannot log in", err)
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), "not-the-pw") {
		t.Errorf("error %q holds the password", err)
	}
	s.mustLogIn(t, user, "the-real-pw", "postgres")
}

// alternating sets up the alternating-users scene: a database with tables
// "granted" (readable by the user) and "secret" (not), the user, an
// administrator with CREATEROLE and its master secret.
type alternating struct {
	s          *server
	env        *builtintest.Env
	db         string
	user       string
	admin      string
	masterARN  string
	arn        string
	fn         *builtin.Function
	adminTable func(sql string)
}

func newAlternating(t *testing.T, user string) *alternating {
	t.Helper()
	s := newServer(t)
	env := builtintest.NewEnv(t)
	a := &alternating{s: s, env: env, user: user, admin: builtintest.Unique("rotor_test_admin_")}
	// Cleanups run last-first: roles are dropped before their database.
	db, conn := s.createDB(t)
	a.db = db
	a.adminTable = func(sql string) {
		t.Helper()
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	s.createRole(t, a.admin, "admin-pw-'\\", "CREATEROLE")
	s.createRole(t, user, "initial-pw", "")
	t.Cleanup(func() { s.dropRole(t, user+"_clone") })
	a.adminTable("CREATE TABLE granted (x int)")
	a.adminTable("CREATE TABLE secret (x int)")
	a.adminTable("GRANT SELECT ON granted TO " + postgres.Ident(user))
	a.masterARN = env.CreateSecret(t, builtintest.Unique("pg-master-"), secretJSON(s.host, s.port, a.admin, "admin-pw-'\\", "postgres", nil))
	a.arn = env.CreateSecret(t, builtintest.Unique("pg-alt-"), secretJSON(s.host, s.port, user, "initial-pw", db, map[string]any{"masterarn": a.masterARN}))
	a.fn = function(env, builtin.AlternatingUsers{Engine: postgres.Engine()})
	return a
}

func TestAlternatingUsersRotations(t *testing.T) {
	a := newAlternating(t, builtintest.Unique("rotor_test_alt_"))
	s, env := a.s, a.env
	clone := a.user + "_clone"
	wantUsers := []string{clone, a.user, clone, a.user}
	for i, want := range wantUsers {
		env.Rotate(t, a.fn, a.arn)
		cur := parseCreds(t, env.Value(t, a.arn, rotor.StageCurrent))
		prev := parseCreds(t, env.Value(t, a.arn, rotor.StagePrevious))
		if cur.Username != want {
			t.Fatalf("rotation %d: AWSCURRENT user = %q, want %q", i, cur.Username, want)
		}
		s.mustLogIn(t, cur.Username, cur.Password, a.db)
		s.mustLogIn(t, prev.Username, prev.Password, a.db) // clients of the previous version keep working
		if prev.Username == cur.Username {
			t.Fatalf("rotation %d: AWSPREVIOUS and AWSCURRENT are both %q", i, cur.Username)
		}
		if !s.canSelect(t, cur.Username, cur.Password, a.db, "granted") {
			t.Errorf("rotation %d: %s cannot read a table the original can", i, cur.Username)
		}
		if s.canSelect(t, cur.Username, cur.Password, a.db, "secret") {
			t.Errorf("rotation %d: %s can read a table the original cannot", i, cur.Username)
		}
		if i == 0 {
			// A grant added to the original after the clone exists.
			a.adminTable("CREATE TABLE later (x int)")
			a.adminTable("GRANT SELECT ON later TO " + postgres.Ident(a.user))
		}
		if i > 0 {
			c := cur
			if c.Username != clone {
				c = prev
			}
			if !s.canSelect(t, clone, c.Password, a.db, "later") {
				t.Errorf("rotation %d: the clone cannot read a table granted to the original after cloning", i)
			}
		}
	}
	// The clone is a member of the original, not a superuser or role admin.
	var super, createRole bool
	if err := s.admin.QueryRow(context.Background(), "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1", clone).Scan(&super, &createRole); err != nil {
		t.Fatal(err)
	}
	if super || createRole {
		t.Errorf("clone has rolsuper=%v rolcreaterole=%v", super, createRole)
	}
}

// TestAlternatingUsersResyncsMembership: a clone that lost its membership
// in the original gets it back at the next rotation.
func TestAlternatingUsersResyncsMembership(t *testing.T) {
	a := newAlternating(t, builtintest.Unique("rotor_test_resync_"))
	clone := a.user + "_clone"
	a.env.Rotate(t, a.fn, a.arn) // creates the clone; AWSCURRENT = clone
	a.s.exec(t, "REVOKE "+postgres.Ident(a.user)+" FROM "+postgres.Ident(clone))
	cur := parseCreds(t, a.env.Value(t, a.arn, rotor.StageCurrent))
	if a.s.canSelect(t, clone, cur.Password, a.db, "granted") {
		t.Fatal("the clone still reads the original's table after REVOKE")
	}
	a.env.Rotate(t, a.fn, a.arn) // pending = original; re-syncs the clone in use
	if !a.s.canSelect(t, clone, cur.Password, a.db, "granted") {
		t.Error("the clone did not get the original's privileges back")
	}
}

func TestAlternatingUsersWrongAdminThenFixed(t *testing.T) {
	a := newAlternating(t, builtintest.Unique("rotor_test_badadm_"))
	good := a.env.Value(t, a.masterARN, rotor.StageCurrent)
	a.env.PutCurrent(t, a.masterARN, secretJSON(a.s.host, a.s.port, a.admin, "wrong-admin-pw", "postgres", nil))
	token := a.env.StartRotation(t, a.arn)
	err := a.env.Steps(a.fn, a.arn, token, rotor.Steps...)
	var se *builtintest.StepError
	if err == nil || !asStep(err, &se) || se.Step != rotor.StepSet {
		t.Fatalf("rotation with a wrong admin password = %v, want a setSecret failure", err)
	}
	t.Logf("error: %v", err)
	for _, want := range []string{"administrator", a.admin, a.masterARN} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "wrong-admin-pw") {
		t.Errorf("error %q holds the password", err)
	}
	var n int
	if err := a.s.admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_roles WHERE rolname = $1", a.user+"_clone").Scan(&n); err != nil || n != 0 {
		t.Errorf("the clone exists after a failed setSecret (count %d, %v)", n, err)
	}
	// The operator fixes the master secret; the engine retries from createSecret.
	a.env.PutCurrent(t, a.masterARN, good)
	if err := a.env.Steps(a.fn, a.arn, token, rotor.Steps...); err != nil {
		t.Fatalf("retry after fixing the master secret: %v", err)
	}
	cur := parseCreds(t, a.env.Value(t, a.arn, rotor.StageCurrent))
	a.s.mustLogIn(t, cur.Username, cur.Password, a.db)
}

func asStep(err error, se **builtintest.StepError) bool {
	e, ok := err.(*builtintest.StepError)
	*se = e
	return ok
}

func TestAlternatingUsersMasterSecretMissing(t *testing.T) {
	a := newAlternating(t, builtintest.Unique("rotor_test_nomaster_"))
	missing := strings.Replace(a.masterARN, "pg-master-", "pg-gone-", 1)
	a.env.PutCurrent(t, a.arn, secretJSON(a.s.host, a.s.port, a.user, "initial-pw", a.db, map[string]any{"masterarn": missing}))
	token := a.env.StartRotation(t, a.arn)
	err := a.env.Steps(a.fn, a.arn, token, rotor.Steps...)
	if err == nil || !strings.Contains(err.Error(), rotor.StepSet) {
		t.Fatalf("rotation with a missing master secret = %v, want a setSecret failure", err)
	}
	t.Logf("error: %v", err)
}

// TestUsernameAtLimit: a 57-byte user name has a 63-byte clone, which
// PostgreSQL accepts; a 58-byte one does not fit and createSecret says so.
func TestUsernameAtLimit(t *testing.T) {
	base := builtintest.Unique("rotor_test_len_")
	a := newAlternating(t, base+strings.Repeat("x", 57-len(base)))
	a.env.Rotate(t, a.fn, a.arn)
	cur := parseCreds(t, a.env.Value(t, a.arn, rotor.StageCurrent))
	if len(cur.Username) != 63 {
		t.Fatalf("clone name %q is %d bytes, want 63", cur.Username, len(cur.Username))
	}
	a.s.mustLogIn(t, cur.Username, cur.Password, a.db)

	long := base + strings.Repeat("y", 58-len(base))
	arn := a.env.CreateSecret(t, builtintest.Unique("pg-long-"), secretJSON(a.s.host, a.s.port, long, "pw", a.db, map[string]any{"masterarn": a.masterARN}))
	token := a.env.StartRotation(t, arn)
	err := a.env.Step(a.fn, arn, token, rotor.StepCreate)
	if rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(err.Error(), "at most 63") {
		t.Fatalf("createSecret for a 58-byte user = %v, want EINVALID naming the limit", err)
	}
}

func TestSecretErrors(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	tests := map[string]struct {
		strategy builtin.Strategy
		value    string
		want     string
	}{
		"WrongEngine": {builtin.SingleUser{Engine: postgres.Engine()},
			`{"engine":"mysql","host":"h","username":"u","password":"p"}`, `"postgres" or "aurora-postgresql"`},
		"MissingHost": {builtin.SingleUser{Engine: postgres.Engine()},
			`{"engine":"postgres","username":"u","password":"p"}`, `"host" key is missing`},
		"MissingMasterARN": {builtin.AlternatingUsers{Engine: postgres.Engine()},
			secretJSON(s.host, s.port, "u", "p", "postgres", nil), `"masterarn" key is missing`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			arn := env.CreateSecret(t, builtintest.Unique("pg-bad-"), tt.value)
			token := env.StartRotation(t, arn)
			err := env.Step(function(env, tt.strategy), arn, token, rotor.StepCreate)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("createSecret = %v, want an error containing %q", err, tt.want)
			}
			t.Logf("error: %v", err)
			if v := env.Value(t, arn, rotor.StagePending); v != "" {
				t.Errorf("createSecret stored AWSPENDING %q after failing", v)
			}
		})
	}
}

// TestUnreachableMidRun cuts the connection to the server (a proxy) after
// createSecret and again after setSecret; each time the step fails with a
// clear error and the rotation, retried from createSecret as the engine
// does, finishes once the server is back.
func TestUnreachableMidRun(t *testing.T) {
	for _, kind := range []string{"single", "alternating"} {
		t.Run(kind, func(t *testing.T) {
			s := newServer(t)
			env := builtintest.NewEnv(t)
			p := builtintest.NewProxy(t, s.url.Host, nil)
			user := builtintest.Unique("rotor_test_cut_")
			s.createRole(t, user, "initial-pw", "")
			t.Cleanup(func() { s.dropRole(t, user+"_clone") })
			extra := map[string]any{}
			var strategy builtin.Strategy = builtin.SingleUser{Engine: postgres.Engine()}
			if kind == "alternating" {
				admin := builtintest.Unique("rotor_test_admin_")
				s.createRole(t, admin, "admin-pw", "CREATEROLE")
				extra["masterarn"] = env.CreateSecret(t, builtintest.Unique("pg-master-"), secretJSON(p.Host(), p.Port(), admin, "admin-pw", "postgres", nil))
				strategy = builtin.AlternatingUsers{Engine: postgres.Engine()}
			}
			arn := env.CreateSecret(t, builtintest.Unique("pg-cut-"), secretJSON(p.Host(), p.Port(), user, "initial-pw", "postgres", extra))
			fn := function(env, strategy)
			for round := range 2 {
				token := env.StartRotation(t, arn)
				if err := env.Step(fn, arn, token, rotor.StepCreate); err != nil {
					t.Fatal(err)
				}
				pending := parseCreds(t, env.Value(t, arn, rotor.StagePending))
				failing := rotor.StepSet
				if round == 1 {
					if err := env.Step(fn, arn, token, rotor.StepSet); err != nil {
						t.Fatal(err)
					}
					failing = rotor.StepTest
				}
				p.Cut()
				err := env.Step(fn, arn, token, failing)
				if err == nil {
					t.Fatalf("round %d: %s succeeded with the server cut off", round, failing)
				}
				t.Logf("round %d: %s error: %v", round, failing, err)
				if !strings.Contains(err.Error(), "unable to log in") || strings.Contains(err.Error(), pending.Password) {
					t.Errorf("round %d: %s error %q should say it cannot log in, without the password", round, failing, err)
				}
				p.Restore()
				if err := env.Steps(fn, arn, token, rotor.Steps...); err != nil {
					t.Fatalf("round %d: retry after the server came back: %v", round, err)
				}
				env.FinishRotation(t, arn)
				cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
				if cur.Password != pending.Password {
					t.Errorf("round %d: the retry generated a new password instead of reusing AWSPENDING", round)
				}
				s.mustLogIn(t, cur.Username, cur.Password, "postgres")
			}
		})
	}
}

// TestTLSModes: "ssl": true verifies the server's certificate (the test
// server's snakeoil certificate does not verify, and there is no fallback
// to plaintext); "rotor:sslmode": "require" uses TLS without verification;
// "rotor:ssl_ca" trusts a given authority.
func TestTLSModes(t *testing.T) {
	s := newServer(t)
	var sslOn string
	if err := s.admin.QueryRow(context.Background(), "SHOW ssl").Scan(&sslOn); err != nil {
		t.Fatal(err)
	}
	env := builtintest.NewEnv(t)
	fn := function(env, builtin.SingleUser{Engine: postgres.Engine()})
	user := builtintest.Unique("rotor_test_ssl_")
	s.createRole(t, user, "initial-pw", "")

	t.Run("VerifyFails", func(t *testing.T) {
		arn := env.CreateSecret(t, builtintest.Unique("pg-ssl-"), secretJSON(s.host, s.port, user, "initial-pw", "postgres", map[string]any{"ssl": true}))
		token := env.StartRotation(t, arn)
		err := env.Steps(fn, arn, token, rotor.StepCreate, rotor.StepSet)
		if err == nil {
			t.Fatal("rotation over TLS verified against the system roots succeeded against a server without a trusted certificate")
		}
		t.Logf("error: %v", err)
		if !strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "TLS") {
			t.Errorf("error %q does not say TLS failed", err)
		}
		s.mustLogIn(t, user, "initial-pw", "postgres")
	})
	t.Run("Require", func(t *testing.T) {
		arn := env.CreateSecret(t, builtintest.Unique("pg-ssl-"), secretJSON(s.host, s.port, user, "initial-pw", "postgres", map[string]any{"rotor:sslmode": "require"}))
		if sslOn != "on" {
			// No TLS on the server: "require" must fail, not fall back.
			token := env.StartRotation(t, arn)
			if err := env.Steps(fn, arn, token, rotor.StepCreate, rotor.StepSet); err == nil {
				t.Fatal(`"rotor:sslmode": "require" rotated over plaintext`)
			}
			return
		}
		env.Rotate(t, fn, arn)
		cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
		s.mustLogIn(t, user, cur.Password, "postgres")
		// Prove the driver used TLS: a session it opens shows in pg_stat_ssl.
		sess, err := postgres.Driver{}.Connect(context.Background(), builtin.Conn{Host: s.host, Port: s.port, Username: user, Password: cur.Password,
			TLS: tlsInsecure()})
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		var n int
		if err := s.admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = $1 AND ssl", user).Scan(&n); err != nil {
			t.Fatal(err)
		} else if n == 0 {
			t.Error("no TLS session of the user in pg_stat_ssl")
		}
	})
	t.Run("CustomCA", func(t *testing.T) {
		caPEM, serverTLS := builtintest.NewCA(t)
		p := builtintest.NewProxy(t, s.url.Host, &builtintest.ProxyTLS{Config: serverTLS, Postgres: true})
		arn := env.CreateSecret(t, builtintest.Unique("pg-ca-"), secretJSON(p.Host(), p.Port(), user, currentPassword(t, s, user), "postgres",
			map[string]any{"ssl": "TRUE", "rotor:ssl_ca": caPEM}))
		env.Rotate(t, fn, arn)
		env.Rotate(t, fn, arn)
		cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
		s.mustLogIn(t, user, cur.Password, "postgres")
	})
}

func tlsInsecure() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } // #nosec G402 -- test

// currentPassword resets user's password to a known value and returns it.
func currentPassword(t *testing.T, s *server, user string) string {
	t.Helper()
	s.exec(t, "ALTER ROLE "+postgres.Ident(user)+" PASSWORD 'known-pw'")
	return "known-pw"
}
