package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotorhq/rotor/awsapi"
)

// dirNames returns the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// noScratch fails when a download left a snapshot in the data directory.
func noScratch(t *testing.T, s *testServer) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(s.DataDir, ".rotor-download-*")); len(left) > 0 {
		t.Errorf("snapshots left in the data directory: %v", left)
	}
}

// TestBackupDownloadAndRestore: while writes go on, `rotor backup FILE`
// downloads a snapshot into FILE (0600, nothing else left in its
// directory or the server's); an existing FILE is refused without --force
// and replaced with it; `rotor restore` of the downloaded file gives a
// server holding every secret.
func TestBackupDownloadAndRestore(t *testing.T) {
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	c := s.Client("")
	for _, v := range []string{"alpha", "beta", "gamma"} {
		e2eCreate(t, c, "backup/"+v, v+"-value")
	}
	// Writes keep going while the snapshot is taken.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("backup/alpha"), SecretString: aws.String("alpha-value")})
		}
	}()
	dir := t.TempDir()
	file := filepath.Join(dir, "snapshot.db")
	out, err := cli(t, s, "backup", file)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("rotor backup: %v", err)
	}
	if out != "" {
		t.Fatalf("backup --output json printed %q, want nothing", out)
	}
	if got := mode(t, file); got != 0o600 {
		t.Fatalf("backup mode = %04o, want 0600", got)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"snapshot.db"}) {
		t.Fatalf("the backup's directory holds %v", got)
	}
	noScratch(t, s)
	first, _ := os.ReadFile(file)

	// An existing file is kept unless --force.
	if _, err := cli(t, s, "backup", file); err == nil || !strings.Contains(err.Error(), file+" already exists") ||
		!strings.Contains(err.Error(), "--force") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	if now, _ := os.ReadFile(file); !bytes.Equal(now, first) {
		t.Fatal("a refused backup changed the existing file")
	}
	e2eCreate(t, c, "backup/delta", "delta-value")
	code, human, errOut := runCLI(t, adminEnv(s), "backup", file, "--force", "--endpoint", s.URL())
	if code != 0 || !regexp.MustCompile(`^backup written to `+regexp.QuoteMeta(file)+` \(\d+ bytes, SHA-256 [0-9a-f]{64}\)\n$`).MatchString(human) {
		t.Fatalf("backup --force: exit %d, %q, %q", code, human, errOut)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"snapshot.db"}) || mode(t, file) != 0o600 {
		t.Fatalf("after --force the directory holds %v", got)
	}
	data, _ := os.ReadFile(file)
	if sum := sha256.Sum256(data); !strings.Contains(human, hex.EncodeToString(sum[:])) {
		t.Errorf("the digest printed, %q, is not the file's", human)
	}

	// Restore the download into a new data directory and serve it.
	restored := filepath.Join(t.TempDir(), "restored")
	if code, out, errOut := restoreCLI(t, file, "--data-dir", restored, "--key-file", s.Config.KeyFile()); code != 0 {
		t.Fatalf("rotor restore: exit %d, %s %s", code, out, errOut)
	}
	copyFile(t, s.Config.CredentialsPath(), filepath.Join(restored, "credentials")) // for the test helper
	r := MustRunMain(t, restored, func(c *Config) { c.Keys.File = s.Config.KeyFile() })
	for _, v := range []string{"alpha", "beta", "gamma", "delta"} {
		got, err := r.Client("").GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("backup/" + v)})
		if err != nil || aws.ToString(got.SecretString) != v+"-value" {
			t.Fatalf("restored %s: %v %v", v, got, err)
		}
	}
}

// TestBackupDownloadDamaged: a download damaged on the way (a proxy
// between client and server flips a byte, cuts the stream, or changes or
// drops the digest) is refused, and leaves no file at all.
func TestBackupDownloadDamaged(t *testing.T) {
	s := MustRunMain(t, "", nil)
	e2eCreate(t, s.Client(""), "x", "value")
	target, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	replaceBody := func(resp *http.Response, edit func([]byte) []byte) error {
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(edit(data)))
		return nil
	}
	for _, tc := range []struct {
		name   string
		tamper func(*http.Response) error
		want   string
	}{
		{"FlippedByte", func(resp *http.Response) error {
			return replaceBody(resp, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}, "SHA-256 digest is"},
		{"CutShort", func(resp *http.Response) error {
			return replaceBody(resp, func(b []byte) []byte { return b[:len(b)/2] })
		}, "broke off after"},
		{"OtherDigest", func(resp *http.Response) error {
			resp.Header.Set("Content-Digest", awsapi.ContentDigest(sha256.Sum256([]byte("other"))))
			return nil
		}, "it was damaged on the way"},
		{"NoDigest", func(resp *http.Response) error {
			resp.Header.Del("Content-Digest")
			return nil
		}, "without its SHA-256 digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := httputil.NewSingleHostReverseProxy(target) // keeps the Host the client signed
			proxy.ModifyResponse = func(resp *http.Response) error {
				if resp.Header.Get("Content-Type") != awsapi.OctetStream {
					return nil
				}
				return tc.tamper(resp)
			}
			proxy.ErrorLog = log.New(io.Discard, "", 0)
			front := httptest.NewServer(proxy)
			defer front.Close()
			dir := t.TempDir()
			file := filepath.Join(dir, "damaged.db")
			_, err := cliAt(t, front.URL, s.KeyID, s.Secret, s.Region, "backup", file)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was written to "+file) {
				t.Fatalf("backup through the proxy: %v, want %q", err, tc.want)
			}
			if got := dirNames(t, dir); len(got) > 0 {
				t.Fatalf("a damaged download left %v", got)
			}
		})
	}
	noScratch(t, s)
}

// blockingReader yields its bytes, then blocks until done is closed.
type blockingReader struct {
	r    io.Reader
	done chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if n, _ := b.r.Read(p); n > 0 {
		return n, nil
	}
	<-b.done
	return 0, io.ErrUnexpectedEOF
}

// TestBackupDownloadStalled: a download whose stream stops moving is
// given up after backupIdle, and leaves no file.
func TestBackupDownloadStalled(t *testing.T) {
	s := MustRunMain(t, "", nil)
	target, _ := url.Parse(s.URL())
	done := make(chan struct{})
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // the headers and first bytes reach the client at once
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Header.Get("Content-Type") == awsapi.OctetStream {
			resp.Body = io.NopCloser(&blockingReader{io.LimitReader(resp.Body, 100), done})
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	defer front.Close()
	defer close(done) // before front.Close, which waits for the proxy's handler
	defer func(d time.Duration) { backupIdle = d }(backupIdle)
	backupIdle = 200 * time.Millisecond
	dir := t.TempDir()
	_, err := cliAt(t, front.URL, s.KeyID, s.Secret, s.Region, "backup", filepath.Join(dir, "stalled.db"))
	if err == nil || !strings.Contains(err.Error(), "broke off after 100 of") || !strings.Contains(err.Error(), "no data arrived for 200ms") {
		t.Fatalf("stalled backup: %v", err)
	}
	if got := dirNames(t, dir); len(got) > 0 {
		t.Fatalf("a stalled download left %v", got)
	}
}

// TestBackupOnServer: `rotor backup --on-server NAME` has the server write
// into backup_dir, and only there: a path that leads anywhere else (.., an
// absolute path outside, a symbolic link out) or names an existing file is
// refused saying where backups may go, and nothing is written.
func TestBackupOnServer(t *testing.T) {
	backups := filepath.Join(t.TempDir(), "backups")
	s := MustRunMain(t, "", func(c *Config) { c.BackupDir = backups })
	e2eCreate(t, s.Client(""), "x", "value")

	out, err := cli(t, s, "backup", "--on-server", "nightly.db")
	if err != nil {
		t.Fatal(err)
	}
	nightly := filepath.Join(backups, "nightly.db")
	if !strings.Contains(out, `"Path": "`+nightly+`"`) {
		t.Fatalf("backup --on-server -o json printed %q, want the path %s", out, nightly)
	}
	if mode(t, nightly) != 0o600 || mode(t, backups) != 0o700 {
		t.Fatalf("modes: file %04o, directory %v", mode(t, nightly), mode(t, backups))
	}
	code, human, errOut := runCLI(t, adminEnv(s), "backup", "--on-server", filepath.Join(backups, "abs.db"), "--endpoint", s.URL())
	if want := "backup written on the server's machine to " + filepath.Join(backups, "abs.db") + "\n"; code != 0 || human != want {
		t.Fatalf("backup --on-server: exit %d, %q (want %q), %s", code, human, want, errOut)
	}

	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(backups, "out")); err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, backups)
	dataBefore := dirNames(t, s.DataDir)
	for _, name := range []string{"../escape.db", "sub/../../escape.db", filepath.Join(outside, "abs.db"),
		filepath.Join(s.DataDir, "x.db"), "/tmp/x.db", "out/x.db", "nightly.db", "."} {
		_, err := cli(t, s, "backup", "--on-server", name)
		if err == nil || !strings.Contains(err.Error(), "InvalidParameterException") || !strings.Contains(err.Error(), backups) {
			t.Errorf("backup --on-server %s: %v, want InvalidParameterException naming %s", name, err, backups)
		}
	}
	if got := dirNames(t, backups); !slices.Equal(got, before) {
		t.Errorf("refused backups changed the backup directory: %v, was %v", got, before)
	}
	if got := dirNames(t, outside); len(got) > 0 {
		t.Errorf("refused backups wrote %v outside", got)
	}
	if got := dirNames(t, s.DataDir); !slices.Equal(got, dataBefore) {
		t.Errorf("refused backups changed the data directory: %v, was %v", got, dataBefore)
	}
	if _, err := os.Lstat("/tmp/x.db"); err == nil {
		t.Error("/tmp/x.db exists") // (not proof it was this test, but it should not exist)
	}

	code, _, errOut = runCLI(t, adminEnv(s), "backup", "--on-server", "--force", "y.db", "--endpoint", s.URL())
	if code != 2 || !strings.Contains(errOut, "--force applies to downloads") {
		t.Errorf("--on-server --force: exit %d, %s", code, errOut)
	}
}

// TestBackupAuthorization: identities that may not back up (read-only, no
// role) are refused both ways and nothing is written; an identity whose
// policy allows rotor:DownloadBackup alone may download and nothing more.
// The audit log records each call, with the path of rotor.Backup as sent.
func TestBackupAuthorization(t *testing.T) {
	s := MustRunMain(t, "", nil)
	e2eCreate(t, s.Client(""), "x", "value")
	key := func(identity string, args ...string) (id, secret string) {
		t.Helper()
		if _, err := cli(t, s, append([]string{"identity", "create", identity}, args...)...); err != nil {
			t.Fatal(err)
		}
		out, err := cli(t, s, "access-key", "create", identity)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"[\s\S]*"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("access-key create printed %s", out)
		}
		return m[1], m[2]
	}
	dir := t.TempDir()
	for _, who := range [][]string{{"reader", "--role", "read-only"}, {"nobody"}} {
		id, secret := key(who[0], who[1:]...)
		_, err := cliAt(t, s.URL(), id, secret, s.Region, "backup", filepath.Join(dir, "b.db"))
		if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "rotor:DownloadBackup") {
			t.Errorf("%s: backup: %v", who[0], err)
		}
		_, err = cliAt(t, s.URL(), id, secret, s.Region, "backup", "--on-server", "b.db")
		if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "rotor:Backup") {
			t.Errorf("%s: backup --on-server: %v", who[0], err)
		}
	}
	if got := dirNames(t, dir); len(got) > 0 {
		t.Errorf("refused downloads left %v", got)
	}
	if _, err := os.Lstat(filepath.Join(s.DataDir, "backups")); !os.IsNotExist(err) {
		t.Errorf("refused server-side backups made the backup directory: %v", err)
	}
	noScratch(t, s)

	// One authorizer: a policy allowing rotor:DownloadBackup is enough to
	// download, and allows nothing else.
	id, secret := key("backup-bot")
	policy := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(policy, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rotor:DownloadBackup","Resource":"*"}]}`), 0o600)
	if _, err := cli(t, s, "identity", "policy", "put", "backup-bot", policy); err != nil {
		t.Fatal(err)
	}
	if _, err := cliAt(t, s.URL(), id, secret, s.Region, "backup", filepath.Join(dir, "bot.db")); err != nil {
		t.Fatalf("backup-bot: backup: %v", err)
	}
	if _, err := cliAt(t, s.URL(), id, secret, s.Region, "backup", "--on-server", "bot.db"); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("backup-bot: backup --on-server: %v", err)
	}
	// The admin's server-side backup goes to <data_dir>/backups, made 0700.
	if _, err := cli(t, s, "backup", "--on-server", "admin.db"); err != nil {
		t.Fatal(err)
	}
	if mode(t, filepath.Join(s.DataDir, "backups")) != 0o700 || mode(t, filepath.Join(s.DataDir, "backups", "admin.db")) != 0o600 {
		t.Error("the default backup directory or its file has the wrong mode")
	}

	type call struct{ name, identity, code, params string }
	var got []call
	events, _ := auditEvents(t, s)
	for _, ev := range events {
		name, _ := ev["eventName"].(string)
		if name != "Backup" && name != "DownloadBackup" {
			continue
		}
		user, _ := ev["userIdentity"].(map[string]any)
		ident, _ := user["userName"].(string)
		code, _ := ev["errorCode"].(string)
		params := ""
		if p, ok := ev["requestParameters"].(map[string]any); ok {
			params = p["path"].(string)
		}
		got = append(got, call{name, ident, code, params})
		if ro, _ := ev["readOnly"].(bool); ro != (name == "DownloadBackup") {
			t.Errorf("%s recorded with readOnly %v", name, ro)
		}
	}
	want := []call{
		{"DownloadBackup", "reader", "AccessDeniedException", ""}, {"Backup", "reader", "AccessDeniedException", "b.db"},
		{"DownloadBackup", "nobody", "AccessDeniedException", ""}, {"Backup", "nobody", "AccessDeniedException", "b.db"},
		{"DownloadBackup", "backup-bot", "", ""}, {"Backup", "backup-bot", "AccessDeniedException", "bot.db"},
		{"Backup", "admin", "", "admin.db"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit records of the backups:\n got %v\nwant %v", got, want)
	}
}
