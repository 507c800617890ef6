package main

// Several rotor servers (replicas) as child processes on one PostgreSQL
// database, each with a data directory of its own, driven through the real
// SDK. Each test has a fresh database (pgtest.NewDatabase), dropped after.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

// replica is a rotor server process on a database store.
type replica struct {
	*process
	dir     string // its data directory
	keyFile string
	exited  chan struct{} // closed once the process has exited
}

// replicaConfig is the config file every replica of these tests reads:
// short leases, so a killed replica's runs are taken over quickly, and
// unlabeled versions pruned at once (a loop of writes makes hundreds).
const replicaConfig = `[rotation]
lease_ttl = "3s"
[versions]
prune_min_age = "0s"
`

// launchReplica starts `rotor server --store dbURL --key-file keyFile` on a
// new data directory and waits for its URL; it returns an error (with the
// server's standard error) when the server exits or does not start.
func launchReplica(t *testing.T, dbURL, keyFile string, env ...string) (*replica, error) {
	bin, err := builtBinary()
	if err != nil {
		return nil, fmt.Errorf("go build: %v", err)
	}
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	cfg := filepath.Join(base, "rotor.toml")
	if err := os.WriteFile(cfg, []byte(replicaConfig), 0o600); err != nil {
		return nil, err
	}
	p := &process{stdout: filepath.Join(base, "stdout"), stderr: filepath.Join(base, "stderr")}
	outF, _ := os.Create(p.stdout)
	errF, _ := os.Create(p.stderr)
	p.cmd = exec.Command(bin, "server", "--config", cfg, "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "debug",
		"--store", dbURL, "--key-file", keyFile)
	p.cmd.Stdout, p.cmd.Stderr = outF, errF
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-exited; outF.Close(); errF.Close() })
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if f, err := os.Open(p.stdout); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					p.url = m[1]
				}
			}
			f.Close()
		}
		if p.url != "" {
			return &replica{process: p, dir: dir, keyFile: keyFile, exited: exited}, nil
		}
		select {
		case <-exited:
			errs, _ := os.ReadFile(p.stderr)
			return nil, fmt.Errorf("server exited: %s", errs)
		default:
		}
	}
	errs, _ := os.ReadFile(p.stderr)
	return nil, fmt.Errorf("server did not start: %s", errs)
}

// startReplicas starts n replicas on dbURL with one key file, the first
// alone (it makes the key file and the admin identity), and returns them
// with the admin key.
func startReplicas(t *testing.T, dbURL string, n int) ([]*replica, string, string) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "kek.json")
	var rs []*replica
	for i := range n {
		r, err := launchReplica(t, dbURL, keyFile)
		if err != nil {
			t.Fatalf("replica %d: %v", i+1, err)
		}
		rs = append(rs, r)
	}
	id, secret := mustReadCredentials(t, filepath.Join(rs[0].dir, "credentials"))
	return rs, id, secret
}

// sdk is a client of r with the SDK's standard retryer (3 attempts).
func (r *replica) sdk(id, secret string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(r.url),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		HTTPClient:  e2eBufferedDoer{&http.Client{}}})
}

// cliOn runs a client command against r as the given key.
func cliOn(t *testing.T, r *replica, id, secret string, args ...string) (string, error) {
	t.Helper()
	return cliAt(t, r.url, id, secret, "us-east-1", args...)
}

// TestReplicasFirstStartOneAdmin: three replicas started at the same time
// on an empty database with one key file all start, and exactly one admin
// identity is made, its key written by exactly one of them.
func TestReplicasFirstStartOneAdmin(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	keyFile := filepath.Join(t.TempDir(), "kek.json")
	rs := make([]*replica, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range rs {
		wg.Go(func() { rs[i], errs[i] = launchReplica(t, dbURL, keyFile) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i+1, err)
		}
	}
	var withCreds []*replica
	for _, r := range rs {
		if _, err := os.Stat(filepath.Join(r.dir, "credentials")); err == nil {
			withCreds = append(withCreds, r)
		}
	}
	if len(withCreds) != 1 {
		t.Fatalf("%d replicas wrote an admin credentials file, want 1", len(withCreds))
	}
	var n int
	if err := pgtest.Connect(t, dbURL).QueryRow(context.Background(), `SELECT count(*) FROM identities`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d identities after three first starts, want 1", n)
	}
	id, secret := mustReadCredentials(t, filepath.Join(withCreds[0].dir, "credentials"))
	for i, r := range rs { // the one key works on every replica
		if _, err := r.sdk(id, secret).ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{}); err != nil {
			t.Errorf("replica %d refuses the admin key: %v", i+1, err)
		}
	}
}

// TestReplicasDifferentKeyringsRefused: three replicas started at the same
// time on an empty database, each with a key file of its own (so each makes
// its own keyring): the one that made the admin identity serves, the others
// refuse to start and say why.
func TestReplicasDifferentKeyringsRefused(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	rs := make([]*replica, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range rs {
		wg.Go(func() { rs[i], errs[i] = launchReplica(t, dbURL, filepath.Join(t.TempDir(), "kek.json")) })
	}
	wg.Wait()
	started := 0
	for i, err := range errs {
		switch {
		case err == nil:
			started++
		case !strings.Contains(err.Error(), "different keyring") && !strings.Contains(err.Error(), "refusing to start"):
			// "different keyring" when it made its own before another
			// replica's admin existed; "refusing to start" (no key
			// file, which it does not make for a database already in
			// use) when it started after.
			t.Errorf("replica %d: %v; want a refusal naming the keyring", i+1, err)
		}
	}
	if started != 1 {
		t.Fatalf("%d replicas started with keyrings of their own, want 1", started)
	}
}

// TestReplicasReadYourWrites: 200 times, a value written through one
// replica is read back through another that had the secret cached.
func TestReplicasReadYourWrites(t *testing.T) {
	rs, id, secret := startReplicas(t, pgtest.NewDatabase(t), 3)
	ctx := context.Background()
	cs := make([]*secretsmanager.Client, len(rs))
	for i, r := range rs {
		cs[i] = r.sdk(id, secret)
	}
	if _, err := cs[0].CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("ryw"), SecretString: aws.String("v-init")}); err != nil {
		t.Fatal(err)
	}
	read := func(c *secretsmanager.Client) string {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("ryw")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.SecretString)
	}
	prev := "v-init"
	for i := range 200 {
		w, r := cs[i%3], cs[(i+1)%3]
		if got := read(r); got != prev { // r has the secret cached now
			t.Fatalf("iteration %d: reader had %q, want %q", i, got, prev)
		}
		v := fmt.Sprintf("v-%d", i)
		if _, err := w.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("ryw"),
			SecretString: aws.String(v), ClientRequestToken: aws.String(uuid.NewString())}); err != nil {
			t.Fatal(err)
		}
		if got := read(r); got != v {
			t.Fatalf("iteration %d: wrote %q through replica %d, replica %d read %q", i, v, i%3+1, (i+1)%3+1, got)
		}
		prev = v
	}
}

// TestReplicasConcurrentWriters: writers on every replica move AWSCURRENT
// (PutSecretValue), move a custom label between versions
// (UpdateSecretVersionStage) and start rotations of the same secrets at
// once; afterwards every secret has exactly one AWSCURRENT, no label on two
// versions, every acknowledged version, and never more than one active
// rotation run.
func TestReplicasConcurrentWriters(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	rs, id, secret := startReplicas(t, dbURL, 3)
	ctx := context.Background()
	const secrets = 4
	names := make([]string, secrets)
	for i := range names {
		names[i] = fmt.Sprintf("shared/%d", i)
		if _, err := rs[0].sdk(id, secret).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(names[i]),
			SecretString: aws.String(`{"password":"p0"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	type ack struct{ name, version, value string }
	var (
		mu       sync.Mutex
		acked    []ack
		failures []error
		rotated  atomic.Int64
		wg       sync.WaitGroup
	)
	fail := func(err error) { mu.Lock(); failures = append(failures, err); mu.Unlock() }
	for ri, r := range rs {
		for w := range 3 {
			c := r.sdk(id, secret)
			wg.Go(func() {
				for i := range 15 {
					name := names[(ri+w+i)%secrets]
					switch i % 3 {
					case 0, 1:
						token := uuid.NewString()
						value := fmt.Sprintf(`{"password":"r%d-w%d-%d"}`, ri, w, i)
						if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
							SecretString: aws.String(value), ClientRequestToken: aws.String(token)}); err != nil {
							fail(fmt.Errorf("PutSecretValue %s: %w", name, err))
							continue
						}
						mu.Lock()
						acked = append(acked, ack{name, token, value})
						mu.Unlock()
						// Move BLUE onto the version just written.
						d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
						if err != nil {
							fail(err)
							continue
						}
						in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name), VersionStage: aws.String("BLUE"),
							MoveToVersionId: aws.String(token)}
						if holder := e2eHolder(d.VersionIdsToStages, "BLUE"); holder != "" {
							in.RemoveFromVersionId = aws.String(holder)
						}
						// Another writer may have moved BLUE since: then the
						// request is refused, which is correct.
						c.UpdateSecretVersionStage(ctx, in)
					case 2:
						_, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name),
							RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
						if err == nil {
							rotated.Add(1)
						}
					}
				}
			})
		}
	}
	// Meanwhile, no secret ever has two active runs.
	db := pgtest.Connect(t, dbURL)
	done := make(chan struct{})
	var twoActive atomic.Int64
	go func() {
		defer close(done)
		for {
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT secret_arn FROM rotation_runs
				WHERE status IN ('pending', 'running') GROUP BY secret_arn HAVING count(*) > 1) x`).Scan(&n); err == nil && n > 0 {
				twoActive.Add(1)
			}
			if ctx.Err() != nil || wgDone(&wg) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	<-done
	for _, err := range failures {
		t.Error(err)
	}
	if twoActive.Load() > 0 {
		t.Errorf("a secret had two active rotation runs %d times", twoActive.Load())
	}
	if rotated.Load() == 0 {
		t.Error("no RotateSecret succeeded: the test did not exercise rotations")
	}
	// Let the rotations end: every run reaches a final state (a run whose
	// finishSecret lost the race with a concurrent PutSecretValue retries
	// with backoff, and may finally fail, as on AWS).
	for deadline := time.Now().Add(180 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var active int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM rotation_runs WHERE status IN ('pending', 'running')`).Scan(&active); err != nil {
			t.Fatal(err)
		}
		if active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rotation runs still active after 180 s", active)
		}
	}
	// AWSPENDING is left only where the secret's last run failed (AWS
	// leaves the label then too, for the next rotation to reuse or
	// replace). A run a concurrent PutSecretValue abandoned leaves none:
	// that write removed it, and the run's credentials can no longer
	// write once it is abandoned.
	c := rs[1].sdk(id, secret)
	for _, name := range names {
		d := e2eDescribe(t, c, name)
		if e2eHolder(d.VersionIdsToStages, "AWSPENDING") == "" {
			continue
		}
		var status, lastErr string
		if err := db.QueryRow(ctx, `SELECT status, convert_from(last_error, 'UTF8') FROM rotation_runs WHERE secret_arn = $1
			ORDER BY created DESC LIMIT 1`, aws.ToString(d.ARN)).Scan(&status, &lastErr); err != nil {
			t.Fatalf("%s: last run: %v", name, err)
		}
		if status != "failed" {
			t.Errorf("%s has AWSPENDING but its last run is %s: %v", name, status, d.VersionIdsToStages)
		} else {
			t.Logf("%s: last run %s (%q); AWSPENDING stays", name, status, lastErr)
		}
	}
	for ri, r := range rs {
		c := r.sdk(id, secret)
		for _, name := range names {
			seen := map[string]string{}
			current := 0
			for version, stages := range e2eDescribe(t, c, name).VersionIdsToStages {
				for _, st := range stages {
					if other, dup := seen[st]; dup {
						t.Errorf("replica %d: %s has label %s on %s and %s", ri+1, name, st, other, version)
					}
					seen[st] = version
					if st == "AWSCURRENT" {
						current++
					}
				}
			}
			if current != 1 {
				t.Errorf("replica %d: %s has %d AWSCURRENT labels", ri+1, name, current)
			}
		}
	}
	for _, a := range acked {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(a.name), VersionId: aws.String(a.version)})
		if err != nil || aws.ToString(out.SecretString) != a.value {
			t.Errorf("acknowledged version %s of %s: %v, %v", a.version, a.name, out, err)
		}
	}
	var active int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM rotation_runs WHERE status IN ('pending', 'running')`).Scan(&active); err != nil || active != 0 {
		t.Errorf("%d runs still active (%v)", active, err)
	}
}

// wgDone reports whether wg's goroutines have all returned, without
// blocking.
func wgDone(wg *sync.WaitGroup) bool {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	select {
	case <-c:
		return true
	case <-time.After(time.Millisecond):
		return false
	}
}

// TestReplicasRotationsSurviveKill: 100 rotations spread over three
// replicas, one of which is killed (SIGKILL) while they run; every run
// succeeds exactly once — one run per secret, AWSCURRENT on its version —
// and no step of any run is recorded twice for the same attempt.
func TestReplicasRotationsSurviveKill(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	rs, id, secret := startReplicas(t, dbURL, 3)
	ctx := context.Background()
	const n = 100
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("rot/%03d", i)
		if _, err := rs[i%3].sdk(id, secret).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(names[i]),
			SecretString: aws.String(`{"password":"p0"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	db := pgtest.Connect(t, dbURL)
	count := func(q string) int {
		var k int
		if err := db.QueryRow(ctx, q).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			out, err := rs[i%3].sdk(id, secret).RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name),
				RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
			if err != nil {
				t.Errorf("RotateSecret %s: %v", name, err)
				return
			}
			tokens[i] = aws.ToString(out.VersionId)
		})
	}
	wg.Wait()
	// Kill replica 2 once some runs have succeeded and it holds some that
	// have not (its engine claims runs under an id with its pid).
	held := func() []string {
		rows, err := db.Query(ctx, `SELECT id FROM rotation_runs WHERE status = 'running' AND owner LIKE $1`,
			fmt.Sprintf("%%-%d-%%", rs[1].cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
		return ids
	}
	var before int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		before = count(`SELECT count(*) FROM rotation_runs WHERE status = 'succeeded'`)
		if before == n {
			t.Fatal("every rotation finished before the kill: nothing was left to take over")
		}
		if before >= 10 && len(held()) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s, %d runs succeeded and replica 2 held fewer than 2 running", before)
		}
	}
	if err := rs[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-rs[1].exited
	// What it still held once dead is what another replica must take over.
	orphans := held()
	if len(orphans) == 0 {
		t.Fatal("replica 2 finished every run it held before it died: nothing was left to take over")
	}
	t.Logf("replica 2 killed holding %d running runs, with %d of %d runs succeeded", len(orphans), before, n)
	for deadline := time.Now().Add(3 * time.Minute); count(`SELECT count(*) FROM rotation_runs WHERE status = 'succeeded'`) < n; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs succeeded 3 minutes after the kill; by status: %d running, %d pending, %d failed", count(`SELECT count(*) FROM rotation_runs WHERE status = 'succeeded'`), n,
				count(`SELECT count(*) FROM rotation_runs WHERE status = 'running'`), count(`SELECT count(*) FROM rotation_runs WHERE status = 'pending'`),
				count(`SELECT count(*) FROM rotation_runs WHERE status = 'failed'`))
		}
	}
	if k := count(`SELECT count(*) FROM rotation_runs`); k != n {
		t.Errorf("%d runs for %d rotations, want one each", k, n)
	}
	if k := count(`SELECT count(*) FROM (SELECT run_id, step, attempt FROM rotation_steps WHERE outcome = 'ok'
		GROUP BY run_id, step, attempt HAVING count(*) > 1) x`); k != 0 {
		t.Errorf("%d (run, step, attempt) recorded more than once", k)
	}
	if k := count(`SELECT count(*) FROM (SELECT run_id FROM rotation_steps WHERE outcome = 'ok' AND step = 'finishSecret'
		GROUP BY run_id) x`); k != n {
		t.Errorf("%d runs recorded finishSecret, want %d", k, n)
	}
	for _, run := range orphans { // taken over, and finished by another replica
		var status, owner string
		if err := db.QueryRow(ctx, `SELECT status, owner FROM rotation_runs WHERE id = $1`, run).Scan(&status, &owner); err != nil {
			t.Fatal(err)
		}
		if status != "succeeded" || strings.Contains(owner, fmt.Sprintf("-%d-", rs[1].cmd.Process.Pid)) {
			t.Errorf("run %s held by the killed replica: %s, owner %s", run, status, owner)
		}
	}
	c := rs[0].sdk(id, secret)
	for i, name := range names {
		d := e2eDescribe(t, c, name)
		if got := e2eHolder(d.VersionIdsToStages, "AWSCURRENT"); got != tokens[i] || len(d.VersionIdsToStages) != 2 {
			t.Errorf("%s: AWSCURRENT on %s, versions %v; want it on the rotation's %s, 2 versions", name, got, d.VersionIdsToStages, tokens[i])
		}
	}
}

// countingRetryer counts the errors the SDK retried.
type countingRetryer struct {
	aws.RetryerV2
	retried *atomic.Int64
	kinds   *sync.Map // error code or type → true
}

func (r countingRetryer) IsErrorRetryable(err error) bool {
	ok := r.RetryerV2.IsErrorRetryable(err)
	if ok {
		r.retried.Add(1)
		var ae smithy.APIError
		if errors.As(err, &ae) {
			r.kinds.Store(ae.ErrorCode(), true)
		} else {
			r.kinds.Store(fmt.Sprintf("%T", err), true)
		}
	}
	return ok
}

// TestReplicasSurviveTerminatedConnections: while writers write through
// every replica, every database connection of the replicas is terminated
// (pg_terminate_backend), three times. Clients see
// ServiceUnavailableException, which the SDK retries; every write
// acknowledged is there afterwards with its value, and the replicas keep
// serving.
func TestReplicasSurviveTerminatedConnections(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	rs, id, secret := startReplicas(t, dbURL, 3)
	ctx := context.Background()
	var retried atomic.Int64
	var kinds sync.Map
	client := func(r *replica) *secretsmanager.Client {
		return secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(r.url),
			Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
			HTTPClient:  e2eBufferedDoer{&http.Client{}},
			Retryer: countingRetryer{RetryerV2: retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 5 }),
				retried: &retried, kinds: &kinds}})
	}
	type ack struct{ name, version, value string }
	var (
		mu    sync.Mutex
		acked []ack
		lost  []error // errors after every retry
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 6 {
		c := client(rs[w%3])
		wg.Go(func() {
			// A new secret per write: every version written stays (no
			// pruning), under the token the client chose.
			for i := 0; !stop.Load(); i++ {
				name, token, value := fmt.Sprintf("term/%d/%d", w, i), uuid.NewString(), fmt.Sprintf("w%d-%d", w, i)
				_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name),
					SecretString: aws.String(value), ClientRequestToken: aws.String(token)})
				mu.Lock()
				if err != nil {
					lost = append(lost, err)
				} else {
					acked = append(acked, ack{name, token, value})
				}
				mu.Unlock()
			}
		})
	}
	admin := pgtest.Connect(t, dbURL)
	var terminated int
	for range 3 {
		time.Sleep(700 * time.Millisecond)
		var k int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'rotor%'`).Scan(&k); err != nil {
			t.Fatal(err)
		}
		terminated += k
	}
	time.Sleep(700 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if terminated == 0 {
		t.Fatal("no connection of the replicas was terminated")
	}
	var names []string
	kinds.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	slices.Sort(names)
	t.Logf("%d connections terminated; %d writes acknowledged; %d errors retried by the SDK (%s); %d failed after retries",
		terminated, len(acked), retried.Load(), strings.Join(names, ", "), len(lost))
	if retried.Load() == 0 {
		t.Error("no client saw a retryable error: the terminations were not felt")
	}
	if _, ok := kinds.Load("InternalServiceError"); ok {
		t.Error("a lost connection was answered InternalServiceError; want ServiceUnavailableException")
	}
	for _, err := range lost {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() != "ServiceUnavailableException" {
			t.Errorf("a write failed with an error other than ServiceUnavailableException: %v", err)
		}
	}
	c := rs[2].sdk(id, secret)
	for _, a := range acked {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(a.name), VersionId: aws.String(a.version)})
		if err != nil || aws.ToString(out.SecretString) != a.value {
			t.Errorf("acknowledged write %s of %s: %v, %v", a.version, a.name, out, err)
		}
	}
}

// TestBackupOnDatabaseStore: `rotor backup` against a replica, downloaded
// or on the server, answers what to use instead, and writes no file.
func TestBackupOnDatabaseStore(t *testing.T) {
	rs, id, secret := startReplicas(t, pgtest.NewDatabase(t), 1)
	dir := t.TempDir()
	before := dirNames(t, rs[0].dir)
	for _, args := range [][]string{{"backup", filepath.Join(dir, "backup.db")}, {"backup", "--on-server", "backup.db"}} {
		out, err := cliOn(t, rs[0], id, secret, args...)
		if err == nil {
			t.Fatalf("%v succeeded: %s", args, out)
		}
		if !strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("%v: error %q does not say to use pg_dump", args, err)
		}
	}
	if got := dirNames(t, dir); len(got) > 0 {
		t.Errorf("backup wrote %v", got)
	}
	if got := dirNames(t, rs[0].dir); !slices.Equal(got, before) {
		t.Errorf("the replica's data directory holds %v, had %v", got, before)
	}
	if _, err := rs[0].sdk(id, secret).ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{}); err != nil {
		t.Errorf("the replica stopped serving after the backup request: %v", err)
	}
}

// TestKeyRotationAcrossReplicas: three replicas, each with its own copy of
// the key file. A rotation without a staged key is refused; with a key
// staged in every copy, it succeeds on one replica while the others keep
// reading every value, and once every copy has the new key active the old
// one is retired and every replica still reads everything.
func TestKeyRotationAcrossReplicas(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	first, err := launchReplica(t, dbURL, filepath.Join(t.TempDir(), "kek.json"))
	if err != nil {
		t.Fatal(err)
	}
	id, secret := mustReadCredentials(t, filepath.Join(first.dir, "credentials"))
	rs := []*replica{first}
	for range 2 {
		own := filepath.Join(t.TempDir(), "kek.json")
		copyFile(t, first.keyFile, own)
		os.Chmod(own, 0o600)
		r, err := launchReplica(t, dbURL, own)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	ctx := context.Background()
	const secrets = 20
	for i := range secrets {
		if _, err := first.sdk(id, secret).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("k/%d", i)),
			SecretString: aws.String(fmt.Sprintf("value-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	old := envelopeActive(t, first.keyFile)
	if _, err := cliOn(t, first, id, secret, "keys", "rotate"); err == nil || !strings.Contains(err.Error(), "rotor keys add") {
		t.Fatalf("keys rotate without a staged key: %v; want a refusal naming 'rotor keys add'", err)
	}

	// Stage a key in a copy and give it to every replica.
	staged := filepath.Join(t.TempDir(), "staged.json")
	copyFile(t, first.keyFile, staged)
	os.Chmod(staged, 0o600)
	var out, errOut strings.Builder
	if code := run(ctx, []string{"keys", "add", staged}, &out, &errOut); code != 0 {
		t.Fatalf("keys add: %s", errOut.String())
	}
	for _, r := range rs {
		copyFile(t, staged, r.keyFile)
		os.Chmod(r.keyFile, 0o600)
	}

	// Readers on the other replicas read every value through the rotation.
	var stop atomic.Bool
	var readErrs, reads atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for _, r := range rs[1:] {
		c := r.sdk(id, secret)
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("k/%d", i%secrets)
				got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
				if err != nil || aws.ToString(got.SecretString) != fmt.Sprintf("value-%d", i%secrets) {
					readErrs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", name, err))
				}
				reads.Add(1)
			}
		})
	}
	rotated, err := cliOn(t, first, id, secret, "keys", "rotate")
	time.Sleep(500 * time.Millisecond) // reads after the re-wrap, on the other replicas
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("keys rotate with a staged key: %v", err)
	}
	var resp struct{ Key struct{ KeyId string } }
	json.Unmarshal([]byte(rotated), &resp)
	if resp.Key.KeyId == "" || resp.Key.KeyId == old {
		t.Fatalf("keys rotate answered %s", rotated)
	}
	if readErrs.Load() > 0 {
		t.Fatalf("%d of %d reads on the other replicas failed during the rotation; first: %v", readErrs.Load(), reads.Load(), firstErr.Load())
	}

	// Give every replica the rotated key file; once each has the new key
	// active, retire the old one.
	for _, r := range rs[1:] {
		copyFile(t, first.keyFile, r.keyFile)
		os.Chmod(r.keyFile, 0o600)
	}
	for _, r := range rs {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			list, err := cliOn(t, r, id, secret, "keys", "list")
			if err == nil && regexp.MustCompile(`"KeyId":\s*"`+resp.Key.KeyId+`"[^}]*"Active":\s*true`).MatchString(list) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica at %s does not have %s active: %s %v", r.url, resp.Key.KeyId, list, err)
			}
		}
	}
	if _, err := cliOn(t, first, id, secret, "keys", "retire", old); err != nil {
		t.Fatalf("retire %s: %v", old, err)
	}
	for ri, r := range rs {
		for i := range secrets {
			got, err := r.sdk(id, secret).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(fmt.Sprintf("k/%d", i))})
			if err != nil || aws.ToString(got.SecretString) != fmt.Sprintf("value-%d", i) {
				t.Errorf("replica %d after the retire: k/%d: %v", ri+1, i, err)
			}
		}
	}
}

// envelopeActive returns the active key id of the key file at path.
func envelopeActive(t *testing.T, path string) string {
	t.Helper()
	kr, err := envelope.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return kr.ActiveID()
}

// TestMigrateToPostgres: `rotor migrate` copies a stopped SQLite server
// into an empty database and verifies it; a replica started on the
// database with the same keyring serves every value; a second migrate
// into the same database is refused.
func TestMigrateToPostgres(t *testing.T) {
	src := migrationSource(t)
	dbURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	var out, errOut strings.Builder
	if code := run(ctx, []string{"migrate", "--from", src.DataDir, "--to", dbURL}, &out, &errOut); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Verified") {
		t.Errorf("migrate printed %q", out.String())
	}
	r, err := launchReplica(t, dbURL, src.Config.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	id, secret := mustReadCredentials(t, src.Config.CredentialsPath())
	c := r.sdk(id, secret)
	for i := range 3 {
		name := fmt.Sprintf("app/%d", i)
		for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS", "CUSTOM"} {
			got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String(stage)})
			if err != nil {
				t.Fatalf("%s %s: %v", name, stage, err)
			}
			var want string
			switch stage {
			case "AWSCURRENT":
				if string(got.SecretBinary) != string([]byte{0, 1, 2, byte(i), 0xff}) {
					t.Errorf("%s %s = %v", name, stage, got.SecretBinary)
				}
				continue
			case "AWSPREVIOUS":
				want = fmt.Sprintf(`{"v":%d}`, i)
			case "CUSTOM":
				want = "staged"
			}
			if aws.ToString(got.SecretString) != want {
				t.Errorf("%s %s = %q, want %q", name, stage, aws.ToString(got.SecretString), want)
			}
		}
	}
	errOut.Reset()
	if code := run(ctx, []string{"migrate", "--from", src.DataDir, "--to", dbURL}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "not empty") {
		t.Errorf("second migrate: exit %d, %q; want a refusal of a non-empty target", code, errOut.String())
	}
}
