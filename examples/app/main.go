// Command app is an example application that keeps a PostgreSQL pool
// working across credential rotations. It reads the database secret (AWS's
// JSON shape) through Rotor's client cache and opens every connection
// through pgsecret, which retries a refused login with refreshed (or
// AWSPENDING) credentials.
//
// It uses the AWS SDK's default configuration, so the usual environment
// works, against Rotor or AWS:
//
//	export AWS_SHARED_CREDENTIALS_FILE=rotor-data/credentials AWS_PROFILE=rotor AWS_REGION=us-east-1
//	export AWS_ENDPOINT_URL=http://127.0.0.1:8740     # or pass -endpoint
//	go run ./examples/app -secret-id prod/app/postgres -interval 2s
//
// Every interval it reads the secret through the cache and runs a query on
// a fresh pool connection, printing who it is logged in as and the cache's
// and connector's counters. Rotate the secret meanwhile (PutSecretValue, or
// a Rotor rotation) and watch it carry on.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/pgsecret"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

// run is the program; it returns when count queries are done, ctx ends,
// or a query fails.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "Secrets Manager endpoint, e.g. http://127.0.0.1:8740 (default: the SDK's, which honours AWS_ENDPOINT_URL)")
	secretID := fs.String("secret-id", "", "name or ARN of the PostgreSQL secret (required)")
	interval := fs.Duration("interval", 2*time.Second, "time between queries")
	count := fs.Int("count", 0, "number of queries, then exit (0: until interrupted)")
	ttl := fs.Duration("ttl", client.DefaultTTL, "how long the cache trusts a secret's description")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secretID == "" {
		fs.Usage()
		return errors.New("-secret-id is required")
	}

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if *endpoint != "" {
			o.BaseEndpoint = aws.String(*endpoint)
		}
	})
	cache := client.New(sm, client.WithTTL(*ttl))
	conn := pgsecret.NewConnector(cache, *secretID)
	db := sql.OpenDB(conn)
	defer db.Close()
	// Recycle connections so that new logins happen while the program
	// runs; each one reads the secret through the cache.
	db.SetConnMaxLifetime(*interval)

	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for n := 1; *count == 0 || n <= *count; n++ {
		s, err := cache.GetDBSecret(ctx, *secretID)
		if err != nil {
			return fmt.Errorf("read secret: %w", err)
		}
		var user string
		if err := db.QueryRowContext(ctx, "SELECT current_user").Scan(&user); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		cs, ds := cache.Stats(), conn.Stats()
		fmt.Fprintf(out, "query %d: logged in as %s; AWSCURRENT is version %s; requests: %d DescribeSecret, %d GetSecretValue; logins %d (AWSPENDING %d), raw auth failures %d, waits %d\n",
			n, user, s.VersionID, cs.DescribeSecretCalls, cs.GetSecretValueCalls, ds.Logins, ds.PendingLogins, ds.AuthFailures, ds.Waits)
		if *count != 0 && n == *count {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
