package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
)

// TestCrashMidSetSecretResumes kills the server (SIGKILL) inside setSecret
// of a built-in PostgreSQL rotation, after the function changed the
// database but before the step was recorded ("invoked:setSecret"), restarts
// it on the same data directory, and checks that the run finishes: the
// history shows it succeeded with every step done, AWSCURRENT is the new
// version and logs in (as its own user; a wrong password is refused), and
// no AWSPENDING is left.
func TestCrashMidSetSecretResumes(t *testing.T) {
	cases := []struct {
		name, function string
		alternating    bool
	}{
		{"postgres/single-user", "rotor-postgres-single-user", false},
		{"postgres/alternating-users", "rotor-postgres-alternating-users", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := newE2EDBPostgres(t)
			dir := filepath.Join(t.TempDir(), "data")
			p := startProcess(t, dir, "ROTOR_TEST_FAILPOINT=invoked:setSecret")
			c := p.client(t, dir)

			user, initial := builtintest.Unique("e2edb_pg_crash_"), builtintest.Unique("initial-pw-")
			tg.createUser(t, user, initial, false)
			e2edbGrantDatabase(t, tg, user)
			tg.grantRead(t, "granted", user)
			doc := tg.secret("postgres", user, initial)
			if tc.alternating {
				admin, adminPW := builtintest.Unique("e2edb_pg_crash_adm_"), builtintest.Unique("admin-pw-")
				tg.createUser(t, admin, adminPW, true)
				doc["masterarn"] = e2edbCreate(t, c, "e2edb/"+admin, tg.secret("postgres", admin, adminPW))
			}
			id := e2edbCreate(t, c, "e2edb/"+user, doc)
			out, err := c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String(id), RotationLambdaARN: aws.String(lambdaARN(tc.function))})
			e2eNoErr(t, "RotateSecret", err)
			token := aws.ToString(out.VersionId)

			waitFailpoint(t, p, "invoked:setSecret")
			// The crash point is the one the test names: the database has
			// the AWSPENDING credentials already.
			pending, version, _ := e2edbVersion(t, c, id, "AWSPENDING")
			if version != token {
				t.Fatalf("AWSPENDING is version %s, want the run's %s", version, token)
			}
			e2edbMustLogIn(t, tg, pending.Username, pending.Password)
			if !tc.alternating {
				e2edbMustRefuse(t, tg, user, initial)
			}
			p.cmd.Process.Signal(syscall.SIGKILL)
			p.cmd.Wait()

			p2 := startProcess(t, dir)
			c2 := p2.client(t, dir)
			keyID, secret := mustReadCredentials(t, filepath.Join(dir, "credentials"))
			run, raw := e2edbWaitRunAt(t, p2.url, keyID, secret, "us-east-1", id, token, "succeeded")
			done := map[string]bool{}
			for _, st := range run.Steps {
				done[st.Step] = done[st.Step] || st.Outcome == "ok"
			}
			for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
				if !done[step] {
					t.Errorf("the history has no successful %s:\n%s", step, raw)
				}
			}
			waitRotated(t, c2, id, token) // AWSCURRENT on the run's version, no AWSPENDING

			cur, version, _ := e2edbVersion(t, c2, id, "AWSCURRENT")
			if version != token || cur != pending {
				t.Fatalf("AWSCURRENT is version %s for %q, want the run's %s with the credentials set before the crash", version, cur.Username, token)
			}
			e2edbMustLogIn(t, tg, cur.Username, cur.Password)
			e2edbMustRead(t, tg, cur.Username, cur.Password, "granted", true)
			if tc.alternating {
				if cur.Username != user+"_clone" {
					t.Fatalf("AWSCURRENT is for %q, want the clone %q", cur.Username, user+"_clone")
				}
				e2edbMustLogIn(t, tg, user, initial) // AWSPREVIOUS keeps working
			} else {
				e2edbMustRefuse(t, tg, user, initial)
			}
			logs, _ := os.ReadFile(p2.stderr)
			e2edbNoPasswords(t, "the server log", string(logs), initial, cur.Password)
		})
	}
}

// waitFailpoint waits until p says it stopped at failpoint point.
func waitFailpoint(t *testing.T, p *process, point string) {
	t.Helper()
	re := regexp.MustCompile(`ROTOR_TEST_FAILPOINT ` + regexp.QuoteMeta(point) + ` reached`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if logs, _ := os.ReadFile(p.stderr); re.Match(logs) {
			return
		}
	}
	logs, _ := os.ReadFile(p.stderr)
	t.Fatalf("failpoint %s never reached:\n%s", point, strings.TrimSpace(string(logs)))
}
