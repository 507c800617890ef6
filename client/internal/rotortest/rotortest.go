// Package rotortest runs a real Rotor server and finds the real databases
// for the tests of package client and its connectors. It drives the server
// as a separate process built from ./cmd/rotor, so the client packages stay
// free of any server package, even in tests.
package rotortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"
)

// Region is the region the test servers serve.
const Region = "us-east-1"

var (
	buildOnce sync.Once
	buildDir  string
	binary    string
	buildErr  error
)

// Main runs the tests of a package (call it from TestMain) and removes the
// server binary built for them afterwards.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// BinaryEnv names an environment variable that may hold the path of a
// prebuilt rotor binary to use instead of building one.
const BinaryEnv = "ROTOR_TEST_BINARY"

// Binary returns the path of the rotor binary: $ROTOR_TEST_BINARY if set,
// else ./cmd/rotor built once per test binary. It fails the test if the
// build fails.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv(BinaryEnv); p != "" {
			binary = p
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "rotor-client-test-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "rotor")
		cmd := exec.Command("go", "build", "-o", binary, "github.com/rotorhq/rotor/cmd/rotor")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/rotor: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatalf("rotortest: %v", buildErr)
	}
	return binary
}

// Server is a running `rotor server` with its admin credentials.
type Server struct {
	URL             string
	AccessKeyID     string
	SecretAccessKey string
	DataDir         string

	cmd      *exec.Cmd
	exited   chan struct{}
	stderr   *syncBuffer
	stopOnce sync.Once
}

var listening = regexp.MustCompile(`at (http://127\.0\.0\.1:[0-9]+)`)

// Start starts a fresh server on a free port with its own data directory
// and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	s := &Server{DataDir: filepath.Join(dir, "data"), exited: make(chan struct{}), stderr: &syncBuffer{}}
	s.cmd = exec.Command(bin, "server", "--data-dir", s.DataDir, "--listen", "127.0.0.1:0")
	s.cmd.Stderr = s.stderr
	found := make(chan string, 1)
	s.cmd.Stdout = &announceWriter{found: found}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("rotortest: start rotor server: %v", err)
	}
	t.Cleanup(s.Stop)
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()

	select {
	case u := <-found:
		s.URL = u
	case <-s.exited:
		t.Fatalf("rotortest: server exited before listening; stderr:\n%s", s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("rotortest: server did not announce its address; stderr:\n%s", s.stderr.String())
	}
	s.readCredentials(t)
	return s
}

// readCredentials reads the admin key the server wrote to its data directory.
func (s *Server) readCredentials(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, "credentials"))
	if err != nil {
		t.Fatalf("rotortest: read credentials: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			s.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			s.SecretAccessKey = strings.TrimSpace(v)
		}
	}
	if s.AccessKeyID == "" || s.SecretAccessKey == "" {
		t.Fatalf("rotortest: no admin key in %s", filepath.Join(s.DataDir, "credentials"))
	}
}

// Stop stops the server (idempotent) and waits for it to exit.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd.Process == nil {
			return
		}
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Client returns an aws-sdk-go-v2 Secrets Manager client for the server,
// signed with the admin key. optFns adjust its options (e.g. the retryer).
func (s *Server) Client(optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, ""),
	}, optFns...)
}

// CreateSecret creates a secret holding value and returns its version id.
func CreateSecret(t testing.TB, c *secretsmanager.Client, name, value string) string {
	t.Helper()
	out, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value), ClientRequestToken: aws.String(uuid.NewString()),
	})
	if err != nil {
		t.Fatalf("CreateSecret %s: %v", name, err)
	}
	return aws.ToString(out.VersionId)
}

// PutSecret adds a version holding value with the given stages (none =
// AWSCURRENT) and returns its version id.
func PutSecret(t testing.TB, c *secretsmanager.Client, id, value string, stages ...string) string {
	t.Helper()
	out, err := c.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), SecretString: aws.String(value), ClientRequestToken: aws.String(uuid.NewString()),
		VersionStages: stages,
	})
	if err != nil {
		t.Fatalf("PutSecretValue %s: %v", id, err)
	}
	return aws.ToString(out.VersionId)
}

// MoveCurrent moves AWSCURRENT of secret id from version from to version
// to, as a rotation's finishSecret does.
func MoveCurrent(t testing.TB, c *secretsmanager.Client, id, to, from string) {
	t.Helper()
	_, err := c.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: aws.String(to), RemoveFromVersionId: aws.String(from),
	})
	if err != nil {
		t.Fatalf("UpdateSecretVersionStage %s: %v", id, err)
	}
}

// Name returns a unique lower-case name with prefix, usable as a secret
// name and as an unquoted SQL identifier.
func Name(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// Password returns a random password of letters and digits.
func Password() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "pw" + hex.EncodeToString(b)
}

// announceWriter receives the server's stdout and sends the URL of the
// first "... at http://127.0.0.1:PORT" line to found.
type announceWriter struct {
	found chan<- string
	buf   []byte
	sent  bool
}

func (w *announceWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for !w.sent {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if m := listening.FindStringSubmatch(line); m != nil {
			w.found <- m[1]
			w.sent = true
		}
	}
	if w.sent {
		w.buf = nil
	}
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
