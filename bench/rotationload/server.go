package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotorhq/rotor/bench/internal/awsreq"
)

// region is the region the benchmark's server serves and signs for.
const region = "us-east-1"

// buildRotor builds ./cmd/rotor into dir and returns the binary's path. It
// must run inside the module (the benchmark's own directory or the
// repository root).
func buildRotor(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "rotor")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/rotorhq/rotor/cmd/rotor")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/rotor (run from inside the module): %v\n%s", err, out)
	}
	return bin, nil
}

// server is a `rotor server` child process with its own data directory,
// and its admin key.
type server struct {
	url     string
	dataDir string
	creds   aws.Credentials

	cmd    *exec.Cmd
	exited chan struct{}
	stderr *tailBuffer
	once   sync.Once
}

var announce = regexp.MustCompile(`at (http://127\.0\.0\.1:[0-9]+)`)

// startServer starts bin as `rotor server` on a free loopback port with a
// fresh data directory under dir. --prune-min-age 0s lets the deprecated
// version each rotation leaves behind be pruned at once (AWS's 24 h minimum
// age would hit the 100-version quota after 100 rotations).
func startServer(bin, dir string) (*server, error) {
	s := &server{dataDir: filepath.Join(dir, "data"), exited: make(chan struct{}), stderr: &tailBuffer{max: 64 << 10}}
	s.cmd = exec.Command(bin, "server", "--data-dir", s.dataDir, "--listen", "127.0.0.1:0",
		"--prune-min-age", "0s", "--log-level", "warn")
	s.cmd.Stderr = s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start rotor server: %w", err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := announce.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.url = <-found:
	case <-s.exited:
		return nil, fmt.Errorf("rotor server exited before listening; stderr:\n%s", s.stderr.String())
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("rotor server did not announce its address within 60s; stderr:\n%s", s.stderr.String())
	}
	if err := s.readCredentials(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// readCredentials reads the admin key the server wrote at first start.
func (s *server) readCredentials() error {
	path := filepath.Join(s.dataDir, "credentials")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the server's admin key: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			s.creds.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			s.creds.SecretAccessKey = strings.TrimSpace(v)
		}
	}
	if s.creds.AccessKeyID == "" || s.creds.SecretAccessKey == "" {
		return fmt.Errorf("no admin key in %s", path)
	}
	return nil
}

// stop interrupts the server and waits for it to exit (idempotent).
func (s *server) stop() {
	s.once.Do(func() {
		if s.cmd.Process == nil {
			return
		}
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// client returns a new aws-sdk-go-v2 Secrets Manager client for the server
// with the SDK's default options (retryer, HTTP client), signed with the
// admin key.
func (s *server) client() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider(s.creds.AccessKeyID, s.creds.SecretAccessKey, ""),
	})
}

// runHistory is one rotation run from rotor.RotationHistory, as the wire
// sends it (timestamps in epoch seconds).
type runHistory struct {
	Run struct {
		VersionID string  `json:"VersionId"`
		Status    string  `json:"Status"`
		Step      string  `json:"Step"`
		Attempt   int     `json:"Attempt"`
		LastError string  `json:"LastError"`
		Created   float64 `json:"Created"`
		Finished  float64 `json:"Finished"`
	} `json:"Run"`
	Steps []struct {
		Step           string  `json:"Step"`
		Attempt        int     `json:"Attempt"`
		Started        float64 `json:"Started"`
		DurationMillis int64   `json:"DurationMillis"`
		Outcome        string  `json:"Outcome"`
		Error          string  `json:"Error"`
	} `json:"Steps"`
}

// final reports whether the run has ended (succeeded, failed, cancelled or
// abandoned).
func (h *runHistory) final() bool { return h.Run.Status != "pending" && h.Run.Status != "running" }

// window returns how long the target wanted the new credentials while
// AWSCURRENT still held the old ones: from the start of the last setSecret
// invocation to the end of the last finishSecret. ok is false when the run
// has no such pair of steps.
func (h *runHistory) window() (d time.Duration, ok bool) {
	var set, finishEnd time.Time
	for _, st := range h.Steps {
		start := epoch(st.Started)
		switch st.Step {
		case "setSecret":
			set = start
		case "finishSecret":
			finishEnd = start.Add(time.Duration(st.DurationMillis) * time.Millisecond)
		}
	}
	if set.IsZero() || finishEnd.IsZero() {
		return 0, false
	}
	return finishEnd.Sub(set), true
}

// epoch converts epoch seconds to a time (the zero time for 0).
func epoch(sec float64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	whole, frac := math.Modf(sec)
	return time.Unix(int64(whole), int64(math.Round(frac*1e3))*int64(time.Millisecond))
}

// latestRun returns the newest rotation run of secretID with its steps,
// through Rotor's own API (rotor.RotationHistory, admin only), or nil when
// the secret has none.
func (s *server) latestRun(ctx context.Context, secretID string) (*runHistory, error) {
	var out struct {
		Runs []runHistory `json:"Runs"`
	}
	if err := s.call(ctx, "RotationHistory", map[string]any{"SecretId": secretID, "MaxResults": 1}, &out); err != nil {
		return nil, err
	}
	if len(out.Runs) == 0 {
		return nil, nil
	}
	return &out.Runs[0], nil
}

// call sends Rotor's own operation op (X-Amz-Target rotor.<op>, SigV4 for
// the service "rotor") and decodes the answer into out.
func (s *server) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := awsreq.Signed(ctx, s.url, "rotor."+op, body, s.creds, "rotor", region, time.Now())
	if err != nil {
		return fmt.Errorf("sign rotor.%s: %w", op, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("rotor.%s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("rotor.%s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rotor.%s: HTTP %d: %s", op, resp.StatusCode, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("rotor.%s: decode answer: %w", op, err)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent
// use.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// errNoRun is returned when a RotateSecret left no run to wait for.
var errNoRun = errors.New("no rotation run recorded for the secret")
