package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/rotorhq/rotor/awsapi"
	"golang.org/x/sys/unix"
)

// secretCLI runs rotor with the admin's credentials against s, with stdin
// as standard input, and fails the test unless it exits with want.
func secretCLI(t *testing.T, s *testServer, want int, stdin string, args ...string) (string, string) {
	t.Helper()
	env := adminEnv(s)
	env["TZ"] = "UTC"
	code, out, errOut := runCLIIn(t, env, stdin, append(args, "--endpoint", s.URL())...)
	if code != want {
		t.Fatalf("rotor %s: exit %d, want %d; stdout %q, stderr %q", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// TestCLISecretPutGet: put creates a secret or adds a version, with the
// value passed byte for byte from --value, --value-file or --value-stdin,
// as text or (--binary) as bytes; get prints it back exactly, any version.
func TestCLISecretPutGet(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.Client("")
	ctx := context.Background()
	value := func(id string, in *secretsmanager.GetSecretValueInput) *secretsmanager.GetSecretValueOutput {
		t.Helper()
		if in == nil {
			in = &secretsmanager.GetSecretValueInput{}
		}
		in.SecretId = aws.String(id)
		out, err := c.GetSecretValue(ctx, in)
		if err != nil {
			t.Fatalf("GetSecretValue %s: %v", id, err)
		}
		return out
	}

	out, _ := secretCLI(t, s, 0, "", "secret", "put", "app/db", "--value", `{"user":"app","pw":"<&>"}`)
	first := value("app/db", nil)
	if aws.ToString(first.SecretString) != `{"user":"app","pw":"<&>"}` {
		t.Fatalf("stored %q", aws.ToString(first.SecretString))
	}
	if want := "created secret app/db (" + aws.ToString(first.ARN) + ") with version " + aws.ToString(first.VersionId) + "\n"; out != want {
		t.Errorf("put (create) printed %q, want %q", out, want)
	}

	// A file's bytes, trailing newline and all, become the new AWSCURRENT.
	file := filepath.Join(t.TempDir(), "value")
	fileValue := "line 1\r\nline 2 é ✓\n\n"
	os.WriteFile(file, []byte(fileValue), 0o600)
	out, _ = secretCLI(t, s, 0, "", "secret", "put", "app/db", "--value-file", file)
	second := value("app/db", nil)
	if aws.ToString(second.SecretString) != fileValue {
		t.Fatalf("stored %q, want %q", aws.ToString(second.SecretString), fileValue)
	}
	if want := "stored version " + aws.ToString(second.VersionId) + " of app/db; it is now AWSCURRENT\n"; out != want {
		t.Errorf("put printed %q, want %q", out, want)
	}
	if got, _ := secretCLI(t, s, 0, "", "secret", "get", "app/db"); got != fileValue {
		t.Errorf("get = %q, want %q (exactly, no newline added)", got, fileValue)
	}
	if got, _ := secretCLI(t, s, 0, "", "secret", "get", "app/db", "--version-stage", "AWSPREVIOUS"); got != `{"user":"app","pw":"<&>"}` {
		t.Errorf("get --version-stage AWSPREVIOUS = %q", got)
	}
	if got, _ := secretCLI(t, s, 0, "", "secret", "get", "app/db", "--version-id", aws.ToString(first.VersionId)); got != `{"user":"app","pw":"<&>"}` {
		t.Errorf("get --version-id = %q", got)
	}
	jsonOut, _ := secretCLI(t, s, 0, "", "secret", "get", "app/db", "-o", "json")
	var got struct{ SecretString, VersionId string }
	if err := json.Unmarshal([]byte(jsonOut), &got); err != nil || got.SecretString != fileValue || got.VersionId != aws.ToString(second.VersionId) {
		t.Errorf("get -o json = %s (%v)", jsonOut, err)
	}

	// Standard input, without a trailing newline.
	secretCLI(t, s, 0, "no newline \"quoted\" \\ \u2028", "secret", "put", "stdin", "--value-stdin")
	if v := aws.ToString(value("stdin", nil).SecretString); v != "no newline \"quoted\" \\ \u2028" {
		t.Errorf("--value-stdin stored %q", v)
	}

	// Bytes that are not UTF-8: refused as text, stored exactly as binary.
	bin := "\xff\x00\x80 not text\n"
	_, errOut := secretCLI(t, s, 1, bin, "secret", "put", "bin", "--value-stdin")
	if !strings.Contains(errOut, "not UTF-8") || !strings.Contains(errOut, "--binary") {
		t.Errorf("non-UTF-8 text: %q", errOut)
	}
	if _, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("bin")}); err == nil {
		t.Fatal("the refused value created the secret")
	}
	secretCLI(t, s, 0, bin, "secret", "put", "bin", "--value-stdin", "--binary")
	if v := value("bin", nil); v.SecretString != nil || string(v.SecretBinary) != bin {
		t.Errorf("--binary stored %q / %v", v.SecretBinary, v.SecretString)
	}
	if got, _ := secretCLI(t, s, 0, "", "secret", "get", "bin"); got != bin {
		t.Errorf("get of a binary value = %q, want %q", got, bin)
	}

	// Usage errors store nothing.
	for _, args := range [][]string{
		{"secret", "put", "x"},
		{"secret", "put", "x", "--value", "a", "--value-stdin"},
		{"secret", "put", "x", "--value", "a", "--value-file", file},
		{"secret", "put"},
		{"secret", "get"},
	} {
		secretCLI(t, s, 2, "", args...)
	}
	if _, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("x")}); err == nil {
		t.Error("a refused put created secret x")
	}
	// The server's errors come through as they are.
	_, errOut = secretCLI(t, s, 1, "", "secret", "get", "missing")
	if !strings.Contains(errOut, "ResourceNotFoundException: Secrets Manager can't find the specified secret.") {
		t.Errorf("get missing: %q", errOut)
	}
}

// TestCLISecretListRotateHistory: ls shows names, last-changed dates and
// rotation state, with ListSecrets filters; rotate starts a rotation and
// prints its version id; history shows the versions and the runs with
// their steps.
func TestCLISecretListRotateHistory(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.Client("")
	ctx := context.Background()
	for _, name := range []string{"app/one", "app/two", "ops/three"} {
		secretCLI(t, s, 0, "", "secret", "put", name, "--value", "v-"+name)
	}
	// Rotation configured (and run once) through the AWS API.
	first, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("app/two"),
		RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password")),
		RotationRules:     &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(7)}})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, c, "app/two", aws.ToString(first.VersionId))

	out, _ := secretCLI(t, s, 0, "", "secret", "rotate", "app/two")
	version := strings.TrimSpace(out)
	if !regexp.MustCompile(`^[0-9a-f-]{36}\n$`).MatchString(out) {
		t.Fatalf("rotate printed %q, want the new version id", out)
	}
	d := waitRotated(t, c, "app/two", version)

	all := e2eListAll(t, c, secretsmanager.ListSecretsInput{})
	header, rows := tableRows(t, mustOut(secretCLI(t, s, 0, "", "secret", "ls")))
	if strings.Join(header, "|") != "NAME|LAST CHANGED|ROTATION|NEXT ROTATION" || len(rows) != len(all) {
		t.Fatalf("ls: %q, %d rows for %d secrets", header, len(rows), len(all))
	}
	for i, e := range all {
		want := map[string]string{"NAME": aws.ToString(e.Name), "LAST CHANGED": aws.ToTime(e.LastChangedDate).UTC().Format(timeLayout),
			"ROTATION": "off", "NEXT ROTATION": "-"}
		if aws.ToString(e.Name) == "app/two" {
			want["ROTATION"], want["NEXT ROTATION"] = "on", aws.ToTime(d.NextRotationDate).UTC().Format(timeLayout)
		}
		for k, v := range want {
			if rows[i][k] != v {
				t.Errorf("ls row %d %s = %q, want %q", i, k, rows[i][k], v)
			}
		}
	}
	_, rows = tableRows(t, mustOut(secretCLI(t, s, 0, "", "secret", "ls", "--filter", "name=app/")))
	if len(rows) != 2 || rows[0]["NAME"] != "app/one" || rows[1]["NAME"] != "app/two" {
		t.Errorf("ls --filter name=app/ = %v", rows)
	}
	_, rows = tableRows(t, mustOut(secretCLI(t, s, 0, "", "secret", "ls", "--filter", "name=app/one", "--filter", "name=ops/")))
	if len(rows) != 2 || rows[0]["NAME"] != "app/one" || rows[1]["NAME"] != "ops/three" {
		t.Errorf("ls with two name filters (OR) = %v", rows)
	}
	var list struct{ SecretList []struct{ Name string } }
	if err := json.Unmarshal([]byte(mustOut(secretCLI(t, s, 0, "", "secret", "ls", "--filter", "name=ops", "-o", "json"))), &list); err != nil ||
		len(list.SecretList) != 1 || list.SecretList[0].Name != "ops/three" {
		t.Errorf("ls -o json = %+v, %v", list, err)
	}
	secretCLI(t, s, 2, "", "secret", "ls", "--filter", "nameonly")

	// history: versions newest first, then runs with their steps.
	hist := mustOut(secretCLI(t, s, 0, "", "secret", "history", "app/two"))
	versions, runs, ok := strings.Cut(hist, "\n\n")
	if !ok {
		t.Fatalf("history = %q", hist)
	}
	_, vrows := tableRows(t, strings.TrimPrefix(versions, "Versions, newest first:\n"))
	if len(vrows) < 3 || vrows[0]["VERSION ID"] != version || vrows[0]["STAGES"] != "AWSCURRENT" ||
		vrows[1]["VERSION ID"] != aws.ToString(first.VersionId) || vrows[1]["STAGES"] != "AWSPREVIOUS" {
		t.Errorf("history versions = %v", vrows)
	}
	raw := rawRotorCall(t, s, "RotationHistory", awsapi.RotationHistoryInput{SecretID: "app/two"})
	var rh awsapi.RotationHistoryOutput
	json.Unmarshal(raw, &rh)
	if len(rh.Runs) != 2 {
		t.Fatalf("%d runs", len(rh.Runs))
	}
	for _, r := range rh.Runs {
		if !strings.Contains(runs, "Run "+r.Run.RunID+": rotate, succeeded\n") || !strings.Contains(runs, "Version:   "+r.Run.VersionID+"\n") {
			t.Errorf("history lacks run %s:\n%s", r.Run.RunID, runs)
		}
	}
	for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
		if !regexp.MustCompile(`(?m)^  ` + step + ` +1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +\S+ +ok *$`).MatchString(runs) {
			t.Errorf("history lacks step %s:\n%s", step, runs)
		}
	}
	var hj struct {
		Versions []struct{ VersionId string }
		Runs     []json.RawMessage
	}
	if err := json.Unmarshal([]byte(mustOut(secretCLI(t, s, 0, "", "secret", "history", "app/two", "-o", "json"))), &hj); err != nil ||
		len(hj.Versions) != len(vrows) || len(hj.Runs) != 2 {
		t.Errorf("history -o json: %+v, %v", hj, err)
	}
	var wantRuns struct{ Runs []json.RawMessage }
	json.Unmarshal(raw, &wantRuns)
	for i := range hj.Runs {
		if !bytes.Equal(compactJSON(t, hj.Runs[i]), compactJSON(t, wantRuns.Runs[i])) {
			t.Errorf("history -o json run %d = %s, want the server's %s", i, hj.Runs[i], wantRuns.Runs[i])
		}
	}

	// The rotation commands show the same runs.
	header, rrows := tableRows(t, mustOut(secretCLI(t, s, 0, "", "rotation", "list")))
	if strings.Join(header, "|") != "CREATED|SECRET|KIND|STATUS|STEP|ATTEMPT|RUN ID|LAST ERROR" || len(rrows) != 2 ||
		rrows[0]["SECRET"] != "app/two" || rrows[0]["STATUS"] != "succeeded" || rrows[0]["RUN ID"] != rh.Runs[0].Run.RunID ||
		rrows[0]["STEP"] != "-" {
		t.Errorf("rotation list: %q %v", header, rrows)
	}
	raw = rawRotorCall(t, s, "ListRotationRuns", awsapi.ListRotationRunsInput{})
	if got := mustOut(secretCLI(t, s, 0, "", "rotation", "list", "-o", "json")); got != indented(t, raw) {
		t.Errorf("rotation list -o json = %s, want %s", got, indented(t, raw))
	}
	if got := mustOut(secretCLI(t, s, 0, "", "rotation", "history", "app/two")); got != runs {
		t.Errorf("rotation history =\n%s\nwant the runs of secret history:\n%s", got, runs)
	}

	// An identity with secretsmanager rights only (the read-only role) may
	// list the versions but not call rotor:RotationHistory: history shows
	// the versions and says why the runs are missing (exit 1); with -o
	// json, whose answer would be incomplete, it prints nothing.
	secretCLI(t, s, 0, "", "identity", "create", "reader", "--role", "read-only")
	key := mustOut(secretCLI(t, s, 0, "", "access-key", "create", "reader", "-o", "json"))
	readerEnv := map[string]string{"TZ": "UTC", "AWS_REGION": s.Region,
		"AWS_ACCESS_KEY_ID":     regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(key)[1],
		"AWS_SECRET_ACCESS_KEY": regexp.MustCompile(`"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(key)[1]}
	code, out, errOut := runCLI(t, readerEnv, "secret", "history", "app/two", "--endpoint", s.URL())
	readerVersions, ok := strings.CutPrefix(out, "Versions, newest first:\n")
	if code != 1 || !ok || strings.Contains(out, "\n\n") || !strings.Contains(errOut, "rotation runs not shown: AccessDeniedException") ||
		!strings.Contains(errOut, "rotor:RotationHistory") {
		t.Errorf("history as a read-only identity: exit %d, stdout %q, stderr %q", code, out, errOut)
	} else if _, rrows := tableRows(t, readerVersions); len(rrows) != len(vrows) || rrows[0]["VERSION ID"] != version || rrows[0]["STAGES"] != "AWSCURRENT" {
		t.Errorf("history as a read-only identity shows the versions %v, want %v", rrows, vrows)
	}
	if code, out, errOut = runCLI(t, readerEnv, "secret", "history", "app/two", "-o", "json", "--endpoint", s.URL()); code != 1 || out != "" ||
		!strings.Contains(errOut, "AccessDeniedException") {
		t.Errorf("history -o json as a read-only identity: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func mustOut(stdout, _ string) string { return stdout }

func compactJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// openPTY returns a new pseudo-terminal's controlling side and terminal.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctl, tty
}

// TestCLISecretGetOnTerminal: on a terminal (only there) get ends a text
// value with a newline, and refuses to write a binary value.
func TestCLISecretGetOnTerminal(t *testing.T) {
	s := MustRunMain(t, "", nil)
	secretCLI(t, s, 0, "", "secret", "put", "text", "--value", "no newline")
	secretCLI(t, s, 0, "\x1b[2J\xff", "secret", "put", "bin", "--value-stdin", "--binary")
	for k, v := range adminEnv(s) {
		t.Setenv(k, v)
	}
	ctl, tty := openPTY(t)
	var errOut syncBuffer
	code := runWith(context.Background(), []string{"secret", "get", "text", "--endpoint", s.URL()}, strings.NewReader(""), tty, &errOut)
	if code != 0 {
		t.Fatalf("get on a terminal: exit %d: %s", code, errOut.String())
	}
	buf := make([]byte, 100)
	n, err := ctl.Read(buf)
	if err != nil || string(buf[:n]) != "no newline\r\n" { // the terminal shows "\n" as "\r\n"
		t.Errorf("terminal received %q, %v", buf[:n], err)
	}
	code = runWith(context.Background(), []string{"secret", "get", "bin", "--endpoint", s.URL()}, strings.NewReader(""), tty, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "binary value (5 bytes): not written to a terminal") {
		t.Errorf("binary get on a terminal: exit %d, %q", code, errOut.String())
	}
}
