package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// runCLI runs the command line args with the environment env (the AWS
// variables not in env are cleared, HOME is an empty directory) and returns
// the exit code, stdout and stderr.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runCLIIn(t, env, "", args...)
}

// runCLIIn is runCLI with stdin as the standard input.
func runCLIIn(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	home := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "ROTOR_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut syncBuffer
	code := runWith(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// adminEnv is the environment that signs as s's admin.
func adminEnv(s *testServer) map[string]string {
	return map[string]string{"AWS_ACCESS_KEY_ID": s.KeyID, "AWS_SECRET_ACCESS_KEY": s.Secret, "AWS_REGION": s.Region}
}

func TestCLIClientFlagsBeforeCommand(t *testing.T) {
	s := MustRunMain(t, "", nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--endpoint", s.URL(), "keys", "list"}, "KEY ID"},
		{[]string{"--endpoint=" + s.URL(), "--region", s.Region, "keys", "list"}, "KEY ID"},
		{[]string{"-endpoint", s.URL(), "keys", "list", "--region", s.Region}, "KEY ID"},
		{[]string{"keys", "list", "--endpoint", s.URL()}, "KEY ID"},
		{[]string{"--output", "json", "--endpoint", s.URL(), "keys", "list"}, `"KeyId"`},
		{[]string{"-o", "json", "keys", "list", "--endpoint", s.URL()}, `"KeyId"`},
		{[]string{"keys", "list", "--endpoint", s.URL(), "-o=json"}, `"KeyId"`},
	} {
		code, out, errOut := runCLI(t, adminEnv(s), tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("rotor %s: exit %d, %q, %q", strings.Join(tc.args, " "), code, out, errOut)
		}
	}
	// --profile picks the signing credentials from the shared file.
	creds := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(creds, []byte("[ops]\naws_access_key_id = "+s.KeyID+"\naws_secret_access_key = "+s.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_REGION": s.Region},
		"--profile", "ops", "--endpoint", s.URL(), "identity", "list")
	if code != 0 || !regexp.MustCompile(`(?m)^admin +admin `).MatchString(out) {
		t.Errorf("--profile ops: exit %d, %q, %q", code, out, errOut)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`, "identity", "access-key", "keys", "backup", "server"}},
		{[]string{"--endpoint", "http://127.0.0.1:1", "frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"backup"}, []string{"usage: rotor backup <file>"}},
		{[]string{"keys"}, []string{"keys needs a subcommand"}},
		{[]string{"keys", "retire"}, []string{"usage: rotor keys retire <key-id>"}},
		{[]string{"identity", "bogus"}, []string{`unknown command "identity bogus"`}},
	} {
		code, _, errOut := runCLI(t, nil, tc.args...)
		if code != 2 {
			t.Errorf("rotor %s: exit %d, want 2 (%q)", strings.Join(tc.args, " "), code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("rotor %s: stderr %q lacks %q", strings.Join(tc.args, " "), errOut, w)
			}
		}
		if strings.Contains(errOut, "needs a subcommand") && tc.args[0] == "frobnicate" {
			t.Errorf("frobnicate: %q", errOut)
		}
	}
}

func TestCLIConfirmations(t *testing.T) {
	s := MustRunMain(t, "", nil)
	env := adminEnv(s)
	do := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, env, append(args, "--endpoint", s.URL())...)
		if code != 0 {
			t.Fatalf("rotor %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	do("identity", "create", "bob")
	id := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(do("access-key", "create", "bob", "-o", "json"))
	if id == nil {
		t.Fatal("no access key id")
	}
	old := regexp.MustCompile(`"KeyId":\s*"([^"]+)"`).FindStringSubmatch(do("keys", "list", "--output", "json"))
	if out := do("keys", "rotate"); !regexp.MustCompile(`^New active key-encryption key (\S+); every data key is re-wrapped under it.\nKey ID: +(\S+)\n`).MatchString(out) {
		t.Errorf("keys rotate printed %q", out)
	}
	// The policy document comes back byte for byte, without the JSON around it.
	doc := "{\"Version\":\"2012-10-17\",\n \"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"secretsmanager:ListSecrets\",\"Resource\":\"*\"}]}"
	file := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(file, []byte(doc), 0o600)
	if got := do("identity", "policy", "put", "bob", file); got != "set the inline policy of identity bob\n" {
		t.Errorf("policy put printed %q", got)
	}
	if got := do("identity", "policy", "get", "bob"); got != doc {
		t.Errorf("policy get printed %q, want %q", got, doc)
	}
	if got := do("identity", "policy", "delete", "bob"); got != "deleted the inline policy of identity bob\n" {
		t.Errorf("policy delete printed %q", got)
	}
	if got := do("backup", filepath.Join(t.TempDir(), "b.db")); !strings.HasPrefix(got, "backup written to /") {
		t.Errorf("backup printed %q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"access-key", "deactivate", id[1]}, "access key " + id[1] + " is now Inactive\n"},
		{[]string{"access-key", "activate", id[1]}, "access key " + id[1] + " is now Active\n"},
		{[]string{"access-key", "delete", id[1]}, "deleted access key " + id[1] + "\n"},
		{[]string{"identity", "delete", "bob"}, "deleted identity bob and its access keys\n"},
		{[]string{"keys", "retire", old[1]}, "retired key-encryption key " + old[1] + "\n"},
	} {
		if got := do(tc.args...); got != tc.want {
			t.Errorf("rotor %s printed %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	info := func(v string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/rotorhq/rotor", Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		ldflags string
		bi      *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"v9.9.9", info("v1.0.0"), true, "v9.9.9"},
		{"dev", info("v1.2.3"), true, "v1.2.3"},
		{"dev", info("v1.2.3", "vcs.revision", rev, "vcs.modified", "false"), true, "v1.2.3 (0123456789ab)"},
		{"dev", info("(devel)", "vcs.revision", rev, "vcs.modified", "true"), true, "dev-0123456789ab-dirty"},
		{"dev", info("(devel)", "vcs.revision", rev, "vcs.modified", "false"), true, "dev-0123456789ab"},
		{"dev", info("v0.0.0-20261203112600-0123456789ab+dirty", "vcs.revision", rev, "vcs.modified", "true"), true,
			"v0.0.0-20261203112600-0123456789ab+dirty"},
		{"dev", info("(devel)"), true, "dev"},
		{"dev", nil, false, "dev"},
	} {
		if got := versionOf(tc.ldflags, tc.bi, tc.ok); got != tc.want {
			t.Errorf("versionOf(%q, %+v) = %q, want %q", tc.ldflags, tc.bi, got, tc.want)
		}
	}
	// `rotor version` prints what the running binary was stamped with.
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || out != "rotor "+version()+"\n" {
		t.Errorf("rotor version: exit %d, %q", code, out)
	}
}

func TestCLINoCredentials(t *testing.T) {
	s := MustRunMain(t, "", nil)
	start := time.Now()
	code, out, errOut := runCLI(t, map[string]string{"AWS_REGION": s.Region}, "keys", "list", "--endpoint", s.URL())
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	for _, w := range []string{"no AWS credentials found", "AWS_ACCESS_KEY_ID", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q lacks %q", errOut, w)
		}
	}
	for _, noise := range []string{"EC2", "IMDS", "169.254.169.254", "metadata"} {
		if strings.Contains(errOut, noise) {
			t.Errorf("stderr mentions %q: %q", noise, errOut)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v (instance-metadata retries?)", d)
	}
}

func TestCLIServerUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	code, _, errOut := runCLI(t, map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"},
		"keys", "list", "--endpoint", url)
	if code != 1 || !strings.Contains(errOut, "cannot reach the Rotor server at "+url) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
