package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/internal/testsvc"
)

const (
	unitPath          = "../../packaging/systemd/rotor.service"
	configExamplePath = "../../packaging/rotor.toml.example"
)

// sandboxSyscalls are the system calls the rotation-function sandbox
// (rotation/lambda, confineAndExec) makes to confine a function and run it:
// a unit whose filter refuses one of them breaks every sandboxed function.
var sandboxSyscalls = []string{"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "seccomp", "prctl", "execve"}

// unitFile is a systemd unit: section -> key -> values, in order (a key
// may be given several times).
type unitFile map[string]map[string][]string

func readUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: not a key=value line in a section: %q", path, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSystemdUnitHardening: the packaged unit runs the server as the
// dedicated user with its state directories at 0700 and the hardening
// options docs/deploy.md explains, and leaves out those that would break
// rotation functions.
func TestSystemdUnitHardening(t *testing.T) {
	svc := readUnit(t, unitPath)["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	for key, want := range map[string]string{
		"User":                    "rotor",
		"Group":                   "rotor",
		"StateDirectoryMode":      "0700",
		"UMask":                   "0077",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
		"LockPersonality":         "yes",
		"RestrictSUIDSGID":        "yes",
		"RestrictNamespaces":      "yes",
		"SystemCallArchitectures": "native",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
	} {
		if got := svc[key]; !slices.Equal(got, []string{want}) {
			t.Errorf("%s = %q, want exactly %q", key, got, want)
		}
	}
	if got := svc["StateDirectory"]; len(got) != 1 || !slices.Contains(strings.Fields(got[0]), "rotor") {
		t.Errorf("StateDirectory = %q, want one line naming rotor", got)
	}
	if got := svc["RestrictAddressFamilies"]; len(got) != 1 ||
		!slices.Equal(sortedFields(got[0]), []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
		t.Errorf("RestrictAddressFamilies = %q, want AF_UNIX AF_INET AF_INET6 (functions reach databases over TCP and Unix sockets)", got)
	}
	// Left out on purpose (docs/deploy.md says why).
	for key, why := range map[string]string{
		"MemoryDenyWriteExecute": "breaks functions run by JIT runtimes (Node.js, Java, PyPy) and libffi callbacks",
		"ProcSubset":             "hides /proc/cpuinfo, /proc/meminfo, ... from functions that read them",
		"PrivateUsers":           "maps every other user to nobody inside the service, confusing database clients and user switches",
		"DynamicUser":            "the keyring and backups need a stable owner across restarts",
	} {
		for _, v := range svc[key] {
			if v != "no" && v != "false" {
				t.Errorf("%s=%s: %s", key, v, why)
			}
		}
	}
	// ExecStart runs the server on the config file of ConfigurationDirectory.
	if got := svc["ExecStart"]; len(got) != 1 || !strings.HasSuffix(got[0], " server --config /etc/rotor/rotor.toml") {
		t.Errorf("ExecStart = %q", got)
	}
	if got := svc["ConfigurationDirectory"]; !slices.Equal(got, []string{"rotor"}) {
		t.Errorf("ConfigurationDirectory = %q, want rotor (/etc/rotor)", got)
	}
}

func sortedFields(s string) []string {
	f := strings.Fields(s)
	slices.Sort(f)
	return f
}

// TestSystemdUnitVerifiesAndLetsTheSandboxRun: systemd-analyze accepts the
// unit, and the system-call filter it configures, expanded by systemd
// itself, allows every call the function sandbox makes (@system-service
// alone leaves out Landlock and seccomp up to systemd v255).
func TestSystemdUnitVerifiesAndLetsTheSandboxRun(t *testing.T) {
	analyze := testsvc.Command(t, "systemd-analyze")
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart's program exists: point it at this
	// (executable) test binary instead of /usr/local/bin/rotor.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "rotor.service")
	if err := os.WriteFile(copyPath, []byte(strings.Replace(string(unit), "/usr/local/bin/rotor ", self+" ", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	out, err := exec.Command(analyze, "syscall-filter").Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v", err)
	}
	groups := map[string][]string{}
	group := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "@"):
			group = strings.TrimSpace(line)
		case strings.TrimSpace(line) == "":
			group = ""
		case group != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			groups[group] = append(groups[group], strings.TrimSpace(line))
		}
	}
	var expand func(name string, into map[string]bool)
	expand = func(name string, into map[string]bool) {
		if !strings.HasPrefix(name, "@") {
			into[name] = true
			return
		}
		members, ok := groups[name]
		if !ok {
			t.Fatalf("systemd-analyze knows no group %s", name)
		}
		for _, m := range members {
			expand(m, into)
		}
	}
	allowed, denied := map[string]bool{}, map[string]bool{}
	for _, filter := range readUnit(t, unitPath)["Service"]["SystemCallFilter"] {
		into := allowed
		if strings.HasPrefix(filter, "~") {
			into, filter = denied, filter[1:]
		}
		for _, name := range strings.Fields(filter) {
			expand(name, into)
		}
	}
	if len(allowed) == 0 {
		t.Fatal("the unit has no SystemCallFilter allow list")
	}
	for _, call := range sandboxSyscalls {
		if !allowed[call] || denied[call] {
			t.Errorf("SystemCallFilter refuses %s, which the rotation-function sandbox calls", call)
		}
	}
}

// TestPackagedConfigExample: packaging/rotor.toml.example is a valid
// configuration, and its data directory, keyring and backup directory are
// in the state directories the unit creates (0700, owned by rotor).
func TestPackagedConfigExample(t *testing.T) {
	c, err := LoadConfig([]string{"--config", configExamplePath}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", configExamplePath, err)
	}
	states := map[string]bool{}
	for _, line := range readUnit(t, unitPath)["Service"]["StateDirectory"] {
		for _, d := range strings.Fields(line) {
			states[filepath.Join("/var/lib", d)] = true
		}
	}
	if !states[c.DataDir] {
		t.Errorf("data_dir %s is not one of the unit's state directories %v", c.DataDir, states)
	}
	if !states[filepath.Dir(c.KeyFile())] || filepath.Dir(c.KeyFile()) == c.DataDir {
		t.Errorf("keys.file %s is not in a state directory of its own (%v)", c.KeyFile(), states)
	}
	if !states[c.BackupPath()] || c.BackupPath() == c.DataDir {
		t.Errorf("backup_dir %s is not a state directory of its own (%v)", c.BackupPath(), states)
	}
	if c.TLS.CertFile == "" || !strings.HasPrefix(c.TLS.CertFile, "/etc/rotor/") {
		t.Errorf("tls.cert_file = %q, want a file under /etc/rotor (ConfigurationDirectory)", c.TLS.CertFile)
	}
}
