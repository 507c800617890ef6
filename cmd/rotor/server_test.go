package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func mode(tb testing.TB, path string) os.FileMode {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFirstStart(t *testing.T) {
	s := MustRunMain(t, "", nil)
	for path, want := range map[string]os.FileMode{
		s.DataDir:                              0o700,
		s.Config.KeyFile():                     0o600,
		s.Config.DatabasePath():                0o600,
		s.Config.CredentialsPath():             0o600,
		filepath.Join(s.DataDir, "rotor.lock"): 0o600,
	} {
		if got := mode(t, path); got != want {
			t.Errorf("mode of %s = %04o, want %04o", path, got, want)
		}
	}
	out := s.Stdout.String()
	creds, _ := filepath.Abs(s.Config.CredentialsPath())
	for _, want := range []string{"AWS_SHARED_CREDENTIALS_FILE=" + creds, "AWS_PROFILE=rotor", "AWS_ENDPOINT_URL=" + s.URL(),
		// Safe for AWS CLIs that ignore AWS_ENDPOINT_URL too.
		`aws --endpoint-url "$AWS_ENDPOINT_URL" secretsmanager`} {
		if !strings.Contains(out, want) {
			t.Errorf("first-start output lacks %q:\n%s", want, out)
		}
	}
	ctx := context.Background()
	if _, err := s.Client("").CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("kept"), SecretString: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	credsBefore, _ := os.ReadFile(s.Config.CredentialsPath())
	s.Close()

	// A restart keeps the keyring, the database and the credentials file.
	s2 := MustRunMain(t, s.DataDir, nil)
	credsAfter, _ := os.ReadFile(s.Config.CredentialsPath())
	if string(credsBefore) != string(credsAfter) {
		t.Fatal("restart rewrote the credentials file")
	}
	got, err := s2.Client("").GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("kept")})
	if err != nil || aws.ToString(got.SecretString) != "v1" {
		t.Fatalf("after restart: %v, %v", got, err)
	}
}

func TestSecondServerOnSameDataDirRefused(t *testing.T) {
	s := MustRunMain(t, "", nil)
	cfg := s.Config
	other := &Main{Config: cfg, Stdout: io.Discard, Getenv: func(string) string { return "" }}
	err := other.Run(context.Background())
	if err == nil {
		other.Close()
		t.Fatal("second server on the same data directory started")
	}
	if !strings.Contains(err.Error(), "in use by another rotor server") {
		t.Fatalf("err = %v", err)
	}
	// The first server still serves.
	if _, err := s.Client("").ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestDataDirOpenToOthersRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	os.Mkdir(dir, 0o755)
	os.Chmod(dir, 0o755)
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen = dir, "127.0.0.1:0"
	m := &Main{Config: cfg, Stdout: io.Discard, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background())
	if err == nil {
		m.Close()
		t.Fatal("started on a data directory with mode 0755")
	}
	if !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("err = %v", err)
	}
}

func TestHealthNeedsNoAuthentication(t *testing.T) {
	s := MustRunMain(t, "", nil)
	code, body := s.get(t, "/health")
	if code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("GET /health = %d %s", code, body)
	}
	// Everything else needs a signature.
	resp, err := http.Post(s.URL()+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 || !strings.Contains(string(b), "MissingAuthenticationTokenException") {
		t.Fatalf("unsigned POST = %d %s", resp.StatusCode, b)
	}
}

func TestKeyFromEnvironment(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	material := base64.StdEncoding.EncodeToString(key)
	dir := filepath.Join(t.TempDir(), "data")
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Keys.Env = dir, "127.0.0.1:0", "TEST_ROTOR_KEK"
	m := &Main{Config: cfg, Stdout: io.Discard, Getenv: func(k string) string {
		if k == "TEST_ROTOR_KEK" {
			return material
		}
		return ""
	}}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := os.Stat(filepath.Join(dir, "kek.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was written to the data directory although the key comes from the environment (stat: %v)", err)
	}
}

// selfSignedCert writes a certificate and key for 127.0.0.1 and returns
// their paths and a pool trusting the certificate.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rotor test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(priv)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	s := MustRunMain(t, "", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = certFile, keyFile })
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL = %s", s.URL())
	}
	client := secretsmanager.New(secretsmanager.Options{
		Region: s.Region, BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(s.KeyID, s.Secret, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	ctx := context.Background()
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("over-tls"), SecretString: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	// Plain HTTP to a TLS listener gets nothing useful.
	if _, err := s.Client("").ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err == nil {
		t.Fatal("plain-HTTP client succeeded against the TLS listener")
	}
}

// cli runs a client subcommand against s with the admin credentials.
func cli(t *testing.T, s *testServer, args ...string) (string, error) {
	t.Helper()
	return cliAt(t, s.URL(), s.KeyID, s.Secret, s.Region, args...)
}

// cliAt runs a client subcommand against the server at endpoint with the
// credentials id and secret, with --output json: it returns the server's
// answer as JSON (confirmations of empty answers go to standard error).
func cliAt(t *testing.T, endpoint, id, secret, region string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_REGION", region)
	var out, errOut syncBuffer
	code := run(context.Background(), append(args, "--endpoint", endpoint, "--output", "json"), &out, &errOut)
	if code != 0 {
		return out.String(), errors.New(strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIdentitiesThroughCLI(t *testing.T) {
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	if _, err := s.Client("").CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("shared"), SecretString: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, s, "identity", "create", "reader", "-role", "read-only"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, s, "access-key", "create", "reader")
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("access-key create printed %s", out)
	}
	reader := s.ClientWith("", id[1], secret[1], "")
	if got, err := reader.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("shared")}); err != nil || aws.ToString(got.SecretString) != "s" {
		t.Fatalf("read-only GetSecretValue: %v %v", got, err)
	}
	_, err = reader.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("nope"), SecretString: aws.String("x")})
	if !isAPIError(err, "AccessDeniedException") {
		t.Fatalf("read-only CreateSecret: %v", err)
	}
	if out, err := cli(t, s, "identity", "list"); err != nil || !strings.Contains(out, `"reader"`) {
		t.Fatalf("identity list: %q %v", out, err)
	}
	if _, err := cli(t, s, "access-key", "deactivate", id[1]); err != nil {
		t.Fatal(err)
	}
	_, err = reader.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("shared")})
	if !isAPIError(err, "UnrecognizedClientException") {
		t.Fatalf("deactivated key: %v", err)
	}
	if _, err := cli(t, s, "identity", "delete", "reader"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, s, "identity", "delete", "admin"); err == nil {
		t.Fatal("the admin deleted its own identity")
	}
	if _, err := cli(t, s, "identity", "bogus"); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}

func isAPIError(err error, code string) bool {
	return err != nil && strings.Contains(err.Error(), code)
}

func TestKeyRotationThroughCLI(t *testing.T) {
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	c := s.Client("")
	for _, n := range []string{"k1", "k2", "k3"} {
		if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(n), SecretString: aws.String(n + "-v")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(n), SecretBinary: []byte(n + "-bin")}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := cli(t, s, "keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	oldID := regexp.MustCompile(`"KeyId":\s*"([^"]+)"`).FindStringSubmatch(before)
	if oldID == nil {
		t.Fatalf("keys list printed %s", before)
	}
	if _, err := cli(t, s, "keys", "retire", oldID[1]); err == nil {
		t.Fatal("retired the active key")
	}
	if _, err := cli(t, s, "keys", "rotate"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, s, "keys", "retire", oldID[1]); err != nil {
		t.Fatalf("retire old key after rotation: %v", err)
	}
	kf, _ := os.ReadFile(s.Config.KeyFile())
	if strings.Contains(string(kf), oldID[1]) {
		t.Fatal("the retired key is still in the key file")
	}
	check := func(c *secretsmanager.Client) {
		for _, n := range []string{"k1", "k2", "k3"} {
			got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(n)})
			if err != nil || string(got.SecretBinary) != n+"-bin" {
				t.Fatalf("%s current: %v %v", n, got, err)
			}
			prev, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(n), VersionStage: aws.String("AWSPREVIOUS")})
			if err != nil || aws.ToString(prev.SecretString) != n+"-v" {
				t.Fatalf("%s previous: %v %v", n, prev, err)
			}
		}
	}
	check(c)
	// After a restart nothing is cached: every value decrypts without the old key.
	s.Close()
	r := MustRunMain(t, s.DataDir, nil)
	check(r.Client(""))
}

// builtBinary builds the rotor binary once for the subprocess tests, with
// the failpoints of ROTOR_TEST_FAILPOINT that the crash tests use (an
// ordinary build has none).
var builtBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rotor-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rotor")
	out, err := exec.Command("go", "build", "-tags", "rotor_failpoint", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// process is a rotor server running as a child process.
type process struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr string // files
}

// startProcess runs `rotor server` on dataDir, with env added to its
// environment, and waits for its URL.
func startProcess(t *testing.T, dataDir string, env ...string) *process {
	t.Helper()
	bin, err := builtBinary()
	if err != nil {
		t.Fatalf("go build: %v", err)
	}
	logs := t.TempDir()
	p := &process{stdout: filepath.Join(logs, "stdout"), stderr: filepath.Join(logs, "stderr")}
	outF, _ := os.Create(p.stdout)
	errF, _ := os.Create(p.stderr)
	p.cmd = exec.Command(bin, "server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "debug")
	p.cmd.Stdout, p.cmd.Stderr = outF, errF
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait(); outF.Close(); errF.Close() })
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f, _ := os.Open(p.stdout)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				p.url = m[1]
			}
		}
		f.Close()
		if p.url != "" {
			return p
		}
	}
	errs, _ := os.ReadFile(p.stderr)
	t.Fatalf("server did not start:\n%s", errs)
	return nil
}

func (p *process) client(t *testing.T, dataDir string) *secretsmanager.Client {
	id, secret := mustReadCredentials(t, filepath.Join(dataDir, "credentials"))
	return secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(p.url),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
}

func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, dir)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := p.cmd.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	logs, _ := os.ReadFile(p.stderr)
	if !strings.Contains(string(logs), "shutting down") {
		t.Fatalf("no shutdown in logs:\n%s", logs)
	}
	// The lock is released: a new server starts on the same directory.
	startProcess(t, dir)
}

// TestAccessDatesWrittenOnShutdown: LastAccessedDate is written in batches
// after the read; a graceful shutdown writes the ones still waiting.
func TestAccessDatesWrittenOnShutdown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, dir)
	c := p.client(t, dir)
	ctx := context.Background()
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("read-me"), SecretString: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("read-me")}); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	p2 := startProcess(t, dir)
	d, err := p2.client(t, dir).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("read-me")})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if d.LastAccessedDate == nil || !d.LastAccessedDate.UTC().Equal(today) {
		t.Fatalf("LastAccessedDate after a read and a graceful shutdown = %v, want %v", d.LastAccessedDate, today)
	}
}

// TestPlaintextNeverOnDisk writes known values, kills the server without a
// clean shutdown, and scans every file of the data directory and the logs.
func TestPlaintextNeverOnDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startProcess(t, dir)
	c := p.client(t, dir)
	ctx := context.Background()
	marker := "plaintext-marker-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	binMarker := []byte("binary-marker-\x00\x01-" + marker)
	needles := map[string][]byte{
		"string":          []byte(marker),
		"json-escaped":    []byte(`{\"password\":\"` + marker),
		"binary":          binMarker,
		"binary-base64":   []byte(base64.StdEncoding.EncodeToString(binMarker)),
		"string-base64":   []byte(base64.StdEncoding.EncodeToString([]byte(marker))),
		"password-update": []byte(marker + "-updated"),
	}
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("disk/a"), SecretString: aws.String(marker)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("disk/json"), SecretString: aws.String(`{"password":"` + marker + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("disk/bin"), SecretBinary: binMarker}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("disk/a"), SecretString: aws.String(marker + "-updated")}); err != nil {
		t.Fatal(err)
	}
	// A failing request that carries the value must not log it either.
	c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("disk/missing"), SecretString: aws.String(marker)})
	for _, id := range []string{"disk/a", "disk/json", "disk/bin"} {
		if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	files := []string{p.stdout, p.stderr}
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	var sawWAL bool
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sawWAL = sawWAL || strings.HasSuffix(f, "-wal")
		for what, needle := range needles {
			if strings.Contains(string(data), string(needle)) {
				t.Errorf("%s value found in %s", what, f)
			}
		}
	}
	if len(files) < 5 {
		t.Fatalf("scanned only %v", files)
	}
	// The values were durable: a new server reads them back.
	p2 := startProcess(t, dir)
	got, err := p2.client(t, dir).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("disk/a")})
	if err != nil || aws.ToString(got.SecretString) != marker+"-updated" {
		t.Fatalf("after SIGKILL and restart: %v %v", got, err)
	}
	t.Logf("scanned %d files (WAL present: %v)", len(files), sawWAL)
}
