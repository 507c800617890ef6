package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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
	// Flags before the command go ahead of the command's own arguments:
	// not after a "--" (which makes the rest positional), and not into
	// the value of a flag that takes "--".
	if _, err := s.Client("").CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("-odd"), SecretString: aws.String("odd-value")}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, adminEnv(s), "--endpoint", s.URL(), "secret", "get", "--", "-odd")
	if code != 0 || out != "odd-value" {
		t.Errorf("rotor --endpoint URL secret get -- -odd: exit %d, %q, %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, adminEnv(s), "--endpoint", s.URL(), "-o", "json", "secret", "put", "dashes", "--value", "--")
	if code != 0 || !strings.Contains(out, `"Name": "dashes"`) {
		t.Fatalf("rotor --endpoint URL -o json secret put dashes --value --: exit %d, %q, %q", code, out, errOut)
	}
	if code, out, errOut = runCLI(t, adminEnv(s), "--endpoint", s.URL(), "secret", "get", "dashes"); code != 0 || out != "--" {
		t.Errorf("the value put with --value -- reads back as %q (exit %d, %q)", out, code, errOut)
	}

	// --profile picks the signing credentials from the shared file.
	creds := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(creds, []byte("[ops]\naws_access_key_id = "+s.KeyID+"\naws_secret_access_key = "+s.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_REGION": s.Region},
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
		{[]string{"help", "frob"}, []string{`unknown command "frob"; the commands are server, secret`}},
		{[]string{"help", "keys", "frob"}, []string{`unknown command "keys frob"; the keys commands are list, add, rotate, retire`}},
		{[]string{"help", "keys", "list", "x"}, []string{`unknown command "keys list x"; the keys commands are list, add, rotate, retire`}},
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
	if out := do("keys", "list"); !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(old[1]) + ` +inactive +`).MatchString(out) {
		t.Errorf("keys list after a rotation shows the old key %s as %q", old[1], out)
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
		{[]string{"keys", "retire", old[1]}, "retired key-encryption key " + old[1] + ": it is gone from the keyring; backups taken before now need the key file as it was before this retire\n"},
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
	// `rotor version` prints what the running binary was stamped with;
	// so does `rotor --version`, as most tools take it.
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != 0 || out != "rotor "+version()+"\n" {
			t.Errorf("rotor %s: exit %d, %q, %q", args[0], code, out, errOut)
		}
	}
}

func TestCLINoCredentials(t *testing.T) {
	s := MustRunMain(t, "", nil)
	// An instance-metadata service that counts what reaches it: the
	// client must not ask it (off EC2 that is seconds of retries, then
	// noise about EC2 in the error).
	var imdsCalls atomic.Int64
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imdsCalls.Add(1)
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer imds.Close()
	code, out, errOut := runCLI(t, map[string]string{"AWS_REGION": s.Region, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL},
		"keys", "list", "--endpoint", s.URL())
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
	if n := imdsCalls.Load(); n != 0 {
		t.Errorf("the client made %d requests to the instance-metadata service", n)
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

// TestCLIEndpointMistakes: an endpoint without a scheme is refused naming
// where it came from, before anything is sent; a server that is not
// Rotor's (an HTTP answer without an AWS error) is named as such.
func TestCLIEndpointMistakes(t *testing.T) {
	creds := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}
	code, _, errOut := runCLI(t, creds, "keys", "list", "--endpoint", "127.0.0.1:8740")
	if code != 2 || !strings.Contains(errOut, `--endpoint "127.0.0.1:8740" is not the server's URL: write it as http://HOST:PORT`) {
		t.Errorf("--endpoint without a scheme: exit %d, %q", code, errOut)
	}
	env := map[string]string{"ROTOR_ENDPOINT": "localhost:8740"}
	for k, v := range creds {
		env[k] = v
	}
	code, _, errOut = runCLI(t, env, "keys", "list")
	if code != 2 || !strings.Contains(errOut, `$ROTOR_ENDPOINT "localhost:8740" is not the server's URL`) {
		t.Errorf("$ROTOR_ENDPOINT without a scheme: exit %d, %q", code, errOut)
	}

	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	code, _, errOut = runCLI(t, creds, "keys", "list", "--endpoint", other.URL)
	if code != 1 || !strings.Contains(errOut, "ListKeys: "+other.URL+" answered HTTP 404 without an AWS error: is it a Rotor server's address") {
		t.Errorf("a server that is not Rotor: exit %d, %q", code, errOut)
	}
}

// TestCLIMissingProfile: a profile that no file holds is named, with the
// two files that were searched.
func TestCLIMissingProfile(t *testing.T) {
	dir := t.TempDir()
	creds, conf := filepath.Join(dir, "creds"), filepath.Join(dir, "conf")
	os.WriteFile(creds, []byte("[other]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"), 0o600)
	env := map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": conf}
	for _, args := range [][]string{{"--profile", "nope", "keys", "list"}, {"keys", "list"}} {
		e := env
		if len(args) == 2 {
			e = map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": conf, "AWS_PROFILE": "nope"}
		}
		code, out, errOut := runCLI(t, e, append(args, "--endpoint", "http://127.0.0.1:1")...)
		want := `the AWS profile "nope" (from --profile or $AWS_PROFILE) is in neither ` + creds + " nor " + conf
		if code != 1 || out != "" || !strings.Contains(errOut, want) {
			t.Errorf("rotor %s: exit %d, %q, want %q", strings.Join(args, " "), code, errOut, want)
		}
	}
}
