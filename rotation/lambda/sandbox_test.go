package lambda_test

import (
	"context"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// serverFiles lays out what a server keeps and a function must never read:
// a data directory with the keyring, the database, its WAL and the
// credentials file, and a config file and TLS key elsewhere. It returns the
// paths to protect and the files to probe, as name=path.
func serverFiles(t *testing.T) (protect []string, probe []string) {
	t.Helper()
	base := t.TempDir()
	data := filepath.Join(base, "data")
	etc := filepath.Join(base, "etc")
	for _, d := range []string{data, etc} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"keyring":     filepath.Join(data, "kek.json"),
		"database":    filepath.Join(data, "rotor.db"),
		"wal":         filepath.Join(data, "rotor.db-wal"),
		"credentials": filepath.Join(data, "credentials"),
		"config":      filepath.Join(etc, "rotor.toml"),
		"tls_key":     filepath.Join(etc, "tls.key"),
	}
	for name, path := range files {
		if err := os.WriteFile(path, []byte("not for functions: "+name), 0o600); err != nil {
			t.Fatal(err)
		}
		probe = append(probe, name+"="+path)
	}
	return []string{data, files["config"], files["tls_key"]}, probe
}

// runProbe runs testdata/probe/probe.py as an exec function with the given
// isolation and returns what each attempt gave.
func runProbe(t *testing.T, isolation lambda.Isolation, protect, probe []string) map[string]string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "probe"))
	fn := &lambda.Exec{
		Command:   []string{python3(t), "probe.py"},
		Dir:       dir,
		Env:       map[string]string{"PROBE_FILES": strings.Join(probe, string(os.PathListSeparator))},
		Isolation: isolation,
		Protect:   protect,
	}
	res, err := fn.Invoke(context.Background(), testInvocation())
	if err != nil {
		t.Fatalf("Invoke: %v (output %q)", err, res.Output)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(res.Output), &got); err != nil {
		t.Fatalf("probe output %q: %v", res.Output, err)
	}
	return got
}

// TestSandboxDeniesServerFilesAndProcess runs the same probe twice: under
// the default isolation every attempt on the server's files and process
// fails, and with IsolationNone every one succeeds (this test runs as root
// or as the file's owner), which proves the files and the process were
// there to reach.
func TestSandboxDeniesServerFilesAndProcess(t *testing.T) {
	// This test process plays the server, which protects itself first.
	if err := lambda.ProtectProcess(); err != nil {
		t.Fatal(err)
	}
	protect, probe := serverFiles(t)
	want := []string{"keyring", "database", "wal", "credentials", "config", "tls_key",
		"server_mem", "server_environ", "server_ptrace", "server_signal", "ptrace_own_child"}

	t.Run("None", func(t *testing.T) {
		got := runProbe(t, lambda.IsolationNone, protect, probe)
		for _, name := range want {
			if got[name] != "ok" {
				t.Errorf("isolation none: %s = %q, want ok (the probe must be able to reach it without the sandbox)", name, got[name])
			}
		}
	})
	for _, isolation := range []lambda.Isolation{"", lambda.IsolationLandlock} {
		t.Run("Landlock"+string(isolation), func(t *testing.T) {
			got := runProbe(t, isolation, protect, probe)
			for _, name := range want {
				if got[name] == "" || got[name] == "ok" {
					t.Errorf("isolation %q: %s = %q, want it refused", isolation, name, got[name])
				}
			}
		})
	}
}

// TestSandboxCarvesProtectedPathOutOfInstallation puts the data directory
// inside the command's installation, which the sandbox lets it read: the
// rest of the installation stays readable, the data directory does not.
func TestSandboxCarvesProtectedPathOutOfInstallation(t *testing.T) {
	inst := t.TempDir()
	for _, d := range []string{"bin", "lib", "data"} {
		os.Mkdir(filepath.Join(inst, d), 0o755)
	}
	os.WriteFile(filepath.Join(inst, "lib", "helper.txt"), []byte("helper\n"), 0o644)
	os.WriteFile(filepath.Join(inst, "data", "kek.json"), []byte("secret\n"), 0o600)
	cmd := filepath.Join(inst, "bin", "rotate")
	os.WriteFile(cmd, []byte("#!/bin/sh\ncat \"$1/lib/helper.txt\"\ncat \"$1/data/kek.json\" 2>/dev/null || echo denied\nls \"$1/bin\"\n"), 0o755)

	fn := &lambda.Exec{Command: []string{cmd, inst}, Protect: []string{filepath.Join(inst, "data")}}
	res, err := fn.Invoke(context.Background(), testInvocation())
	if err != nil {
		t.Fatalf("Invoke: %v (output %q)", err, res.Output)
	}
	if want := "helper\ndenied\nrotate\n"; res.Output != want {
		t.Errorf("Output = %q, want %q", res.Output, want)
	}

	fn.Isolation = lambda.IsolationNone
	if res, err = fn.Invoke(context.Background(), testInvocation()); err != nil || res.Output != "helper\nsecret\nrotate\n" {
		t.Errorf("isolation none: Output = %q, err %v; want the data file read", res.Output, err)
	}
}

func TestSandboxValidate(t *testing.T) {
	protect := t.TempDir()
	tests := []struct {
		name string
		fn   lambda.Exec
		msg  string
	}{
		{"UnknownIsolation", lambda.Exec{Command: []string{"true"}, Isolation: "chroot"},
			`The isolation "chroot" must be "landlock" or "none".`},
		{"RelativeReadPath", lambda.Exec{Command: []string{"true"}, ReadPaths: []string{"lib"}},
			`The path "lib" must be absolute.`},
		{"DirInsideProtected", lambda.Exec{Command: []string{"true"}, Dir: filepath.Join(protect, "fn"), Protect: []string{protect}},
			"The function may not be given " + filepath.Join(protect, "fn") + ": it overlaps " + protect + ", which a sandboxed function must never reach."},
		{"ReadPathHoldsProtected", lambda.Exec{Command: []string{"true"}, ReadPaths: []string{filepath.Dir(protect)}, Protect: []string{protect}},
			"The function may not be given " + filepath.Dir(protect) + ": it overlaps " + protect + ", which a sandboxed function must never reach."},
		{"WritePathIsProtected", lambda.Exec{Command: []string{"true"}, WritePaths: []string{protect}, Protect: []string{protect}},
			"The function may not be given " + protect + ": it overlaps " + protect + ", which a sandboxed function must never reach."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn.Validate()
			if rotor.ErrorCode(err) != rotor.EINVALID || rotor.ErrorMessage(err) != tt.msg {
				t.Errorf("Validate = %v, want EINVALID %q", err, tt.msg)
			}
		})
	}
	// The operator may overlap the server's files when nothing is sandboxed.
	fn := lambda.Exec{Command: []string{"true"}, Dir: protect, Protect: []string{protect}, Isolation: lambda.IsolationNone}
	if err := fn.Validate(); err != nil {
		t.Errorf("Validate with isolation none = %v, want nil", err)
	}
}

func TestLandlockSupported(t *testing.T) {
	// This machine's kernel must offer the sandbox; a kernel without it is
	// refused by the server (cmd/rotor) instead of running functions bare.
	if err := lambda.LandlockSupported(); err != nil {
		t.Fatalf("LandlockSupported: %v", err)
	}
}

// TestSandboxDatabaseClients: a sandboxed function still reaches the
// databases it rotates. No Python PostgreSQL or MySQL driver is installed
// on the test machine, so the real psql and mysql clients (libpq,
// libmysqlclient, their config under /etc) stand in for one, over TCP to
// the shared servers.
func TestSandboxDatabaseClients(t *testing.T) {
	for _, tt := range []struct{ name, script string }{
		{"PostgreSQL", `psql -X -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc 'select 41+1'`},
		{"MariaDB", `mysql -h 127.0.0.1 -P 3306 -uroot -N -e 'select 41+1'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sh(tt.script).Invoke(context.Background(), testInvocation())
			if err != nil {
				t.Fatalf("Invoke: %v (output %q)", err, res.Output)
			}
			if strings.TrimSpace(res.Output) != "42" {
				t.Errorf("Output = %q, want 42", res.Output)
			}
		})
	}
}

// TestSandboxWithUser: User and the sandbox combine. A world-readable
// protected file is readable by nobody without the sandbox and refused
// with it; the function runs as nobody either way.
func TestSandboxWithUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("switching to user nobody needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}
	base := t.TempDir()
	os.Chmod(filepath.Dir(base), 0o755) // t.TempDir makes both levels 0700
	os.Chmod(base, 0o755)
	secret := filepath.Join(base, "kek.json")
	os.WriteFile(secret, []byte("key\n"), 0o644)
	for _, tc := range []struct {
		isolation lambda.Isolation
		want      string
	}{{lambda.IsolationNone, nobody.Uid + "\nkey\n"}, {"", nobody.Uid + "\ndenied\n"}} {
		fn := sh(`id -u; cat "$SECRET" 2>/dev/null || echo denied`)
		fn.User, fn.Isolation, fn.Protect = "nobody", tc.isolation, []string{secret}
		fn.Env = map[string]string{"SECRET": secret}
		res, err := fn.Invoke(context.Background(), testInvocation())
		if err != nil {
			t.Fatalf("isolation %q: Invoke: %v (output %q)", tc.isolation, err, res.Output)
		}
		if res.Output != tc.want {
			t.Errorf("isolation %q: Output = %q, want %q", tc.isolation, res.Output, tc.want)
		}
	}
}
