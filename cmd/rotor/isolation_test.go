package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
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
	results := runProbes(t, p, dataDir, outDir, "sandboxed", "bare")
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

// runProbes rotates one new secret with each probe function fn (named like
// the secret) on the server p and returns what each probe wrote to
// <outDir>/<fn>.json.
func runProbes(t *testing.T, p *process, dataDir, outDir string, fns ...string) map[string]map[string]string {
	t.Helper()
	c := p.client(t, dataDir)
	ctx := context.Background()
	results := map[string]map[string]string{}
	for _, fn := range fns {
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
	return results
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

// TestNonDumpableServerAgainstSameUser runs the real binary as an
// unprivileged user (nobody) with a function of the same user and
// isolation = "none": without CAP_SYS_PTRACE, it is the server being
// non-dumpable alone that keeps the function from ptracing the server or
// opening its memory, while the function can still trace its own child
// and read the files its user owns. (This kernel lets a same-user process
// read a non-dumpable process's /proc/<pid>/environ; only the sandbox
// closes that, see TestFunctionIsolationRealServer.)
func TestNonDumpableServerAgainstSameUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test starts the server as user nobody and needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	const python = "/usr/bin/python3" // the pyenv one lives under /root
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s: %v (apt-get install python3; scripts/services needs the system Python for this test)", python, err)
	}

	bin, err := builtBinary()
	if err != nil {
		t.Fatalf("go build: %v", err)
	}
	base := t.TempDir()
	os.Chmod(filepath.Dir(base), 0o755) // t.TempDir makes both levels 0700
	os.Chmod(base, 0o755)
	copyFile := func(src, dst string, mode os.FileMode) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(bin, filepath.Join(base, "rotor"), 0o755)
	os.Mkdir(filepath.Join(base, "probe"), 0o755)
	copyFile(filepath.Join("..", "..", "rotation", "lambda", "testdata", "probe", "probe.py"), filepath.Join(base, "probe", "probe.py"), 0o644)
	dataDir, outDir, configFile := filepath.Join(base, "data"), filepath.Join(base, "out"), filepath.Join(base, "rotor.toml")
	config := fmt.Sprintf(`[rotation]
max_attempts = 1
[[functions]]
name = "same-user"
kind = "exec"
command = [%q, "probe.py"]
dir = %q
isolation = "none"
env = { PROBE_FILES = %q, PROBE_OUT = %q, PROBE_FAIL = "1" }
`, python, filepath.Join(base, "probe"), "keyring="+filepath.Join(dataDir, "kek.json"), filepath.Join(outDir, "same-user.json"))
	os.WriteFile(configFile, []byte(config), 0o600)
	for _, d := range []string{dataDir, outDir} {
		os.Mkdir(d, 0o700)
	}
	for _, p := range []string{dataDir, outDir, configFile} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	p := &process{stdout: filepath.Join(base, "stdout"), stderr: filepath.Join(base, "stderr")}
	outF, _ := os.Create(p.stdout)
	errF, _ := os.Create(p.stderr)
	p.cmd = exec.Command(filepath.Join(base, "rotor"), "server", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	p.cmd.Stdout, p.cmd.Stderr = outF, errF
	p.cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + base, "ROTOR_CONFIG=" + configFile}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait(); outF.Close(); errF.Close() })
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(30 * time.Second); p.url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, _ := os.ReadFile(p.stdout)
		if m := re.FindSubmatch(out); m != nil {
			p.url = string(m[1])
		}
	}
	if p.url == "" {
		errs, _ := os.ReadFile(p.stderr)
		t.Fatalf("server did not start:\n%s", errs)
	}

	got := runProbes(t, p, dataDir, outDir, "same-user")["same-user"]
	for name, want := range map[string]bool{"keyring": true, "ptrace_own_child": true, "server_mem": false, "server_ptrace": false} {
		if ok := got[name] == "ok"; ok != want || got[name] == "" {
			t.Errorf("%s = %q, want reachable=%v", name, got[name], want)
		}
	}
}
