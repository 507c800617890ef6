package main

// End-to-end rotation of real database credentials by Rotor's built-in
// functions (docs/ROTATION.md): a server started with MustRunMain, driven
// by the aws-sdk-go-v2 client through RotateSecret, rotating users on the
// test PostgreSQL, MariaDB and Redis servers (e2e_dbtargets_test.go), each
// login checked against the real database.

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
)

// Characters new passwords must not contain (docs/ROTATION.md, Passwords).
const (
	e2edbPGExcluded    = `:/@"'\`
	e2edbOtherExcluded = `/@"'\`
)

// TestE2EDBRotation rotates a user of every engine with every strategy it
// supports several times in a row, through RotateSecret, and after each
// rotation checks on the real database which credentials log in.
func TestE2EDBRotation(t *testing.T) {
	s := MustRunMain(t, "", nil)
	pg := func(t *testing.T) e2edbTables { return newE2EDBPostgres(t) }
	my := func(t *testing.T) e2edbTables { return newE2EDBMySQL(t) }
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"postgres/single-user", func(t *testing.T) {
			e2edbSingleUser(t, s, pg(t), "postgres", "rotor-postgres-single-user", "e2edb_pg_single_", e2edbPGExcluded, false)
		}},
		{"postgres/alternating-users", func(t *testing.T) {
			e2edbAlternating(t, s, pg(t), "postgres", "rotor-postgres-alternating-users", "e2edb_pg_alt_", e2edbPGExcluded)
		}},
		{"mariadb/single-user", func(t *testing.T) {
			e2edbSingleUser(t, s, my(t), "mariadb", "rotor-mariadb-single-user", "e2edb_ma_single_", e2edbOtherExcluded, false)
		}},
		{"mariadb/alternating-users", func(t *testing.T) {
			e2edbAlternating(t, s, my(t), "mariadb", "rotor-mariadb-alternating-users", "e2edb_ma_alt_", e2edbOtherExcluded)
		}},
		// The MySQL functions against the same server: the driver asks the
		// server what it is. User names stay within MySQL's 32 characters
		// with "_clone".
		{"mysql/single-user", func(t *testing.T) {
			e2edbSingleUser(t, s, my(t), "mysql", "rotor-mysql-single-user", "e2edb_my_single_", e2edbOtherExcluded, false)
		}},
		{"mysql/alternating-users", func(t *testing.T) {
			e2edbAlternating(t, s, my(t), "mysql", "rotor-mysql-alternating-users", "e2edb_my_alt_", e2edbOtherExcluded)
		}},
		// The single-user function acts as the user itself, which therefore
		// needs the permission to change users.
		{"redis/single-user", func(t *testing.T) {
			e2edbSingleUser(t, s, newE2EDBRedis(t), "redis", "rotor-redis-single-user", "e2edb_rd_single_", e2edbOtherExcluded, true)
		}},
		{"redis/multi-credential/self", func(t *testing.T) {
			e2edbMultiCredential(t, s, newE2EDBRedis(t), false)
		}},
		{"redis/multi-credential/masterarn", func(t *testing.T) {
			e2edbMultiCredential(t, s, newE2EDBRedis(t), true)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

// e2edbSingleUser: after each rotation AWSCURRENT logs in as the same user
// with a new password and the previous password is refused.
func e2edbSingleUser(t *testing.T, s *testServer, tg e2edbTarget, engine, function, prefix, excluded string, selfAdmin bool) {
	c := s.Client("")
	user, initial := builtintest.Unique(prefix), builtintest.Unique("initial-pw-")
	tg.createUser(t, user, initial, selfAdmin)
	e2edbGrantDatabase(t, tg, user)
	e2edbMustLogIn(t, tg, user, initial)
	doc := tg.secret(engine, user, initial)
	doc["app"] = "e2e" // a key of the secret's clients, which rotations keep
	id := e2edbCreate(t, c, "e2edb/"+user, doc)

	old := initial
	for n := 1; n <= 3; n++ {
		token := e2edbRotate(t, c, id, e2edbFirst(n, function))
		cur, version, curDoc := e2edbVersion(t, c, id, "AWSCURRENT")
		prev, _, _ := e2edbVersion(t, c, id, "AWSPREVIOUS")
		if version != token {
			t.Fatalf("rotation %d: AWSCURRENT is version %s, want the rotation's %s", n, version, token)
		}
		if cur.Username != user || cur.Password == old {
			t.Fatalf("rotation %d: AWSCURRENT is for %q with the old password %v; want %q with a new one", n, cur.Username, cur.Password == old, user)
		}
		if prev.Username != user || prev.Password != old {
			t.Fatalf("rotation %d: AWSPREVIOUS is not the credentials AWSCURRENT held before", n)
		}
		e2edbCheckPassword(t, n, cur.Password, excluded)
		e2edbKeepsOtherKeys(t, n, doc, curDoc)
		e2edbMustLogIn(t, tg, user, cur.Password)
		e2edbMustRefuse(t, tg, user, old)
		old = cur.Password
	}
}

// e2edbAlternating: the user and its clone take turns; after each rotation
// both AWSCURRENT and AWSPREVIOUS log in, and the user in AWSCURRENT reads
// what the original may read, including a table granted to the original
// after the clone was created.
func e2edbAlternating(t *testing.T, s *testServer, tg e2edbTables, engine, function, prefix, excluded string) {
	c := s.Client("")
	admin, adminPW := builtintest.Unique(prefix+"adm_"), builtintest.Unique("admin-pw-")
	user, initial := builtintest.Unique(prefix), builtintest.Unique("initial-pw-")
	clone := user + "_clone"
	tg.createUser(t, admin, adminPW, true)
	tg.createUser(t, user, initial, false)
	tg.grantRead(t, "granted", user)
	e2edbMustRead(t, tg, user, initial, "granted", true)
	e2edbMustRead(t, tg, user, initial, "secret", false)
	master := e2edbCreate(t, c, "e2edb/"+admin, tg.secret(engine, admin, adminPW))
	doc := tg.secret(engine, user, initial)
	doc["masterarn"], doc["app"] = master, "e2e"
	id := e2edbCreate(t, c, "e2edb/"+user, doc)

	last := e2edbCreds{Username: user, Password: initial}
	for i, want := range []string{clone, user, clone} {
		n := i + 1
		token := e2edbRotate(t, c, id, e2edbFirst(n, function))
		cur, version, curDoc := e2edbVersion(t, c, id, "AWSCURRENT")
		prev, _, _ := e2edbVersion(t, c, id, "AWSPREVIOUS")
		if version != token {
			t.Fatalf("rotation %d: AWSCURRENT is version %s, want the rotation's %s", n, version, token)
		}
		if cur.Username != want || cur.Password == last.Password {
			t.Fatalf("rotation %d: AWSCURRENT is for %q (new password: %v), want %q with a new password", n, cur.Username, cur.Password != last.Password, want)
		}
		if prev != last {
			t.Fatalf("rotation %d: AWSPREVIOUS is for %q, not the credentials AWSCURRENT held before (%q)", n, prev.Username, last.Username)
		}
		e2edbCheckPassword(t, n, cur.Password, excluded)
		e2edbKeepsOtherKeys(t, n, doc, curDoc)
		e2edbMustLogIn(t, tg, cur.Username, cur.Password)
		e2edbMustLogIn(t, tg, prev.Username, prev.Password) // clients of the previous version keep working
		e2edbMustRead(t, tg, cur.Username, cur.Password, "granted", true)
		e2edbMustRead(t, tg, cur.Username, cur.Password, "secret", false)

		cloneCreds := cur
		if cloneCreds.Username != clone {
			cloneCreds = prev
		}
		if n == 1 {
			// A grant to the original after the clone exists: the clone
			// has it from the next rotation on.
			e2edbMustRead(t, tg, clone, cloneCreds.Password, "later", false)
			tg.grantRead(t, "later", user)
		} else {
			e2edbMustRead(t, tg, clone, cloneCreds.Password, "later", true)
		}
		last = cur
	}
}

// e2edbMultiCredential: the Redis user holds the AWSCURRENT and AWSPREVIOUS
// passwords after each rotation, and only those; the change is made by the
// user itself or, with withMaster, by an administrator from masterarn.
func e2edbMultiCredential(t *testing.T, s *testServer, r *e2edbRedis, withMaster bool) {
	c := s.Client("")
	user, initial := builtintest.Unique("e2edb_rd_multi_"), builtintest.Unique("initial-pw-")
	doc := r.secret("redis", user, initial)
	doc["app"] = "e2e"
	if withMaster {
		admin, adminPW := builtintest.Unique("e2edb_rd_multi_adm_"), builtintest.Unique("admin-pw-")
		r.createUser(t, admin, adminPW, true)
		r.createUser(t, user, initial, false)
		doc["masterarn"] = e2edbCreate(t, c, "e2edb/"+admin, r.secret("redis", admin, adminPW))
	} else {
		r.createUser(t, user, initial, true)
	}
	e2edbMustLogIn(t, r, user, initial)
	id := e2edbCreate(t, c, "e2edb/"+user, doc)

	passwords := []string{initial}
	for n := 1; n <= 3; n++ {
		token := e2edbRotate(t, c, id, e2edbFirst(n, "rotor-redis-multi-credential"))
		cur, version, curDoc := e2edbVersion(t, c, id, "AWSCURRENT")
		prev, _, _ := e2edbVersion(t, c, id, "AWSPREVIOUS")
		if version != token {
			t.Fatalf("rotation %d: AWSCURRENT is version %s, want the rotation's %s", n, version, token)
		}
		if cur.Username != user || slices.Contains(passwords, cur.Password) {
			t.Fatalf("rotation %d: AWSCURRENT is for %q, want %q with a password never used before", n, cur.Username, user)
		}
		if prev.Username != user || prev.Password != passwords[len(passwords)-1] {
			t.Fatalf("rotation %d: AWSPREVIOUS is not the credentials AWSCURRENT held before", n)
		}
		passwords = append(passwords, cur.Password)
		e2edbCheckPassword(t, n, cur.Password, e2edbOtherExcluded)
		e2edbKeepsOtherKeys(t, n, doc, curDoc)
		e2edbMustLogIn(t, r, user, cur.Password)
		e2edbMustLogIn(t, r, user, prev.Password)
		if len(passwords) >= 3 {
			e2edbMustRefuse(t, r, user, passwords[len(passwords)-3]) // out of AWSCURRENT for a whole period
		}
		if got := r.passwords(t, user); got != 2 {
			t.Fatalf("rotation %d: %q holds %d passwords, want 2", n, user, got)
		}
	}
}

// TestE2EDBRotationFailures: failed runs through the server. A master
// secret with a wrong password fails the run after its attempts, with a
// history that says why and holds no password; once the master secret is
// fixed, RotateSecret re-drives the run, which completes. A secret of the
// wrong engine fails with a message naming the engines the function takes.
//
// Every run is started first, so that their retry back-offs overlap; the
// subtests then check them one after another (cli sets the process
// environment, which parallel tests may not).
func TestE2EDBRotationFailures(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.Rotation.MaxAttempts = 2 })
	cases := []struct {
		name    string
		service func(testing.TB) *url.URL
		start   func() *e2edbBadAdmin
	}{
		{"postgres", testsvc.Postgres, func() *e2edbBadAdmin {
			return startE2EDBBadAdmin(t, s, newE2EDBPostgres(t), "postgres", "rotor-postgres-alternating-users", "e2edb_pg_badadm_")
		}},
		{"mariadb", testsvc.MySQL, func() *e2edbBadAdmin {
			return startE2EDBBadAdmin(t, s, newE2EDBMySQL(t), "mariadb", "rotor-mariadb-alternating-users", "e2edb_ma_badadm_")
		}},
		{"redis", testsvc.Redis, func() *e2edbBadAdmin {
			return startE2EDBBadAdmin(t, s, newE2EDBRedis(t), "redis", "rotor-redis-multi-credential", "e2edb_rd_badadm_")
		}},
	}
	// Every rotation starts before any is checked, so that they wait for
	// their failures together. A missing service fails its "service/"
	// subtest (or skips it, when ROTOR_TEST_SKIP names it).
	started := make([]*e2edbBadAdmin, len(cases))
	for i, tc := range cases {
		up := false
		t.Run("service/"+tc.name, func(t *testing.T) { tc.service(t); up = true })
		if up {
			started[i] = tc.start()
		}
	}
	wrongEngine := startE2EDBWrongEngine(t, s)

	for i, tc := range cases {
		t.Run("wrong-admin/"+tc.name, func(t *testing.T) {
			if started[i] == nil {
				t.Skipf("no %s test server: see the service/%s subtest", tc.name, tc.name)
			}
			started[i].check(t, s)
		})
	}
	t.Run("wrong-engine", func(t *testing.T) { wrongEngine.check(t, s) })
}

// e2edbBadAdmin is a rotation, by a function that uses masterarn, of a
// secret whose master secret holds a wrong password.
type e2edbBadAdmin struct {
	tg                             e2edbTarget
	engine                         string
	admin, adminPW, wrongPW        string
	user, initial, master, id, tok string
}

// startE2EDBBadAdmin creates the users and secrets and starts the rotation.
func startE2EDBBadAdmin(t *testing.T, s *testServer, tg e2edbTarget, engine, function, prefix string) *e2edbBadAdmin {
	t.Helper()
	c := s.Client("")
	b := &e2edbBadAdmin{tg: tg, engine: engine,
		admin: builtintest.Unique(prefix + "adm_"), adminPW: builtintest.Unique("admin-pw-"), wrongPW: builtintest.Unique("wrong-admin-pw-"),
		user: builtintest.Unique(prefix), initial: builtintest.Unique("initial-pw-")}
	tg.createUser(t, b.admin, b.adminPW, true)
	tg.createUser(t, b.user, b.initial, false)
	e2edbGrantDatabase(t, tg, b.user)
	b.master = e2edbCreate(t, c, "e2edb/"+b.admin, tg.secret(engine, b.admin, b.wrongPW))
	doc := tg.secret(engine, b.user, b.initial)
	doc["masterarn"] = b.master
	b.id = e2edbCreate(t, c, "e2edb/"+b.user, doc)
	out, err := c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String(b.id), RotationLambdaARN: aws.String(lambdaARN(function))})
	e2eNoErr(t, "RotateSecret", err)
	b.tok = aws.ToString(out.VersionId)
	return b
}

// check waits for the run to fail and checks its history and the
// database, then fixes the master secret and has the run re-driven.
func (b *e2edbBadAdmin) check(t *testing.T, s *testServer) {
	c, tg := s.Client(""), b.tg
	run, raw := e2edbWaitRun(t, s, b.id, b.tok, "failed")
	says := fmt.Sprintf("as administrator %q from the master secret %s", b.admin, b.master)
	var failed []string
	for _, st := range run.Steps {
		if st.Outcome != "error" {
			continue
		}
		failed = append(failed, st.Step)
		if !strings.Contains(st.Error, says) {
			t.Errorf("%s (attempt %d) error %q does not say it could not log in %s", st.Step, st.Attempt, st.Error, says)
		}
	}
	if strings.Join(failed, ",") != "setSecret,setSecret" {
		t.Errorf("failed steps %v, want setSecret in each of the 2 attempts\n%s", failed, raw)
	}
	if !strings.Contains(run.Run.LastError, says) {
		t.Errorf("LastError %q does not say it could not log in %s", run.Run.LastError, says)
	}
	pending, _, _ := e2edbVersion(t, c, b.id, "AWSPENDING")
	secrets := []string{b.wrongPW, b.adminPW, b.initial, pending.Password}
	e2edbNoPasswords(t, "the rotation history", raw, secrets...)
	e2edbNoPasswords(t, "the server log", s.Logs.String(), secrets...)
	// The database is as it was: the pending credentials do not log in
	// (for alternating users, the clone does not exist).
	e2edbMustLogIn(t, tg, b.user, b.initial)
	if _, err := tg.login(pending.Username, pending.Password); err == nil {
		t.Errorf("the pending credentials (user %q) log in although setSecret failed", pending.Username)
	}
	if cur, _, _ := e2edbVersion(t, c, b.id, "AWSCURRENT"); cur.Password != b.initial {
		t.Fatal("AWSCURRENT changed although the rotation failed")
	}

	// Fix the master secret (before the re-drive, so the run's next attempt
	// cannot race the fix), then RotateSecret answers as AWS does and
	// re-drives the failed run.
	fixed, _ := json.Marshal(tg.secret(b.engine, b.admin, b.adminPW))
	e2ePut(t, c, b.master, string(fixed))
	_, err := c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String(b.id)})
	e2eWantErr[*types.InvalidRequestException](t, "RotateSecret after a failed run", err,
		"A previous rotation isn't complete. That rotation will be reattempted.")
	_, raw = e2edbWaitRun(t, s, b.id, b.tok, "succeeded")
	waitRotated(t, c, b.id, b.tok)
	cur, _, _ := e2edbVersion(t, c, b.id, "AWSCURRENT")
	prev, _, _ := e2edbVersion(t, c, b.id, "AWSPREVIOUS")
	if cur != pending {
		t.Errorf("AWSCURRENT is for %q, want the pending credentials of the failed run (user %q)", cur.Username, pending.Username)
	}
	if prev.Username != b.user || prev.Password != b.initial {
		t.Errorf("AWSPREVIOUS is for %q, want the initial credentials", prev.Username)
	}
	e2edbMustLogIn(t, tg, cur.Username, cur.Password)
	e2edbMustLogIn(t, tg, b.user, b.initial)
	e2edbNoPasswords(t, "the rotation history", raw, secrets...)
	e2edbNoPasswords(t, "the server log", s.Logs.String(), secrets...)
}

// e2edbWrongEngine is a set of rotations of secrets whose engine the
// function does not serve; no database is needed, since createSecret
// refuses them.
type e2edbWrongEngine []struct {
	function, engine, want     string
	id, token, value, password string
}

// startE2EDBWrongEngine creates the secrets and starts their rotations.
func startE2EDBWrongEngine(t *testing.T, s *testServer) e2edbWrongEngine {
	t.Helper()
	c := s.Client("")
	w := e2edbWrongEngine{
		{function: "rotor-postgres-single-user", engine: "mysql", want: `database engine must be set to "postgres" or "aurora-postgresql" in order to use this rotation function, not "mysql"`},
		{function: "rotor-mysql-alternating-users", engine: "mariadb", want: `database engine must be set to "mysql" or "aurora-mysql" in order to use this rotation function, not "mariadb"`},
		{function: "rotor-mariadb-single-user", engine: "postgres", want: `database engine must be set to "mariadb" in order to use this rotation function, not "postgres"`},
		{function: "rotor-redis-multi-credential", engine: "mysql", want: `database engine must be set to "redis" in order to use this rotation function, not "mysql"`},
	}
	for i := range w {
		r := &w[i]
		r.password = builtintest.Unique("engine-pw-")
		value, _ := json.Marshal(map[string]any{"engine": r.engine, "host": "127.0.0.1", "port": 1, "username": "nobody", "password": r.password})
		r.value = string(value)
		r.id = aws.ToString(e2eCreate(t, c, builtintest.Unique("e2edb/engine-"), r.value).ARN)
		out, err := c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String(r.id), RotationLambdaARN: aws.String(lambdaARN(r.function))})
		e2eNoErr(t, "RotateSecret with "+r.function, err)
		r.token = aws.ToString(out.VersionId)
	}
	return w
}

// check waits for every run to fail in createSecret, with the message
// naming the engines, and checks the secret did not change.
func (w e2edbWrongEngine) check(t *testing.T, s *testServer) {
	c := s.Client("")
	for _, r := range w {
		run, raw := e2edbWaitRun(t, s, r.id, r.token, "failed")
		var steps []string
		for _, st := range run.Steps {
			steps = append(steps, st.Step+"="+st.Outcome)
			if st.Outcome == "error" && !strings.Contains(st.Error, r.want) {
				t.Errorf("%s, %s secret: %s error %q, want it to say %q", r.function, r.engine, st.Step, st.Error, r.want)
			}
		}
		if strings.Join(steps, ",") != "createSecret=error,createSecret=error" {
			t.Errorf("%s, %s secret: steps %v, want createSecret to fail in each of the 2 attempts", r.function, r.engine, steps)
		}
		if !strings.Contains(run.Run.LastError, r.want) {
			t.Errorf("%s, %s secret: LastError %q, want it to say %q", r.function, r.engine, run.Run.LastError, r.want)
		}
		e2edbNoPasswords(t, "the rotation history", raw, r.password)
		v, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.id)})
		e2eNoErr(t, "GetSecretValue", err)
		if aws.ToString(v.SecretString) != r.value {
			t.Errorf("%s, %s secret: AWSCURRENT changed although the rotation failed", r.function, r.engine)
		}
	}
}

// --- helpers ---

// e2edbCreds is the part of a database secret the tests check.
type e2edbCreds struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// e2edbFirst returns function for the first rotation (which must name it)
// and "" after (RotateSecret then uses the stored one).
func e2edbFirst(n int, function string) string {
	if n == 1 {
		return function
	}
	return ""
}

// e2edbGrantDatabase gives user a privilege in the test database of a
// target that has one, as an application user has: MySQL refuses to log in
// to a database (the secret's dbname) without one.
func e2edbGrantDatabase(t *testing.T, tg e2edbTarget, user string) {
	t.Helper()
	if tt, ok := tg.(e2edbTables); ok {
		tt.grantRead(t, "granted", user)
	}
}

// e2edbCreate creates a secret holding doc as JSON and returns its ARN.
func e2edbCreate(t *testing.T, c *secretsmanager.Client, name string, doc map[string]any) string {
	t.Helper()
	value, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(e2eCreate(t, c, name, string(value)).ARN)
}

// e2edbRotate starts a rotation of id through RotateSecret (naming function
// unless it is ""), waits until it is finished and returns its version.
func e2edbRotate(t *testing.T, c *secretsmanager.Client, id, function string) string {
	t.Helper()
	in := &secretsmanager.RotateSecretInput{SecretId: aws.String(id)}
	if function != "" {
		in.RotationLambdaARN = aws.String(lambdaARN(function))
	}
	out, err := c.RotateSecret(e2eCtx, in)
	e2eNoErr(t, "RotateSecret", err)
	token := aws.ToString(out.VersionId)
	waitRotated(t, c, id, token)
	return token
}

// e2edbVersion returns the credentials, the version id and the whole JSON
// object of the version of id labelled stage.
func e2edbVersion(t *testing.T, c *secretsmanager.Client, id, stage string) (e2edbCreds, string, map[string]any) {
	t.Helper()
	out, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)})
	e2eNoErr(t, "GetSecretValue "+stage, err)
	raw := []byte(aws.ToString(out.SecretString))
	var cr e2edbCreds
	var doc map[string]any
	if json.Unmarshal(raw, &cr) != nil || json.Unmarshal(raw, &doc) != nil || cr.Username == "" || cr.Password == "" {
		t.Fatalf("%s of %s is not a JSON secret with a username and a password", stage, id)
	}
	return cr, aws.ToString(out.VersionId), doc
}

// e2edbCheckPassword checks a new password has the engine's form: 32
// characters, none excluded.
func e2edbCheckPassword(t *testing.T, n int, password, excluded string) {
	t.Helper()
	if len(password) != 32 {
		t.Errorf("rotation %d: the new password has %d characters, want 32", n, len(password))
	}
	if strings.ContainsAny(password, excluded) {
		t.Errorf("rotation %d: the new password has one of the excluded characters %s", n, excluded)
	}
}

// e2edbKeepsOtherKeys checks a rotated value kept every key of the
// original other than username and password.
func e2edbKeepsOtherKeys(t *testing.T, n int, original, rotated map[string]any) {
	t.Helper()
	var want map[string]any
	b, _ := json.Marshal(original) // as the server holds it: numbers are float64
	json.Unmarshal(b, &want)
	got := maps.Clone(rotated)
	for _, m := range []map[string]any{want, got} {
		delete(m, "username")
		delete(m, "password")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rotation %d: the other keys are %v, want %v", n, got, want)
	}
}

// e2edbNoPasswords fails the test when text holds one of passwords.
func e2edbNoPasswords(t *testing.T, where, text string, passwords ...string) {
	t.Helper()
	for i, p := range passwords {
		if p != "" && strings.Contains(text, p) {
			t.Errorf("%s holds password #%d of the test", where, i+1)
		}
	}
}

// e2edbHistory is the answer of `rotor rotation history`.
type e2edbHistory struct {
	Runs []e2edbRun `json:"Runs"`
}

// e2edbRun is one run of a rotation history with its steps.
type e2edbRun struct {
	Run struct {
		VersionID string `json:"VersionId"`
		Status    string `json:"Status"`
		LastError string `json:"LastError"`
	} `json:"Run"`
	Steps []struct {
		Step    string `json:"Step"`
		Attempt int    `json:"Attempt"`
		Outcome string `json:"Outcome"`
		Error   string `json:"Error"`
	} `json:"Steps"`
}

// e2edbWaitRun polls `rotor rotation history` until the run of id to
// version token has status, and returns it and the whole history. It fails
// when the run ends with another status, or after a minute.
func e2edbWaitRun(t *testing.T, s *testServer, id, token, status string) (e2edbRun, string) {
	t.Helper()
	return e2edbWaitRunAt(t, s.URL(), s.KeyID, s.Secret, s.Region, id, token, status)
}

// e2edbWaitRunAt is e2edbWaitRun for the server at endpoint, with the
// administrator's credentials keyID and secret.
func e2edbWaitRunAt(t *testing.T, endpoint, keyID, secret, region, id, token, status string) (e2edbRun, string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := cliAt(t, endpoint, keyID, secret, region, "rotation", "history", id)
		if err != nil {
			t.Fatalf("rotor rotation history %s: %v", id, err)
		}
		last = out
		var h e2edbHistory
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatalf("rotor rotation history %s: %v\n%s", id, err, out)
		}
		for _, r := range h.Runs {
			if r.Run.VersionID != token {
				continue
			}
			switch r.Run.Status {
			case status:
				return r, out
			case "pending", "running":
			default:
				t.Fatalf("run to %s ended %s, want %s:\n%s", token, r.Run.Status, status, out)
			}
		}
	}
	t.Fatalf("run to %s is not %s after a minute:\n%s", token, status, last)
	return e2edbRun{}, ""
}
