// Command pgrotation measures one PostgreSQL single-user rotation: the time
// from RotateSecret to AWSCURRENT on the new version, with the built-in
// function rotor-postgres-single-user and the real engine, against a
// reference that does what the rotation must do to the database, directly:
// ALTER ROLE ... PASSWORD on an open session, then one fresh login with the
// new password.
//
//	go run ./bench/pgrotation [-rotations 50] [-url postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable]
//
// The server is wired in-process (SQLite store with synchronous=FULL in a
// temp dir, keyring, auth, manager, engine). The role it rotates is created
// for the run IN ROLE rotor_password_auth, so its password is really
// checked (scram-sha-256), and dropped afterwards. The secret says
// "ssl": false (the server listens on loopback without TLS).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/rotation/builtins"
	"github.com/rotorhq/rotor/rotation/lambda"
	"github.com/rotorhq/rotor/server"
	"github.com/rotorhq/rotor/sqlite"
)

const region = "us-east-1"

func main() {
	n := flag.Int("rotations", 50, "rotations measured (and reference iterations)")
	raw := flag.String("url", envOr("ROTOR_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "superuser URL of the PostgreSQL server")
	flag.Parse()
	if err := run(*n, *raw); err != nil {
		fmt.Fprintln(os.Stderr, "pgrotation:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// timed wraps a function and adds up the time spent inside it.
type timed struct {
	fn    lambda.Function
	total atomic.Int64
}

func (t *timed) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	t0 := time.Now()
	res, err := t.fn.Invoke(ctx, inv)
	t.total.Add(int64(time.Since(t0)))
	return res, err
}

func ident(s string) string   { return pgx.Identifier{s}.Sanitize() }
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func password() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func run(n int, raw string) error {
	ctx := context.Background()
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	port := 5432
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return err
		}
	}
	admin, err := pgx.Connect(ctx, raw)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	defer admin.Close(ctx)
	user, ref := "rotor_bench_pgrot_"+password()[:8], "rotor_bench_pgref_"+password()[:8]
	pw := password()
	for _, r := range []string{user, ref} {
		if _, err := admin.Exec(ctx, "CREATE ROLE "+ident(r)+" WITH LOGIN PASSWORD "+literal(pw)+" IN ROLE rotor_password_auth"); err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		defer admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident(r))
	}
	login := func(role, password string) error {
		cfg, err := pgx.ParseConfig("sslmode=disable dbname=postgres connect_timeout=5")
		if err != nil {
			return err
		}
		cfg.Host, cfg.Port, cfg.User, cfg.Password = u.Hostname(), uint16(port), role, password
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var one int
		return c.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	if err := login(user, "wrong-"+pw); err == nil {
		return errors.New("a wrong password was accepted: is pg_hba.conf set up by scripts/services (rotor_password_auth)?")
	}

	// Reference: ALTER ROLE on an open session, then one fresh login.
	refTimes := make([]time.Duration, 0, n)
	for range n {
		next := password()
		t0 := time.Now()
		if _, err := admin.Exec(ctx, "ALTER ROLE "+ident(ref)+" PASSWORD "+literal(next)); err != nil {
			return err
		}
		if err := login(ref, next); err != nil {
			return fmt.Errorf("reference login: %w", err)
		}
		refTimes = append(refTimes, time.Since(t0))
	}

	// Rotor.
	dir, err := os.MkdirTemp("", "rotor-pgrotation")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(filepath.Join(dir, "rotor.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	kr, err := envelope.Generate()
	if err != nil {
		return err
	}
	core, err := server.New(ctx, server.Options{Store: store, Keyring: kr, Regions: []string{region},
		Account: "000000000000", PruneMinAge: time.Nanosecond, Rotation: server.RotationOptions{MaxAttempts: 1}})
	if err != nil {
		return err
	}
	defer core.Close()
	svc, eng := core.Manager, core.Engine
	eng.PollInterval = time.Hour // woken by RotateSecret, never by polling
	fn := &timed{fn: builtins.Functions(svc, nil)[builtins.PostgresSingleUser]}
	core.Registry.Register("pg", "builtin", nil, fn)
	arn := core.Registry.ARN(region, "pg")
	cctx := rotor.NewContext(ctx, rotor.Caller{Region: region, Principal: rotor.Principal{Identity: "bench", Role: rotor.RoleAdmin}})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go eng.Run(runCtx)

	value, _ := json.Marshal(map[string]any{"engine": "postgres", "host": u.Hostname(), "port": port, "username": user,
		"password": pw, "dbname": "postgres", "ssl": false})
	v := string(value)
	if _, err := svc.CreateSecret(cctx, rotor.CreateSecretInput{Name: "pg", ClientRequestToken: uuid.NewString(), Value: rotor.Value{String: &v}}); err != nil {
		return err
	}
	current := func() (string, error) {
		out, err := svc.DescribeSecret(cctx, "pg")
		if err != nil {
			return "", err
		}
		for id, stages := range out.VersionStages {
			if slices.Contains(stages, rotor.StageCurrent) {
				return id, nil
			}
		}
		return "", errors.New("no AWSCURRENT")
	}
	times := make([]time.Duration, 0, n)
	outside := make([]time.Duration, 0, n) // per rotation: time not in the function
	var fnTotal time.Duration
	for i := range n {
		fn.total.Store(0)
		t0 := time.Now()
		out, err := svc.RotateSecret(cctx, rotor.RotateSecretInput{SecretID: "pg", ClientRequestToken: uuid.NewString(), RotationLambdaARN: arn})
		if err != nil {
			return fmt.Errorf("rotation %d: %w", i, err)
		}
		for {
			id, err := current()
			if err != nil {
				return err
			}
			if id == out.VersionID {
				break
			}
			if time.Since(t0) > 30*time.Second {
				runs, _ := svc.ListRotationRuns(cctx, rotor.RunFilter{SecretID: "pg", Limit: 1})
				return fmt.Errorf("rotation %d did not finish: %+v", i, runs)
			}
			time.Sleep(200 * time.Microsecond)
		}
		times = append(times, time.Since(t0))
		// Wait for the run to end before the next RotateSecret.
		for {
			runs, err := svc.ListRotationRuns(cctx, rotor.RunFilter{SecretID: "pg", Limit: 1})
			if err != nil {
				return err
			}
			if len(runs) == 1 && runs[0].Status == rotor.RunSucceeded {
				break
			}
			if len(runs) == 1 && runs[0].Status == rotor.RunFailed {
				return fmt.Errorf("rotation %d failed: %s", i, runs[0].LastError)
			}
			time.Sleep(time.Millisecond)
		}
		fnTotal += time.Duration(fn.total.Load())
		// The function's time includes the end of finishSecret after
		// AWSCURRENT moved, so this slightly understates the rest.
		outside = append(outside, times[i]-time.Duration(fn.total.Load()))
	}
	// The role's password is AWSCURRENT's.
	var cur struct{ Password string }
	got, err := svc.GetSecretValue(cctx, rotor.GetSecretValueInput{SecretID: "pg"})
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(*got.Value.String), &cur); err != nil {
		return err
	}
	if err := login(user, cur.Password); err != nil {
		return fmt.Errorf("log in with the final AWSCURRENT: %w", err)
	}

	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	fmt.Printf("PostgreSQL single-user rotation, %d rotations, scram-sha-256 role, SQLite with synchronous=FULL\n", n)
	fmt.Printf("%-44s %10s %10s %10s\n", "", "median", "min", "max")
	for _, r := range []struct {
		name string
		ds   []time.Duration
	}{{"rotor: RotateSecret -> AWSCURRENT moved", times}, {"reference: ALTER ROLE + one fresh login", refTimes}} {
		fmt.Printf("%-44s %10s %10s %10s\n", r.name, med(r.ds).Round(10*time.Microsecond), slices.Min(r.ds).Round(10*time.Microsecond), slices.Max(r.ds).Round(10*time.Microsecond))
	}
	fmt.Printf("time in the function (4 steps) per rotation, mean: %s\n", (fnTotal / time.Duration(n)).Round(10*time.Microsecond))
	fmt.Printf("time outside the function (engine and store) per rotation, median: %s\n", med(outside).Round(10*time.Microsecond))
	// Per step, from the runs' recorded history.
	perStep := map[string]time.Duration{}
	if err := store.View(ctx, func(tx rotor.Tx) error {
		runs, err := tx.Runs(region, "", "", 0)
		if err != nil {
			return err
		}
		for _, r := range runs {
			steps, err := tx.Steps(r.ID)
			if err != nil {
				return err
			}
			for _, st := range steps {
				perStep[st.Step] += st.Duration
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, st := range rotor.Steps {
		fmt.Printf("  %-13s mean %s\n", st, (perStep[st] / time.Duration(n)).Round(10*time.Microsecond))
	}
	fmt.Printf("ratio reference/rotor (medians) = %.2f\n", med(refTimes).Seconds()/med(times).Seconds())
	return nil
}
