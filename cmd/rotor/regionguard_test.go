package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// A server restarted with --regions that leaves out a region holding
// secrets refuses to start, naming the region and its count, unless
// --allow-hidden-regions (or its variable) says it is on purpose.
func TestRegionsHidingSecretsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := MustRunMain(t, dir, func(c *Config) { c.Regions = []string{"us-east-1", "eu-west-1", "ap-south-1"} })
	ctx := context.Background()
	for region, names := range map[string][]string{"us-east-1": {"a"}, "eu-west-1": {"b", "c"}, "ap-south-1": {"d"}} {
		for _, n := range names {
			if _, err := s.Client(region).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(n), SecretString: aws.String("v")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()

	bin, err := builtBinary()
	if err != nil {
		t.Fatalf("go build: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(tctx, bin, "server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--regions", "us-east-1")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Fatalf("server started with hidden regions (err %v):\n%s", err, out)
	}
	for _, w := range []string{"ap-south-1 (1 secret)", "eu-west-1 (2 secrets)", "--allow-hidden-regions"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("refusal lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "us-east-1 (") {
		t.Errorf("refusal names a served region:\n%s", out)
	}

	// Serving every region that holds secrets starts.
	p := startProcess(t, dir, "ROTOR_REGIONS=ap-south-1,eu-west-1,us-east-1")
	p.cmd.Process.Kill()
	p.cmd.Wait()
	// So does an explicit opt-out; the hidden secrets stay stored.
	p = startProcess(t, dir, "ROTOR_REGIONS=us-east-1", "ROTOR_ALLOW_HIDDEN_REGIONS=true")
	if _, err := p.client(t, dir).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("a")}); err != nil {
		t.Fatalf("served region after opt-out: %v", err)
	}
	logs, _ := os.ReadFile(p.stderr)
	if !strings.Contains(string(logs), "eu-west-1 (2 secrets)") {
		t.Errorf("no warning naming the hidden regions:\n%s", logs)
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	r := MustRunMain(t, dir, func(c *Config) { c.Regions = []string{"eu-west-1", "us-east-1", "ap-south-1"} })
	if _, err := r.Client("eu-west-1").DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("c")}); err != nil {
		t.Fatalf("hidden secret after serving its region again: %v", err)
	}
}

func TestLoadConfigAllowHiddenRegions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, nil, false},
		{[]string{"--allow-hidden-regions"}, nil, true},
		{nil, map[string]string{"ROTOR_ALLOW_HIDDEN_REGIONS": "true"}, true},
		{nil, map[string]string{"ROTOR_ALLOW_HIDDEN_REGIONS": "false"}, false},
	} {
		c, err := LoadConfig(tc.args, func(k string) string { return tc.env[k] })
		if err != nil || c.AllowHiddenRegions != tc.want {
			t.Errorf("LoadConfig(%v, %v): AllowHiddenRegions %v, %v; want %v", tc.args, tc.env, c.AllowHiddenRegions, err, tc.want)
		}
	}
	if _, err := LoadConfig(nil, func(k string) string {
		return map[string]string{"ROTOR_ALLOW_HIDDEN_REGIONS": "perhaps"}[k]
	}); err == nil || !strings.Contains(err.Error(), "ROTOR_ALLOW_HIDDEN_REGIONS") {
		t.Errorf("ROTOR_ALLOW_HIDDEN_REGIONS=perhaps: %v", err)
	}
	cfg := filepath.Join(t.TempDir(), "rotor.toml")
	if err := os.WriteFile(cfg, []byte("allow_hidden_regions = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig([]string{"--config", cfg}, func(string) string { return "" }); err != nil || !c.AllowHiddenRegions {
		t.Errorf("config allow_hidden_regions: %v %v", c.AllowHiddenRegions, err)
	}
}
