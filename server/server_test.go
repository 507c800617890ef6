package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/server"
	"github.com/rotorhq/rotor/sqlite"
)

// TestServeOverStore builds a core with New over a SQLite store, starts
// it, and drives it with the real SDK: what one request writes the next
// reads back, and /health answers without a signature.
func TestServeOverStore(t *testing.T) {
	ctx := context.Background()
	st, kr := openStore(t)
	core, err := server.New(ctx, server.Options{Store: st, Keyring: kr, Regions: []string{"eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	core.Start()
	defer core.Close()
	key, err := core.Auth.Bootstrap(ctx)
	if err != nil || key == nil {
		t.Fatalf("Bootstrap = %v, %v", key, err)
	}
	hs := httptest.NewServer(core.Handler())
	defer hs.Close()

	c := secretsmanager.New(secretsmanager.Options{Region: "eu-west-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/db"), SecretString: aws.String("s3cret")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/db")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.SecretString); got != "s3cret" {
		t.Errorf("SecretString = %q, want s3cret", got)
	}

	resp, err := http.Get(hs.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"status":"ok","audit":{"enabled":false}}` {
		t.Errorf("GET /health = %d %s", resp.StatusCode, body)
	}
}

// TestNewRequiresStoreAndKeyring: a core without its store, keyring or a
// region is refused with an error, not a panic later.
func TestNewRequiresStoreAndKeyring(t *testing.T) {
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]server.Options{
		"no store":   {Keyring: kr, Regions: []string{"us-east-1"}},
		"no keyring": {Store: nil, Regions: []string{"us-east-1"}},
	} {
		if _, err := server.New(context.Background(), opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := server.New(context.Background(), server.Options{Store: st, Keyring: kr}); err == nil {
		t.Error("no regions: New succeeded")
	}
}

// TestStartPreloadsCache: a core started with PreloadCache on a store that
// already holds secrets fills its cache in the background (and one without
// it does not), and then serves a secret's first read from the cache.
func TestStartPreloadsCache(t *testing.T) {
	ctx := context.Background()
	st, kr := openStore(t)
	opts := server.Options{Store: st, Keyring: kr, Regions: []string{"us-east-1"}}
	first, err := server.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	key, err := first.Auth.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(first.Handler())
	c := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	const n = 5
	for i := range n {
		if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("app/%d", i)), SecretString: aws.String("v")}); err != nil {
			t.Fatal(err)
		}
	}
	hs.Close()
	first.Close()

	for _, preload := range []bool{false, true} {
		opts.PreloadCache = preload
		core, err := server.New(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		core.Start()
		if preload {
			deadline := time.Now().Add(30 * time.Second)
			for core.Manager.CacheStats().Entries < n && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
		} else {
			time.Sleep(100 * time.Millisecond) // a preload, if any, would have begun
		}
		got := core.Manager.CacheStats()
		core.Close()
		if want := map[bool]int{false: 0, true: n}[preload]; got.Entries != want {
			t.Errorf("PreloadCache %v: %d secrets cached after Start, want %d", preload, got.Entries, want)
		}
	}
}

// openStore opens a SQLite store in a temporary directory (closed when the
// test ends) and generates a keyring.
func openStore(t *testing.T) (*sqlite.Store, *envelope.Keyring) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return st, kr
}
