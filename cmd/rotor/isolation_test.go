package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/sys/unix"
)

// TestFunctionIsolationRealServer runs the real rotor binary with a config
// file and two exec functions running the same probe
// (rotation/lambda/testdata/probe/probe.py): it reads the keyring, the
// database, its WAL, the credentials file and the config file, opens the
// server's /proc/<pid>/mem and environ, ptraces and signals the server.
// Under the default isolation every attempt fails; with isolation = "none"
// every one succeeds (the server runs as root here), which proves the
// files and the process were there to reach.
func TestFunctionIsolationRealServer(t *testing.T) {
	py := pythonPath(t)
	probeDir, _ := filepath.Abs(filepath.Join("..", "..", "rotation", "lambda", "testdata", "probe"))
	base := t.TempDir()
	dataDir := filepath.Join(base, "data")
	outDir := filepath.Join(base, "out")
	os.Mkdir(outDir, 0o755)
	configFile := filepath.Join(base, "rotor.toml")
	files := strings.Join([]string{
		"keyring=" + filepath.Join(dataDir, "kek.json"),
		"database=" + filepath.Join(dataDir, "rotor.db"),
		"wal=" + filepath.Join(dataDir, "rotor.db-wal"),
		"credentials=" + filepath.Join(dataDir, "credentials"),
		"config=" + configFile,
	}, ":")
	function := func(name, isolation string) string {
		return fmt.Sprintf(`
[[functions]]
name = %q
kind = "exec"
command = [%q, "probe.py"]
dir = %q
write_paths = [%q]
isolation = %q
env = { PROBE_FILES = %q, PROBE_OUT = %q, PROBE_FAIL = "1" }
`, name, py, probeDir, outDir, isolation, files, filepath.Join(outDir, name+".json"))
	}
	config := "[rotation]\nmax_attempts = 1\n" + function("sandboxed", "landlock") + function("bare", "none")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, dataDir, "ROTOR_CONFIG="+configFile, "ROTOR_TEST_MARKER=server-environment")
	c := p.client(t, dataDir)
	ctx := context.Background()
	results := map[string]map[string]string{}
	for _, fn := range []string{"sandboxed", "bare"} {
		if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fn), SecretString: aws.String("v")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(fn), RotationLambdaARN: aws.String(lambdaARN(fn))}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(outDir, fn+".json")
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var got map[string]string
			if data, err := os.ReadFile(out); err == nil && json.Unmarshal(data, &got) == nil {
				results[fn] = got
				break
			}
		}
		if results[fn] == nil {
			logs, _ := os.ReadFile(p.stderr)
			t.Fatalf("function %s wrote no result to %s; server log:\n%s", fn, out, logs)
		}
	}
	attempts := []string{"keyring", "database", "wal", "credentials", "config",
		"server_mem", "server_environ", "server_ptrace", "server_signal", "ptrace_own_child"}
	for _, name := range attempts {
		if got := results["bare"][name]; got != "ok" {
			t.Errorf("isolation none: %s = %q, want ok", name, got)
		}
		if got := results["sandboxed"][name]; got == "" || got == "ok" {
			t.Errorf("isolation landlock: %s = %q, want it refused", name, got)
		}
	}
}

// TestServerRefusesUnsandboxableFunctions: on a kernel without Landlock the
// server does not start while an exec or python function lacks
// isolation = "none", and starts once it says so.
func TestServerRefusesUnsandboxableFunctions(t *testing.T) {
	noLandlock := func() error { return errors.New("this kernel has no Landlock (function not implemented)") }
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen = "127.0.0.1:0"
	cfg.Functions = []FunctionConfig{
		{Name: "web", Kind: "http", URL: "http://127.0.0.1:1/rotate"},
		{Name: "local", Kind: "exec", Command: []string{"/bin/true"}},
	}
	m := &Main{Config: cfg, Stdout: &syncBuffer{}, Logger: newLogger(&syncBuffer{}, "error"), landlockSupported: noLandlock}
	err := m.Run(context.Background())
	want := `function local cannot be sandboxed: this kernel has no Landlock (function not implemented). Run Rotor on a kernel with Landlock enabled (lsm=landlock,...), or set isolation = "none" for this function`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		m.Close()
		t.Fatalf("Run = %v, want an error starting %q", err, want)
	}

	cfg.Functions[1].Isolation = "none"
	m = &Main{Config: cfg, Stdout: &syncBuffer{}, Logger: newLogger(&syncBuffer{}, "error"), landlockSupported: noLandlock}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run with isolation none: %v", err)
	}
	m.Close()
}

// TestServerIsNotDumpable: once running, the server process is marked
// non-dumpable, so a process of its user without CAP_SYS_PTRACE can
// neither ptrace it nor open its /proc/<pid>/mem.
func TestServerIsNotDumpable(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	MustRunMain(t, "", nil)
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil || d != 0 {
		t.Fatalf("PR_GET_DUMPABLE = %d, %v; want 0", d, err)
	}
}

// TestServerRefusesFunctionReachingItsFiles: a sandboxed function whose
// dir, read_paths or write_paths overlaps the server's files keeps the
// server from starting, naming both.
func TestServerRefusesFunctionReachingItsFiles(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct {
		name string
		fn   FunctionConfig
		want string
	}{
		{"DirInDataDir", FunctionConfig{Name: "fn", Kind: "exec", Command: []string{"/bin/true"}, Dir: filepath.Join(base, "data")},
			"function fn: The function may not be given " + filepath.Join(base, "data") + ": it overlaps " + filepath.Join(base, "data")},
		{"ReadPathHoldsKeyring", FunctionConfig{Name: "fn", Kind: "exec", Command: []string{"/bin/true"}, ReadPaths: []string{filepath.Join(base, "keys")}},
			"function fn: The function may not be given " + filepath.Join(base, "keys") + ": it overlaps " + filepath.Join(base, "keys", "kek.json")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.MkdirAll(filepath.Join(base, "keys"), 0o700)
			cfg := DefaultConfig()
			cfg.DataDir = filepath.Join(base, "data")
			cfg.Keys.File = filepath.Join(base, "keys", "kek.json")
			cfg.Listen = "127.0.0.1:0"
			cfg.Functions = []FunctionConfig{tc.fn}
			m := &Main{Config: cfg, Stdout: &syncBuffer{}, Logger: newLogger(&syncBuffer{}, "error")}
			err := m.Run(context.Background())
			if err == nil {
				m.Close()
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want %q", err, tc.want)
			}
		})
	}
}
