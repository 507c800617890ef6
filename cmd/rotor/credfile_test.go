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
	// The environment's tools read another file: the hint names this one.
	if want := "Use it with: export AWS_SHARED_CREDENTIALS_FILE=" + file + " AWS_PROFILE=app\n"; !strings.HasSuffix(out, want) {
		t.Errorf("printed %q, want %q last", out, want)
	}
	// The key the profile held is named, with the way to delete it.
	if want := "It replaces access key AKIAOLD in that profile; if that key is Rotor's, it still works until you delete it: rotor access-key delete AKIAOLD\n"; !strings.Contains(out, want) {
		t.Errorf("printed %q, without %q", out, want)
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
		strings.Contains(out, "SecretAccessKey") || strings.Contains(out, "Replaced") {
		t.Errorf("-o json printed %s", out)
	}
	ciKey := profileValue(created, "ci", "aws_access_key_id")
	cl(0, "identity", "create", "app2") // app has its two keys
	out, _ = cl(0, "access-key", "create", "app2", "--write-profile", "ci", "-o", "json", "--credentials-file", newFile)
	if !strings.Contains(out, `"ReplacedAccessKeyId": "`+ciKey+`"`) {
		t.Errorf("-o json over profile ci (%s) printed %s", ciKey, out)
	}

	// The admin credentials file in the data directory, named only by
	// $AWS_SHARED_CREDENTIALS_FILE (as the first-start hint exports it),
	// is refused: it is to be deleted, and the key would go with it.
	// Named with --credentials-file, it is the operator's choice.
	adminFile := filepath.Join(s.DataDir, "credentials")
	adminText, err := os.ReadFile(adminFile)
	if err != nil || !strings.HasPrefix(string(adminText), adminCredentialsHeader) {
		t.Fatalf("the server's credentials file does not start with %q: %q, %v", adminCredentialsHeader, adminText, err)
	}
	n := keyCount()
	env["AWS_SHARED_CREDENTIALS_FILE"] = adminFile
	_, errOut = cl(1, "access-key", "create", "app2", "--write-profile", "ci")
	if !strings.Contains(errOut, adminFile+", the admin credentials file a Rotor server wrote") || !strings.Contains(errOut, "--credentials-file ~/.aws/credentials") {
		t.Errorf("profile into the data directory's credentials file: %q", errOut)
	}
	if b, _ := os.ReadFile(adminFile); string(b) != string(adminText) || keyCount() != n {
		t.Errorf("the refusal changed the file or created a key")
	}
	// ... and as $AWS_SHARED_CREDENTIALS_FILE names it, the hint need not.
	if out, _ := cl(0, "access-key", "create", "app2", "--write-profile", "ci", "--credentials-file", adminFile); !strings.HasSuffix(out, "Use it with: export AWS_PROFILE=ci\n") {
		t.Errorf("profile into the file the environment names: printed %q", out)
	}
	if b, _ := os.ReadFile(adminFile); !strings.HasPrefix(string(b), string(adminText)) || profileValue(b, "ci", "aws_access_key_id") == "" {
		t.Errorf("--credentials-file %s: %q", adminFile, b)
	}
	// Into ~/.aws/credentials while $AWS_SHARED_CREDENTIALS_FILE names
	// another file (the quickstart's export): the hint must name it.
	home := t.TempDir()
	env["HOME"] = home
	cl(0, "identity", "create", "app3")
	dotAWS := filepath.Join(home, ".aws", "credentials")
	if out, _ := cl(0, "access-key", "create", "app3", "--write-profile", "ci", "--credentials-file", dotAWS); !strings.HasSuffix(out,
		"Use it with: export AWS_SHARED_CREDENTIALS_FILE="+dotAWS+" AWS_PROFILE=ci\n") {
		t.Errorf("profile into ~/.aws/credentials while the environment names %s: printed %q", adminFile, out)
	}
	delete(env, "HOME")
	delete(env, "AWS_SHARED_CREDENTIALS_FILE")

	// Refusals create no key and leave the files alone.
	n = keyCount()
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
