package main

// End-to-end proof of the audit trail (issue 9): a scripted session through
// aws-sdk-go-v2 and the CLI leaves exactly one line per request and per
// rotation step, no stored value in any form, and a chain that `rotor audit
// verify` accepts — and rejects after each kind of tampering. Then the
// failure policies against a file that cannot be written (/dev/full).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// e2eCountingDoer counts the HTTP requests a client sends.
type e2eCountingDoer struct {
	inner e2eBufferedDoer
	n     *atomic.Int64
}

func (d e2eCountingDoer) Do(r *http.Request) (*http.Response, error) {
	d.n.Add(1)
	return d.inner.Do(r)
}

// countingClient is s.ClientWith whose requests are counted in n.
func (s *testServer) countingClient(n *atomic.Int64, id, secret string) *secretsmanager.Client {
	opts := s.ClientWith("", id, secret, "").Options()
	opts.HTTPClient = e2eCountingDoer{e2eBufferedDoer{&http.Client{}}, n}
	return secretsmanager.New(opts)
}

// auditFiles returns the server's audit files, oldest first.
func auditFiles(t *testing.T, s *testServer) []string {
	t.Helper()
	path := s.Config.AuditPath()
	rotated, err := filepath.Glob(path + ".*")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(rotated)
	return append(rotated, path)
}

// auditEvents flushes the server's audit log and returns every line of
// every file, decoded, and the raw bytes of all files.
func auditEvents(t *testing.T, s *testServer) ([]map[string]any, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	var all []byte
	for _, f := range auditFiles(t, s) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, data...)
		for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%s: a line is not JSON: %v: %s", f, err, line)
			}
			events = append(events, m)
		}
	}
	return events, all
}

// verifyCLI runs `rotor audit verify files...` and returns its exit code and output.
func verifyCLI(files []string) (int, string) {
	var out, errOut syncBuffer
	code := run(context.Background(), append([]string{"audit", "verify"}, files...), &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestAuditSessionE2E(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.Audit.MaxSize = 4096 }) // several files in one session
	var n atomic.Int64                                                  // every request of the session
	admin := s.countingClient(&n, s.KeyID, s.Secret)
	ctx := context.Background()

	v1 := `{"username":"app","password":"Pa55-w0rd-ONE<&>\"x"}`
	v2 := "second value \u00e9\u2028 with newline\n"
	v3 := []byte{0x00, 0xff, 0x10, 's', 'e', 'c', 'r', 'e', 't', '-', 'b', 'i', 'n', 0x80}
	e2eCreate(t, admin, "audit/app", v1)
	if _, err := admin.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("audit/app")}); err != nil {
		t.Fatal(err)
	}
	e2ePut(t, admin, "audit/app", v2)
	if _, err := admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("audit/bin"), SecretBinary: v3}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("audit/bin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatal(err)
	}
	e2eDescribe(t, admin, "audit/app")
	pw, err := admin.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(40)})
	if err != nil {
		t.Fatal(err)
	}

	// Rotor's own operations, through the CLI: one request each.
	if _, err := cli(t, s, "identity", "create", "reader", "-role", "read-only"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, s, "access-key", "create", "reader")
	if err != nil {
		t.Fatal(err)
	}
	n.Add(2)
	readerID := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(out)[1]
	readerSecret := regexp.MustCompile(`"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(out)[1]

	// A read-only identity: a read is allowed, a write denied.
	reader := s.countingClient(&n, readerID, readerSecret)
	if _, err := reader.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("audit/app")}); err != nil {
		t.Fatal(err)
	}
	_, err = reader.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("audit/app"), SecretString: aws.String(v1)})
	e2eWantCode(t, "read-only PutSecretValue", err, "AccessDeniedException", "")

	// Refused by authentication: a wrong secret, an unknown key, no signature.
	_, err = s.countingClient(&n, s.KeyID, "wrong-secret-key").ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	e2eWantCode(t, "bad signature", err, "InvalidSignatureException", "")
	_, err = s.countingClient(&n, "AKIAUNKNOWNKEY000001", "x").GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("audit/app")})
	e2eWantCode(t, "unknown key", err, "UnrecognizedClientException", "")
	unsigned := s.e2eRaw(t, "", "GetSecretValue", []byte(`{"SecretId":"audit/app"}`), e2eRawOptions{Unsigned: true})
	n.Add(1)
	e2eWantRawError(t, "unsigned", unsigned, "MissingAuthenticationTokenException", "")

	// A rotation: four steps, each one line (the built-in function calls
	// the service in-process, so its calls are not requests).
	rot, err := admin.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("audit/app"),
		RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, admin, "audit/app", aws.ToString(rot.VersionId))
	rotated, err := admin.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("audit/app")})
	if err != nil {
		t.Fatal(err)
	}

	events, raw := auditEvents(t, s)
	want := int(n.Load()) + 4
	if len(events) != want {
		t.Fatalf("the audit log has %d lines; the session made %d requests + 4 rotation steps = %d", len(events), n.Load(), want)
	}
	count := map[string]int{}
	for _, e := range events {
		key := e["eventName"].(string)
		if code, ok := e["errorCode"].(string); ok {
			key += "/" + code
		}
		count[key]++
	}
	for key, want := range map[string]int{
		"CreateSecret": 2, "PutSecretValue": 1, "ListSecrets": 1, "GetRandomPassword": 1, "RotateSecret": 1,
		"CreateIdentity": 1, "CreateAccessKey": 1, "PutSecretValue/AccessDeniedException": 1,
		"ListSecrets/InvalidSignatureException": 1, "GetSecretValue/UnrecognizedClientException": 1,
		"GetSecretValue/MissingAuthenticationTokenException": 1,
		"createSecret": 1, "setSecret": 1, "testSecret": 1, "finishSecret": 1,
	} {
		if count[key] != want {
			t.Errorf("%d lines for %s, want %d (all: %v)", count[key], key, want, count)
		}
	}
	for _, e := range events {
		id := e["userIdentity"].(map[string]any)
		switch {
		case e["errorCode"] == "AccessDeniedException":
			if id["type"] != "IAMUser" || id["userName"] != "reader" || id["accessKeyId"] != readerID {
				t.Errorf("denied call's identity = %v", id)
			}
		case e["errorCode"] == "InvalidSignatureException":
			if id["type"] != "Unknown" || id["accessKeyId"] != s.KeyID {
				t.Errorf("bad signature's identity = %v", id)
			}
		case e["errorCode"] == "UnrecognizedClientException":
			if id["accessKeyId"] != "AKIAUNKNOWNKEY000001" {
				t.Errorf("unknown key's identity = %v", id)
			}
		case e["eventName"] == "CreateIdentity":
			if e["eventSource"] != "rotor" || e["requestParameters"].(map[string]any)["name"] != "reader" {
				t.Errorf("rotor.CreateIdentity line = %v", e)
			}
		case e["eventName"] == "PutSecretValue":
			p := e["requestParameters"].(map[string]any)
			if p["secretId"] != "audit/app" || p["clientRequestToken"] == nil || e["sourceIPAddress"] != "127.0.0.1" ||
				!strings.Contains(e["userAgent"].(string), "aws-sdk-go-v2") || e["awsRegion"] != s.Region {
				t.Errorf("PutSecretValue line = %v", e)
			}
		}
	}

	// No stored value (nor a key's secret) in any form anywhere in the files.
	values := []string{v1, v2, string(v3), aws.ToString(rotated.SecretString), aws.ToString(pw.RandomPassword), readerSecret, s.Secret, "Pa55-w0rd-ONE"}
	for _, v := range values {
		js, _ := json.Marshal(v)
		jsNoHTML := new(bytes.Buffer)
		enc := json.NewEncoder(jsNoHTML)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		for _, form := range []string{v, string(js[1 : len(js)-1]), strings.TrimSuffix(jsNoHTML.String(), "\n"),
			base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
			base64.URLEncoding.EncodeToString([]byte(v))} {
			form = strings.Trim(form, `"`)
			if len(form) >= 4 && bytes.Contains(raw, []byte(form)) {
				t.Errorf("the audit log contains a secret value in the form %q", form)
			}
		}
	}

	// The chain verifies through every file; the session spans several.
	files := auditFiles(t, s)
	if len(files) < 4 {
		t.Fatalf("audit files = %v: want the session to span at least 4 (audit.max_size 4KiB)", files)
	}
	if code, out := verifyCLI(files); code != 0 || !strings.Contains(out, "OK: ") {
		t.Fatalf("rotor audit verify = %d: %s", code, out)
	}

	// Each kind of tampering makes it fail, naming the break.
	lines := func(p string) [][]byte {
		data, _ := os.ReadFile(p)
		return bytes.SplitAfter(data, []byte("\n"))[:bytes.Count(data, []byte("\n"))]
	}
	write := func(p string, ls [][]byte) { os.WriteFile(p, bytes.Join(ls, nil), 0o600) }
	for _, tc := range []struct {
		name, kind string
		tamper     func(fs []string) []string
	}{
		{"edit", "edited", func(fs []string) []string {
			ls := lines(fs[1])
			ls[1] = bytes.Replace(ls[1], []byte(`"awsRegion":"us-east-1"`), []byte(`"awsRegion":"us-west-1"`), 1)
			write(fs[1], ls)
			return fs
		}},
		{"delete a line", "missing-lines", func(fs []string) []string {
			ls := lines(fs[1])
			write(fs[1], append(ls[:1], ls[2:]...))
			return fs
		}},
		{"reorder lines", "missing-lines", func(fs []string) []string {
			ls := lines(fs[1])
			ls[1], ls[2] = ls[2], ls[1]
			write(fs[1], ls)
			return fs
		}},
		{"truncate the last line", "partial-line", func(fs []string) []string {
			last := fs[len(fs)-1]
			data, _ := os.ReadFile(last)
			os.WriteFile(last, data[:len(data)-20], 0o600)
			return fs
		}},
		{"remove a middle file", "missing-file", func(fs []string) []string {
			return append(append([]string{}, fs[:1]...), fs[2:]...)
		}},
		{"swap two files", "file-order", func(fs []string) []string {
			out := append([]string{}, fs...)
			out[0], out[1] = out[1], out[0]
			return out
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var copies []string
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				c := filepath.Join(dir, filepath.Base(f))
				os.WriteFile(c, data, 0o600)
				copies = append(copies, c)
			}
			code, out := verifyCLI(tc.tamper(copies))
			if code == 0 || !strings.Contains(out, tc.kind) {
				t.Fatalf("rotor audit verify after %s = exit %d: %s; want a failure naming %s", tc.name, code, out, tc.kind)
			}
		})
	}
}

// TestAuditFailurePolicies points the audit log at /dev/full, where every
// write fails with ENOSPC as on a full disk.
func TestAuditFailurePolicies(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("/dev/full is needed: %v", err)
	}
	t.Run("refuse", func(t *testing.T) {
		s := MustRunMain(t, "", func(c *Config) { c.Audit.File = "/dev/full" })
		opts := s.Client("").Options()
		opts.RetryMaxAttempts = 0
		opts.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
		c := secretsmanager.New(opts)
		ctx := context.Background()
		// The first request is served (its record reserved room in the
		// buffer); the failed write then makes the server refuse.
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
				break
			}
		}
		e2eWantCode(t, "ListSecrets while the audit log fails", err, "ServiceUnavailableException", "")
		before := s.audit.Stats().Refused
		_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("unaudited"), SecretString: aws.String("v")})
		e2eWantCode(t, "CreateSecret while the audit log fails", err, "ServiceUnavailableException", "")
		if got := s.audit.Stats().Refused - before; got != 3 {
			t.Errorf("%d refusals for one SDK call, want 3 (the SDK retries a 503)", got)
		}
		raw := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": "unaudited"})
		if raw.Status != http.StatusServiceUnavailable || raw.JSON(t)["__type"] != "ServiceUnavailableException" {
			t.Errorf("raw response = %d %s", raw.Status, raw.Body)
		}
		if !strings.Contains(s.Logs.String(), "AUDIT LOG CANNOT BE WRITTEN") {
			t.Errorf("no loud log line:\n%s", s.Logs.String())
		}
		if code, body := s.get(t, "/health"); code != 200 || !strings.Contains(body, `"status":"degraded"`) {
			t.Errorf("/health = %d %s", code, body)
		}
	})
	t.Run("serve", func(t *testing.T) {
		s := MustRunMain(t, "", func(c *Config) {
			c.Audit.File, c.Audit.OnFailure, c.Audit.Buffer = "/dev/full", "serve", 4
		})
		c := s.Client("")
		ctx := context.Background()
		for i := 0; i < 10; i++ {
			if _, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
				t.Fatalf("request %d in serve mode: %v", i, err)
			}
		}
		st := s.audit.Stats()
		if st.Dropped == 0 || st.Healthy {
			t.Fatalf("Stats = %+v: want records dropped (4 fit in the buffer) and the log unhealthy", st)
		}
		if !strings.Contains(s.Logs.String(), "AUDIT RECORD DROPPED") {
			t.Errorf("no loud log line for the dropped records:\n%s", s.Logs.String())
		}
		if code, body := s.get(t, "/health"); code != 200 || !strings.Contains(body, `"dropped":`) {
			t.Errorf("/health = %d %s", code, body)
		}
	})
}

func TestAuditVerifyCommandLine(t *testing.T) {
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"audit"}, &out, &errOut); code != 2 {
		t.Errorf("rotor audit = exit %d, want 2 (usage)", code)
	}
	if code, msg := verifyCLI(nil); code != 2 || !strings.Contains(msg, "at least one file") {
		t.Errorf("rotor audit verify = exit %d: %s", code, msg)
	}
	if code, msg := verifyCLI([]string{filepath.Join(t.TempDir(), "missing.log")}); code != 1 || !strings.Contains(msg, "no such file") {
		t.Errorf("rotor audit verify missing.log = exit %d: %s", code, msg)
	}
	empty := filepath.Join(t.TempDir(), "audit.log")
	os.WriteFile(empty, nil, 0o600)
	if code, msg := verifyCLI([]string{empty + ".*", empty}); code != 0 || !strings.Contains(msg, "no records") {
		t.Errorf("rotor audit verify audit.log.* audit.log on a new empty log = exit %d: %s", code, msg)
	}
}

// TestAuditChainSurvivesSIGKILL kills the server (SIGKILL) while requests
// are being answered — a write may be cut short — then restarts it on the
// same data directory: the chain continues where the last complete line
// left it, and verify accepts it.
func TestAuditChainSurvivesSIGKILL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, dir)
	c := p.client(t, dir)
	ctx := context.Background()
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("kill"), SecretString: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("kill")})
		}
	}()
	time.Sleep(300 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	close(stop)
	<-done

	log := filepath.Join(dir, "audit", "audit.log")
	// Make the tail a cut-short write whatever the kill left.
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"eventVersion":"1.08","eventTime":"2026-`)
	f.Close()
	if code, out := verifyCLI([]string{log}); code == 0 || !strings.Contains(out, "partial-line") {
		t.Fatalf("verify before restart = %d: %s", code, out)
	}

	p2 := startProcess(t, dir)
	c2 := p2.client(t, dir)
	for i := 0; i < 5; i++ {
		if _, err := c2.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("kill")}); err != nil {
			t.Fatal(err)
		}
	}
	p2.cmd.Process.Signal(syscall.SIGTERM) // graceful: the buffer is written before exit
	p2.cmd.Wait()
	code, out := verifyCLI([]string{log})
	if code != 0 {
		t.Fatalf("verify after restart = %d: %s", code, out)
	}
	stderr, _ := os.ReadFile(p2.stderr)
	if !strings.Contains(string(stderr), "removing a partial last line") {
		t.Errorf("the restarted server did not say it cut the partial line:\n%s", stderr)
	}
	t.Log(strings.TrimSpace(out))
}
