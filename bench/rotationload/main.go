// Command rotationload shows that rotating a database secret causes no
// application errors: W workers open a new connection through Rotor's
// connector (client/pgsecret, client/mysqlsecret, client/redissecret) in a
// loop — connect, log in, SELECT 1 or PING, close — while the server
// rotates the secret R times with a built-in rotation function, for each
// engine and strategy:
//
//	postgres  single-user, alternating-users
//	mariadb   single-user, alternating-users
//	redis     single-user, multi-credential
//
// Rotations are started with RotateSecret through aws-sdk-go-v2; the
// program waits for each run to finish (rotor.RotationHistory) and starts
// the next -interval after the previous one ended. The interval must be at
// least twice the client cache's TTL, so that a consumer refreshing once
// per interval never meets a password that was reset under it: from one
// finishSecret to the next setSecret at least the interval passes, however
// long a rotation takes. The application uses the client's real defaults except
// the TTL (retry budget 5 logins / 10 s, AWSPENDING shortcut on).
//
// Then the same W workers run for as long again with no rotation: the
// baseline. Per engine × strategy it prints rotations done, raw
// authentication failures counted by the connector, errors the application
// saw, connect+query latency p50/p99 beside the baseline's, and the
// requests the application's cache sent (DescribeSecret, GetSecretValue).
//
//	go run ./bench/rotationload [-workers 4] [-rotations 100] [-ttl 250ms] [-interval 600ms] \
//	    [-engines postgres,mariadb,redis] [-strategies single-user,alternating-users,multi-credential]
//
// The goal: zero application errors for every strategy, and zero raw
// authentication failures for alternating users and multiple credentials.
// The exit status is 0 when the goal is met, 3 when it is missed, 1 on any
// other failure.
//
// It builds ./cmd/rotor (run it from inside the module, or pass -rotor) and
// runs it as `rotor server --prune-min-age 0s` on a free loopback port with
// a temporary data directory. The databases are those of the project's
// integration tests: ROTOR_TEST_POSTGRES_URL, ROTOR_TEST_MYSQL_URL and
// ROTOR_TEST_REDIS_URL (defaults on 127.0.0.1; see scripts/services). It
// creates its own users (PostgreSQL roles in rotor_password_auth, so their
// passwords are really checked) and drops them afterwards.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// runMain is the program: it parses args, runs every engine × strategy
// selected, prints the tables to stdout and progress to stderr, and
// returns the exit status.
func runMain(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("rotationload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workers := fs.Int("workers", 4, "workers opening connections in a loop")
	rotations := fs.Int("rotations", 100, "rotations per engine × strategy")
	ttl := fs.Duration("ttl", 250*time.Millisecond, "client cache TTL (client.WithTTL)")
	interval := fs.Duration("interval", 0, "time from the end of one rotation to the start of the next (default 2.4 × TTL; at least 2 × TTL)")
	engines := fs.String("engines", strings.Join(allEngines, ","), "engines to rotate")
	strategies := fs.String("strategies", strings.Join(allStrategies, ","), "strategies to rotate with (each where the engine has it)")
	rotorBin := fs.String("rotor", "", "rotor binary (default: go build ./cmd/rotor)")
	verbose := fs.Bool("v", false, "print the client's log (each refused login, refresh failures) to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *interval == 0 {
		*interval = *ttl * 12 / 5
	}
	combos, err := selectCombos(*engines, *strategies)
	if err != nil {
		fmt.Fprintln(stderr, "rotationload:", err)
		return 2
	}
	cfg := config{
		workers: *workers, rotations: *rotations, ttl: *ttl, interval: *interval, rotorBin: *rotorBin,
		urls: map[string]string{}, progress: stderr,
	}
	for _, e := range allEngines {
		cfg.urls[e] = serviceURL(e, getenv)
	}
	if *verbose {
		cfg.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	quietDrivers()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b, err := newBench(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "rotationload:", err)
		return 1
	}
	defer b.close()
	fmt.Fprintf(stderr, "started %s\n", time.Now().Format(time.RFC3339))
	var results []*result
	failed := false
	for _, c := range combos {
		r, err := b.run(ctx, c.engine, c.strategy)
		if r != nil {
			results = append(results, r)
		}
		if err != nil {
			fmt.Fprintf(stderr, "rotationload: %s %s: %v\n", c.engine, c.strategy, err)
			failed = true
			if ctx.Err() != nil {
				break
			}
		}
	}
	report(stdout, b.cfg, results)
	switch {
	case failed:
		return 1
	case slices.ContainsFunc(results, func(r *result) bool { return !r.goalMet() }):
		return 3
	}
	return 0
}

// combo is one engine × strategy.
type combo struct{ engine, strategy string }

// selectCombos returns the engine × strategy pairs Rotor has a built-in
// function for, among the comma-separated engines and strategies, in the
// canonical order. Unknown names are an error; so is a selection with no
// pair at all.
func selectCombos(engines, strategies string) ([]combo, error) {
	es, err := pick(engines, allEngines, "engine")
	if err != nil {
		return nil, err
	}
	ss, err := pick(strategies, allStrategies, "strategy")
	if err != nil {
		return nil, err
	}
	var out []combo
	for _, e := range allEngines {
		for _, s := range allStrategies {
			if slices.Contains(es, e) && slices.Contains(ss, s) && supports(e, s) {
				out = append(out, combo{e, s})
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no selected engine has a selected strategy")
	}
	return out, nil
}

// pick splits a comma-separated list and checks every item is in known.
func pick(list string, known []string, what string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(known, s) {
			return nil, fmt.Errorf("unknown %s %q (known: %s)", what, s, strings.Join(known, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// quietDrivers stops go-redis and go-sql-driver/mysql from logging every
// failed dial: the benchmark counts errors itself.
func quietDrivers() {
	redis.SetLogger(quietLog{})
	mysql.SetLogger(mysql.Logger(quietLog{}))
}

type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

func (quietLog) Print(...any) {}
