package mysql_test

import (
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/mysql"
)

// engines are the two engines this driver serves; the test server (MariaDB
// here) is driven through both, as a MySQL secret pointing at MariaDB is.
var engines = map[string]func() builtin.Engine{"mariadb": mysql.MariaDB, "mysql": mysql.MySQL}

func function(env *builtintest.Env, s builtin.Strategy, e builtin.Engine) *builtin.Function {
	return &builtin.Function{Secrets: env.Secrets, Strategy: s, Password: e.Password}
}

func TestSingleUserRotations(t *testing.T) {
	for name, engine := range engines {
		t.Run(name, func(t *testing.T) {
			s := newServer(t)
			env := builtintest.NewEnv(t)
			db := s.createDB(t)
			user := `o'b"r ` + builtintest.Unique("")
			s.createUser(t, user, hostile[0])
			s.exec(t, "GRANT SELECT ON "+mysql.QuoteIdent(db)+".* TO "+mysql.Account(user, "%"))
			e := engine()
			arn := env.CreateSecret(t, builtintest.Unique("my-single-"), secretJSON(name, s.host, s.port, user, hostile[0], db, nil))
			fn := function(env, builtin.SingleUser{Engine: e}, e)
			old := hostile[0]
			for i := range 3 {
				env.Rotate(t, fn, arn)
				cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
				if cur.Username != user || cur.Password == old {
					t.Fatalf("rotation %d: AWSCURRENT = %+v", i, cur)
				}
				if len(cur.Password) != 32 || strings.ContainsAny(cur.Password, `/@"'\`) {
					t.Errorf("rotation %d: password %q breaks the MySQL password rules", i, cur.Password)
				}
				s.mustLogIn(t, user, cur.Password)
				s.mustRefuse(t, user, old)
				old = cur.Password
			}
		})
	}
}

type alternating struct {
	s         *server
	env       *builtintest.Env
	db        string
	user      string
	admin     string
	masterARN string
	arn       string
	fn        *builtin.Function
}

func newAlternating(t *testing.T, engineName, user string) *alternating {
	t.Helper()
	s := newServer(t)
	env := builtintest.NewEnv(t)
	e := engines[engineName]()
	a := &alternating{s: s, env: env, user: user, admin: builtintest.Unique("rotor_test_admin_"), db: s.createDB(t)}
	s.createUser(t, a.admin, `admin'pw\`)
	s.exec(t, "GRANT ALL PRIVILEGES ON *.* TO "+mysql.Account(a.admin, "%")+" WITH GRANT OPTION")
	s.createUser(t, user, "initial-pw")
	s.exec(t, "GRANT SELECT ON "+mysql.QuoteIdent(a.db)+".granted TO "+mysql.Account(user, "%"))
	a.masterARN = env.CreateSecret(t, builtintest.Unique("my-master-"), secretJSON(engineName, s.host, s.port, a.admin, `admin'pw\`, "", nil))
	a.arn = env.CreateSecret(t, builtintest.Unique("my-alt-"), secretJSON(engineName, s.host, s.port, user, "initial-pw", a.db, map[string]any{"masterarn": a.masterARN}))
	a.fn = function(env, builtin.AlternatingUsers{Engine: e}, e)
	return a
}

func TestAlternatingUsersRotations(t *testing.T) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			a := newAlternating(t, name, builtintest.Unique("rt_alt_"))
			s, env := a.s, a.env
			clone := a.user + "_clone"
			for i, want := range []string{clone, a.user, clone, a.user} {
				env.Rotate(t, a.fn, a.arn)
				cur := parseCreds(t, env.Value(t, a.arn, rotor.StageCurrent))
				prev := parseCreds(t, env.Value(t, a.arn, rotor.StagePrevious))
				if cur.Username != want || prev.Username == cur.Username {
					t.Fatalf("rotation %d: AWSCURRENT user %q, AWSPREVIOUS user %q; want AWSCURRENT %q", i, cur.Username, prev.Username, want)
				}
				s.mustLogIn(t, cur.Username, cur.Password)
				s.mustLogIn(t, prev.Username, prev.Password)
				if !s.canSelect(t, cur.Username, cur.Password, a.db, "granted") {
					t.Errorf("rotation %d: %s cannot read a table the original can", i, cur.Username)
				}
				if s.canSelect(t, cur.Username, cur.Password, a.db, "secret") {
					t.Errorf("rotation %d: %s can read a table the original cannot", i, cur.Username)
				}
				if i == 0 {
					// Granted to the original after the clone was made: the
					// clone (now AWSCURRENT, in use) gets it at the next rotation.
					s.exec(t, "GRANT SELECT ON "+mysql.QuoteIdent(a.db)+".later TO "+mysql.Account(a.user, "%"))
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
		})
	}
}

func TestAlternatingUsersWrongAdminThenFixed(t *testing.T) {
	a := newAlternating(t, "mariadb", builtintest.Unique("rt_badadm_"))
	good := a.env.Value(t, a.masterARN, rotor.StageCurrent)
	a.env.PutCurrent(t, a.masterARN, secretJSON("mariadb", a.s.host, a.s.port, a.admin, "wrong-admin-pw", "", nil))
	token := a.env.StartRotation(t, a.arn)
	err := a.env.Steps(a.fn, a.arn, token, rotor.Steps...)
	if err == nil || !strings.Contains(err.Error(), rotor.StepSet) || !strings.Contains(err.Error(), "administrator") {
		t.Fatalf("rotation with a wrong admin password = %v, want a setSecret failure about the administrator", err)
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), "wrong-admin-pw") {
		t.Errorf("error %q holds the password", err)
	}
	var n int
	if err := a.s.root.QueryRow("SELECT count(*) FROM mysql.user WHERE User = ?", a.user+"_clone").Scan(&n); err != nil || n != 0 {
		t.Errorf("the clone exists after a failed setSecret (%d, %v)", n, err)
	}
	a.env.PutCurrent(t, a.masterARN, good)
	if err := a.env.Steps(a.fn, a.arn, token, rotor.Steps...); err != nil {
		t.Fatalf("retry after fixing the master secret: %v", err)
	}
	cur := parseCreds(t, a.env.Value(t, a.arn, rotor.StageCurrent))
	a.s.mustLogIn(t, cur.Username, cur.Password)
}

// TestAlternatingUsersFinishesHalfMadeClone: a clone created by a run that
// failed before copying the grants gets them when the run is retried.
func TestAlternatingUsersFinishesHalfMadeClone(t *testing.T) {
	a := newAlternating(t, "mariadb", builtintest.Unique("rt_half_"))
	token := a.env.StartRotation(t, a.arn)
	if err := a.env.Step(a.fn, a.arn, token, rotor.StepCreate); err != nil {
		t.Fatal(err)
	}
	pending := parseCreds(t, a.env.Value(t, a.arn, rotor.StagePending))
	// What a run cut off after CREATE USER leaves behind.
	a.s.exec(t, "CREATE USER "+mysql.Account(pending.Username, "%")+" IDENTIFIED BY "+lit(pending.Password))
	if err := a.env.Steps(a.fn, a.arn, token, rotor.Steps...); err != nil {
		t.Fatal(err)
	}
	if !a.s.canSelect(t, pending.Username, pending.Password, a.db, "granted") {
		t.Error("the retried run did not copy the grants to the half-made clone")
	}
}

// TestUsernameAtLimit: the "mysql" engine allows 32 characters, so a
// 26-character user has a 32-character clone and a 27-character one does
// not fit.
func TestUsernameAtLimit(t *testing.T) {
	base := builtintest.Unique("rt_len_")
	a := newAlternating(t, "mysql", base+strings.Repeat("x", 26-len(base)))
	a.env.Rotate(t, a.fn, a.arn)
	cur := parseCreds(t, a.env.Value(t, a.arn, rotor.StageCurrent))
	if len(cur.Username) != 32 {
		t.Fatalf("clone %q has %d characters, want 32", cur.Username, len(cur.Username))
	}
	a.s.mustLogIn(t, cur.Username, cur.Password)

	long := base + strings.Repeat("y", 27-len(base))
	arn := a.env.CreateSecret(t, builtintest.Unique("my-long-"), secretJSON("mysql", a.s.host, a.s.port, long, "pw", "", map[string]any{"masterarn": a.masterARN}))
	token := a.env.StartRotation(t, arn)
	if err := a.env.Step(a.fn, arn, token, rotor.StepCreate); rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(err.Error(), "at most 32") {
		t.Fatalf("createSecret for a 27-character user = %v, want EINVALID naming the limit", err)
	}
}

func TestWrongEngine(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	for _, tt := range []struct{ fn, secret, want string }{
		{"mariadb", "mysql", `"mariadb"`},
		{"mysql", "mariadb", `"mysql" or "aurora-mysql"`},
		{"mysql", "postgres", `"mysql" or "aurora-mysql"`},
	} {
		e := engines[tt.fn]()
		arn := env.CreateSecret(t, builtintest.Unique("my-engine-"), secretJSON(tt.secret, s.host, s.port, "u", "p", "", nil))
		token := env.StartRotation(t, arn)
		err := env.Step(function(env, builtin.SingleUser{Engine: e}, e), arn, token, rotor.StepCreate)
		if rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s function, %s secret: %v; want EINVALID naming %s", tt.fn, tt.secret, err, tt.want)
		}
	}
}

func TestUnreachableMidRun(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	p := builtintest.NewProxy(t, s.addr, nil)
	user := builtintest.Unique("rt_cut_")
	s.createUser(t, user, "initial-pw")
	admin := builtintest.Unique("rt_admin_")
	s.createUser(t, admin, "admin-pw")
	s.exec(t, "GRANT ALL PRIVILEGES ON *.* TO "+mysql.Account(admin, "%")+" WITH GRANT OPTION")
	master := env.CreateSecret(t, builtintest.Unique("my-master-"), secretJSON("mariadb", p.Host(), p.Port(), admin, "admin-pw", "", nil))
	arn := env.CreateSecret(t, builtintest.Unique("my-cut-"), secretJSON("mariadb", p.Host(), p.Port(), user, "initial-pw", "", map[string]any{"masterarn": master}))
	e := mysql.MariaDB()
	fn := function(env, builtin.AlternatingUsers{Engine: e}, e)
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
		cur := parseCreds(t, env.Value(t, arn, rotor.StageCurrent))
		s.mustLogIn(t, cur.Username, cur.Password)
	}
}
