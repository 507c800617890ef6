package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig_Defaults(t *testing.T) {
	c, err := LoadConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.DataDir != "rotor-data" || strings.Join(c.Regions, ",") != "us-east-1" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.KeyFile() != filepath.Join("rotor-data", "kek.json") {
		t.Fatalf("KeyFile = %q", c.KeyFile())
	}
	if c.Versions.PruneMinAge.Duration != 24*time.Hour {
		t.Fatalf("PruneMinAge = %v", c.Versions.PruneMinAge)
	}
	if c.BackupPath() != filepath.Join("rotor-data", "backups") {
		t.Fatalf("BackupPath = %q", c.BackupPath())
	}
	c, err = LoadConfig([]string{"--data-dir", "/srv/rotor"}, env(map[string]string{"ROTOR_BACKUP_DIR": "/srv/rotor-backups"}))
	if err != nil || c.BackupPath() != "/srv/rotor-backups" {
		t.Fatalf("ROTOR_BACKUP_DIR: BackupPath = %q, %v", c.BackupPath(), err)
	}
	if p := c.Protected(); !slices.Contains(p, "/srv/rotor-backups") {
		t.Errorf("Protected() = %v, want the backup directory in it", p)
	}
}

func TestLoadConfig_Precedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rotor.toml")
	os.WriteFile(file, []byte(`
data_dir = "from-file"
listen = "127.0.0.1:1111"
regions = ["eu-west-1"]
account_id = "111111111111"
[versions]
prune_min_age = "1h"
`), 0o600)

	t.Run("FileOverDefaults", func(t *testing.T) {
		c, err := LoadConfig([]string{"--config", file}, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.DataDir != "from-file" || c.Listen != "127.0.0.1:1111" || c.Regions[0] != "eu-west-1" ||
			c.AccountID != "111111111111" || c.Versions.PruneMinAge.Duration != time.Hour {
			t.Fatalf("config = %+v", c)
		}
	})
	t.Run("EnvOverFile", func(t *testing.T) {
		c, err := LoadConfig(nil, env(map[string]string{"ROTOR_CONFIG": file, "ROTOR_DATA_DIR": "from-env", "ROTOR_REGIONS": "us-west-2, eu-central-1"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.DataDir != "from-env" || c.Listen != "127.0.0.1:1111" || strings.Join(c.Regions, ",") != "us-west-2,eu-central-1" {
			t.Fatalf("config = %+v", c)
		}
	})
	t.Run("FlagOverEnv", func(t *testing.T) {
		c, err := LoadConfig([]string{"--config", file, "--data-dir", "from-flag"}, env(map[string]string{"ROTOR_DATA_DIR": "from-env"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.DataDir != "from-flag" {
			t.Fatalf("DataDir = %q, want from-flag", c.DataDir)
		}
	})
}

func TestLoadConfig_Invalid(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.toml")
	os.WriteFile(unknown, []byte("listne = \"127.0.0.1:1\"\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"NonLoopbackWithoutTLS", []string{"--listen", "0.0.0.0:8740"}, "without TLS"},
		{"AllInterfacesWithoutTLS", []string{"--listen", ":8740"}, "without TLS"},
		{"HalfTLS", []string{"--tls-cert", "c.pem"}, "set together"},
		{"BadRegion", []string{"--regions", "Mars"}, "region"},
		{"BadAccount", []string{"--account-id", "12"}, "12 digits"},
		{"BadDuration", []string{"--prune-min-age", "soon"}, "prune-min-age"},
		{"UnknownFileKey", []string{"--config", unknown}, "unknown key"},
		{"ExtraArgs", []string{"extra"}, "unexpected arguments"},
		{"BackupDirIsDataDir", []string{"--data-dir", "d", "--backup-dir", "./d/"}, "backup_dir \"./d/\" is the data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(tc.args, env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfig_NonLoopbackWithTLS(t *testing.T) {
	c, err := LoadConfig([]string{"--listen", "0.0.0.0:8740", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != "c.pem" {
		t.Fatalf("TLS = %+v", c.TLS)
	}
}

func TestLoadConfig_FunctionIsolation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	good := write("good.toml", `data_dir = "/srv/rotor"
[tls]
cert_file = "/etc/rotor/tls.crt"
key_file = "/etc/rotor/tls.key"
[keys]
file = "/etc/rotor/kek.json"
[[functions]]
name = "fn"
kind = "exec"
command = ["/opt/fn/rotate"]
isolation = "none"
read_paths = ["/opt/venv"]
write_paths = ["/var/cache/fn"]
`)
	c, err := LoadConfig([]string{"--config", good}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Functions[0]
	if f.Isolation != "none" || !slices.Equal(f.ReadPaths, []string{"/opt/venv"}) || !slices.Equal(f.WritePaths, []string{"/var/cache/fn"}) {
		t.Errorf("function = %+v", f)
	}
	if want := []string{"/srv/rotor", "/etc/rotor/kek.json", "/etc/rotor/tls.key", good}; !slices.Equal(c.Protected(), want) {
		t.Errorf("Protected() = %v, want %v", c.Protected(), want)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"UnknownIsolation", "[[functions]]\nname = \"fn\"\nkind = \"exec\"\ncommand = [\"/bin/true\"]\nisolation = \"chroot\"\n",
			`function fn: isolation "chroot" must be landlock or none`},
		{"IsolationOnHTTP", "[[functions]]\nname = \"fn\"\nkind = \"http\"\nurl = \"https://h/rotate\"\nisolation = \"none\"\n",
			"function fn: isolation, read_paths and write_paths apply to exec and python functions only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig([]string{"--config", write(tc.name+".toml", tc.body)}, env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfig_Audit(t *testing.T) {
	c, err := LoadConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Audit.Enabled || c.Audit.OnFailure != "refuse" || c.Audit.MaxSize != 100<<20 || c.Audit.MaxFiles != 0 ||
		c.AuditPath() != filepath.Join("rotor-data", "audit", "audit.log") {
		t.Fatalf("audit defaults = %+v, path %s", c.Audit, c.AuditPath())
	}
	file := filepath.Join(t.TempDir(), "rotor.toml")
	os.WriteFile(file, []byte(`
[audit]
file = "/var/log/rotor/audit.log"
max_size = "10MiB"
max_files = 30
on_failure = "serve"
buffer = 100
`), 0o600)
	c, err = LoadConfig([]string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuditPath() != "/var/log/rotor/audit.log" || c.Audit.MaxSize != 10<<20 || c.Audit.MaxFiles != 30 ||
		c.Audit.OnFailure != "serve" || c.Audit.Buffer != 100 {
		t.Fatalf("audit from file = %+v", c.Audit)
	}
	if p := c.Protected(); !slices.Contains(p, "/var/log/rotor") {
		t.Errorf("Protected() = %v, want the audit directory /var/log/rotor in it", p)
	}
	os.WriteFile(file, []byte("[audit]\nmax_size = 65536\n"), 0o600)
	if c, err = LoadConfig([]string{"--config", file}, env(nil)); err != nil || c.Audit.MaxSize != 65536 {
		t.Fatalf("max_size as bytes: %v %v", c.Audit.MaxSize, err)
	}
	c, err = LoadConfig([]string{"--audit", "off", "--audit-on-failure", "serve"}, env(map[string]string{"ROTOR_AUDIT_FILE": "/tmp/a.log"}))
	if err != nil || c.Audit.Enabled || c.Audit.OnFailure != "serve" || c.AuditPath() != "/tmp/a.log" {
		t.Fatalf("audit from flags and env = %+v, %v", c.Audit, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--audit", "maybe"}, "on or off"},
		{[]string{"--audit-on-failure", "ignore"}, "refuse or serve"},
	} {
		if _, err := LoadConfig(tc.args, env(nil)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadConfig(%v) = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	os.WriteFile(file, []byte("[audit]\nmax_size = \"lots\"\n"), 0o600)
	if _, err := LoadConfig([]string{"--config", file}, env(nil)); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("max_size = lots: %v", err)
	}
}
