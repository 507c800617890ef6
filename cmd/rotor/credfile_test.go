package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestSetProfile(t *testing.T) {
	keys := [][2]string{{"aws_access_key_id", "NEWID"}, {"aws_secret_access_key", "NEWSECRET"}, {"region", "eu-west-1"}}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"EmptyFile", "", "[p]\naws_access_key_id = NEWID\naws_secret_access_key = NEWSECRET\nregion = eu-west-1\n"},
		{"Appended",
			"# top comment\n[default]\naws_access_key_id=A ; odd spacing kept\n",
			"# top comment\n[default]\naws_access_key_id=A ; odd spacing kept\n\n[p]\naws_access_key_id = NEWID\naws_secret_access_key = NEWSECRET\nregion = eu-west-1\n"},
		{"AppendedAfterLastLineWithoutNewline",
			"[default]\nregion=x",
			"[default]\nregion=x\n\n[p]\naws_access_key_id = NEWID\naws_secret_access_key = NEWSECRET\nregion = eu-west-1\n"},
		{"ReplacedInPlace",
			"[default]\naws_access_key_id = A\n\n[p]\n# mine\nAWS_ACCESS_KEY_ID = OLD\naws_session_token = T\noutput = json\n  aws_secret_access_key=OLDS\n\n[q]\nregion = us-west-2\n",
			"[default]\naws_access_key_id = A\n\n[p]\nregion = eu-west-1\n# mine\naws_access_key_id = NEWID\noutput = json\naws_secret_access_key = NEWSECRET\n\n[q]\nregion = us-west-2\n"},
		{"DuplicateSectionsAndKeys",
			"[p]\naws_access_key_id = 1\naws_access_key_id = 2\n[other]\naws_access_key_id = keep\n[ p ]\naws_secret_access_key = 3\n",
			"[p]\nregion = eu-west-1\naws_access_key_id = NEWID\n[other]\naws_access_key_id = keep\n[ p ]\naws_secret_access_key = NEWSECRET\n"},
		{"CRLF",
			"[default]\r\nx = 1\r\n[p]\r\naws_access_key_id = OLD\r\n",
			"[default]\r\nx = 1\r\n[p]\r\naws_secret_access_key = NEWSECRET\r\nregion = eu-west-1\r\naws_access_key_id = NEWID\r\n"},
		{"SectionLineEndsFile", "[p]", "[p]\naws_access_key_id = NEWID\naws_secret_access_key = NEWSECRET\nregion = eu-west-1\n"},
		{"SimilarNamesUntouched",
			"[profile p]\naws_access_key_id = X\n[pp]\naws_access_key_id = Y\n",
			"[profile p]\naws_access_key_id = X\n[pp]\naws_access_key_id = Y\n\n[p]\naws_access_key_id = NEWID\naws_secret_access_key = NEWSECRET\nregion = eu-west-1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(setProfile([]byte(tc.in), "p", keys)); got != tc.want {
				t.Errorf("setProfile(%q) =\n%q\nwant\n%q", tc.in, got, tc.want)
			}
		})
	}
	if got := profileValue([]byte("[q]\naws_access_key_id = Q\n[p]\n; c\n aws_access_key_id =  P \n"), "p", "aws_access_key_id"); got != "P" {
		t.Errorf("profileValue = %q", got)
	}
	for _, bad := range []string{"", " p", "a]b", "a\nb", "x;y", "x=y"} {
		if validProfileName(bad) == nil {
			t.Errorf("profile name %q accepted", bad)
		}
	}
}

// TestAccessKeyCreateWriteProfile: access-key create --write-profile
// writes the new key into a shared-credentials file that aws-sdk-go-v2 then
// signs with; the rest of the file stays byte for byte; the secret is never
// printed; unsafe files and the signing profile are refused before any key
// is created.
func TestAccessKeyCreateWriteProfile(t *testing.T) {
	s := MustRunMain(t, "", nil)
	env := adminEnv(s)
	cl := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, env, append(args, "--endpoint", s.URL())...)
		if code != want {
			t.Fatalf("rotor %s: exit %d, want %d: %s %s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out, errOut
	}
	cl(0, "identity", "create", "app", "--role", "read-only")
	keyCount := func() int {
		return strings.Count(mustOut(cl(0, "identity", "list", "-o", "json")), `"AccessKeyId"`)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	before := "# Team credentials; do not share.\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n" +
		"[app]\n# the app's key\naws_access_key_id = AKIAOLD\naws_secret_access_key = old-secret\naws_session_token = old-token\n\n" +
		"[zzz]\nregion = ap-south-1"
	os.WriteFile(file, []byte(before), 0o600)
	out, errOut := cl(0, "access-key", "create", "app", "--write-profile", "app", "--credentials-file", file)
	after, _ := os.ReadFile(file)
	id := profileValue(after, "app", "aws_access_key_id")
	secret := profileValue(after, "app", "aws_secret_access_key")
	if !regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`).MatchString(id) || len(secret) < 30 {
		t.Fatalf("profile app holds %q / %q:\n%s", id, secret, after)
	}
	if strings.Contains(out+errOut, secret) {
		t.Fatalf("the secret was printed: %q %q", out, errOut)
	}
	if want := "Created access key " + id + " for identity app and wrote it to profile app in " + file + " (mode 0600).\n"; !strings.HasPrefix(out, want) {
		t.Errorf("printed %q, want %q first", out, want)
	}
	wantAfter := strings.Replace(before,
		"[app]\n# the app's key\naws_access_key_id = AKIAOLD\naws_secret_access_key = old-secret\naws_session_token = old-token\n",
		"[app]\nregion = "+s.Region+"\n# the app's key\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n", 1)
	if string(after) != wantAfter {
		t.Errorf("file after =\n%q\nwant\n%q", after, wantAfter)
	}
	if m := mode(t, file); m != 0o600 {
		t.Errorf("mode %04o", m)
	}

	// aws-sdk-go-v2 loads the profile and signs with the new key.
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithSharedCredentialsFiles([]string{file}),
		config.WithSharedConfigFiles([]string{filepath.Join(dir, "no-config")}), config.WithSharedConfigProfile("app"),
		config.WithRegion(s.Region))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != id {
		t.Fatalf("SDK credentials %q, %v", creds.AccessKeyID, err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(s.URL()) })
	if _, err := sm.ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatalf("ListSecrets signed with the written profile: %v", err)
	}

	// A new file, in a new directory: 0600 in 0700, named by
	// $AWS_SHARED_CREDENTIALS_FILE.
	newFile := filepath.Join(dir, "new", "creds")
	env["AWS_SHARED_CREDENTIALS_FILE"] = newFile
	out, _ = cl(0, "access-key", "create", "app", "--write-profile", "ci", "-o", "json")
	delete(env, "AWS_SHARED_CREDENTIALS_FILE")
	if m := mode(t, newFile); m != 0o600 {
		t.Errorf("new file mode %04o", m)
	}
	if m := mode(t, filepath.Dir(newFile)); m != 0o700 {
		t.Errorf("new directory mode %04o", m)
	}
	created, _ := os.ReadFile(newFile)
	if !strings.Contains(out, `"CredentialsFile": "`+newFile+`"`) || strings.Contains(out, profileValue(created, "ci", "aws_secret_access_key")) ||
		strings.Contains(out, "SecretAccessKey") {
		t.Errorf("-o json printed %s", out)
	}

	// Refusals create no key and leave the files alone.
	n := keyCount()
	os.Chmod(file, 0o640)
	_, errOut = cl(1, "access-key", "create", "app", "--write-profile", "app", "--credentials-file", file)
	if !strings.Contains(errOut, "mode 0640") || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("group-readable file: %q", errOut)
	}
	own := filepath.Join(dir, "own")
	ownText := "[rotor]\naws_access_key_id = " + s.KeyID + "\naws_secret_access_key = " + s.Secret + "\n"
	os.WriteFile(own, []byte(ownText), 0o600)
	_, errOut = cl(1, "access-key", "create", "app", "--write-profile", "rotor", "--credentials-file", own)
	if !strings.Contains(errOut, "signs with") {
		t.Errorf("overwriting the signing profile: %q", errOut)
	}
	cl(2, "access-key", "create", "app", "--write-profile", "bad]name", "--credentials-file", own)
	cl(2, "access-key", "create", "app", "--credentials-file", own)
	if got := keyCount(); got != n {
		t.Errorf("refused commands created keys: %d, want %d", got, n)
	}
	if b, _ := os.ReadFile(own); string(b) != ownText {
		t.Errorf("the signing profile's file changed: %q", b)
	}
	if b, _ := os.ReadFile(file); string(b) != string(after) {
		t.Errorf("the group-readable file changed")
	}
}
