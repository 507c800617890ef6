package pgsecret_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/client/internal/rotortest"
)

// The example program (examples/app) runs against Rotor configured only
// through the SDK's environment (AWS_ENDPOINT_URL and friends) and keeps
// its pool working across a single-user rotation done while it runs.
func TestExampleApp(t *testing.T) {
	pwA, pwB := rotortest.Password(), rotortest.Password()
	p := setup(t, pwA)
	name := rotortest.Name("pg_app")
	rotortest.CreateSecret(t, p.sm, name, p.secretJSON(t, p.role, pwA, "postgres"))

	bin := filepath.Join(t.TempDir(), "app")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rotorhq/rotor/examples/app").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/app: %v\n%s", err, out)
	}
	srv := p.server
	cmd := exec.Command(bin, "-secret-id", name, "-count", "20", "-interval", "20ms", "-ttl", "1h")
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+srv.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+srv.SecretAccessKey,
		"AWS_REGION="+rotortest.Region, "AWS_ENDPOINT_URL="+srv.URL,
		"AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var lines []string
	rotated := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if !rotated && strings.HasPrefix(sc.Text(), "query 3:") {
			p.setPassword(t, pwB)
			rotortest.PutSecret(t, p.sm, name, p.secretJSON(t, p.role, pwB, "postgres"))
			rotated = true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("app: %v\nstdout:\n%s\nstderr:\n%s", err, strings.Join(lines, "\n"), stderr.String())
	}
	if len(lines) != 20 {
		t.Fatalf("app printed %d lines, want 20:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if !strings.Contains(l, "logged in as "+p.role+";") {
			t.Fatalf("unexpected line %q", l)
		}
	}
	t.Logf("last line: %s", lines[len(lines)-1])
	if strings.Contains(stderr.String()+strings.Join(lines, ""), pwA) || strings.Contains(stderr.String(), pwB) {
		t.Fatal("the app printed a password")
	}
}
