package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// testServer is a real Rotor server running in-process on a free loopback
// port with its own data directory.
type testServer struct {
	*Main
	Stdout  *syncBuffer
	Logs    *syncBuffer
	KeyID   string
	Secret  string
	Region  string
	DataDir string
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (the server logs
// from several goroutines).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MustRunMain starts a server on dataDir (a new temp dir if "") and stops it
// when the test ends. edit may change the configuration first.
func MustRunMain(tb testing.TB, dataDir string, edit func(*Config)) *testServer {
	tb.Helper()
	return mustRunMainEnv(tb, dataDir, edit, nil)
}

// mustRunMainEnv is MustRunMain with env as the server's whole environment.
func mustRunMainEnv(tb testing.TB, dataDir string, edit func(*Config), env map[string]string) *testServer {
	tb.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(tb.TempDir(), "data")
	}
	cfg := DefaultConfig()
	cfg.DataDir = dataDir
	cfg.Listen = "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	s := &testServer{Stdout: &syncBuffer{}, Logs: &syncBuffer{}, Region: cfg.Regions[0], DataDir: dataDir}
	s.Main = &Main{Config: cfg, Stdout: s.Stdout, Getenv: func(k string) string { return env[k] }}
	s.Main.Logger = newFormatLogger(s.Logs, "debug", cfg.LogFormat)
	if err := s.Run(context.Background()); err != nil {
		tb.Fatalf("Run: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	s.KeyID, s.Secret = mustReadCredentials(tb, cfg.CredentialsPath())
	return s
}

// mustReadCredentials reads the admin key from the shared-credentials file
// the server wrote at first start.
func mustReadCredentials(tb testing.TB, path string) (id, secret string) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("credentials file: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		tb.Fatalf("credentials file %s has no key", path)
	}
	return id, secret
}

// Client returns an aws-sdk-go-v2 Secrets Manager client signed with the
// admin key, for region (the server's first region if "").
func (s *testServer) Client(region string) *secretsmanager.Client {
	return s.ClientWith(region, s.KeyID, s.Secret, "")
}

// ClientWith returns a client signed with the given credentials.
func (s *testServer) ClientWith(region, id, secret, token string) *secretsmanager.Client {
	if region == "" {
		region = s.Region
	}
	return secretsmanager.New(secretsmanager.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		RetryMaxAttempts: 1,
		// aws-sdk-go-v2 sometimes closes a request body before the transport
		// is done with it (aws/aws-sdk-go-v2#1825): send a buffered copy.
		HTTPClient: e2eBufferedDoer{&http.Client{}},
	})
}

// get performs an unauthenticated GET.
func (s *testServer) get(tb testing.TB, path string) (int, string) {
	tb.Helper()
	resp, err := http.Get(s.URL() + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
