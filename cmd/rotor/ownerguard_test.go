package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rotorhq/rotor/internal/testsvc"
)

// TestRootServerWarnsOnForeignDataDir: a server running as root on a data
// directory owned by another user starts, and logs a warning naming the
// owner's uid and the fix; on a directory root owns it logs none; and a
// server not running as root is not warned.
func TestRootServerWarnsOnForeignDataDir(t *testing.T) {
	testsvc.Root(t)
	nobody := testsvc.User(t, "nobody")
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}

	s := MustRunMain(t, dir, nil)
	logs := s.Logs.String()
	var warning string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "data directory owned by another user") {
			warning = line
		}
	}
	for _, want := range []string{"level=WARN", fmt.Sprintf("owner_uid=%d", uid), "data_dir=" + dir,
		fmt.Sprintf("run the server as uid %d", uid), "chown -R root:root " + dir} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning %q lacks %q; logs:\n%s", warning, want, logs)
		}
	}

	if own := MustRunMain(t, "", nil).Logs.String(); strings.Contains(own, "owned by another user") {
		t.Errorf("a root-owned data directory was warned about:\n%s", own)
	}
	var buf bytes.Buffer
	warnForeignDataDir(dir, uid, slog.New(slog.NewTextHandler(&buf, nil)))
	if buf.Len() != 0 {
		t.Errorf("a server running as uid %d (the owner) was warned: %s", uid, buf.String())
	}
}

// TestOfflineCommandsRefuseForeignDataDirAsRoot: `sudo rotor restore` or
// `sudo rotor recover-admin` (root, without -u) on the service user's data
// directory is refused before anything is written, naming the owner and
// the way out — otherwise the restored database would belong to root and
// the server, started again as its user, could not open it.
func TestOfflineCommandsRefuseForeignDataDirAsRoot(t *testing.T) {
	testsvc.Root(t)
	nobody := testsvc.User(t, "nobody")
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)

	s := MustRunMain(t, "", nil)
	e2eCreate(t, s.Client(""), "app/db", "v1")
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := cli(t, s, "backup", backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The directory as the service user has it.
	err := filepath.Walk(s.DataDir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := fileDigests(t, s.DataDir)
	_, lockErr := os.Stat(filepath.Join(s.DataDir, "rotor.lock"))

	for _, tc := range []struct {
		name string
		run  func() (int, string, string)
	}{
		{"restore", func() (int, string, string) { return restoreCLI(t, backup, "--data-dir", s.DataDir, "--force") }},
		{"recover-admin", func() (int, string, string) { return recoverAdmin(t, "--data-dir", s.DataDir) }},
	} {
		code, out, errOut := tc.run()
		if code != 1 || out != "" {
			t.Errorf("%s as root on uid %d's directory: exit %d, stdout %q, stderr %q", tc.name, uid, code, out, errOut)
		}
		for _, want := range []string{fmt.Sprintf("which uid %d owns", uid), fmt.Sprintf("sudo -u '#%d' rotor %s", uid, tc.name),
			"chown -R root:root " + s.DataDir, "Nothing was changed"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr %q lacks %q", tc.name, errOut, want)
			}
		}
		assertDirUnchanged(t, s.DataDir, before)
		entries, _ := os.ReadDir(s.DataDir)
		for _, e := range entries {
			fi, err := os.Lstat(filepath.Join(s.DataDir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
				t.Errorf("%s: %s now belongs to uid %d", tc.name, e.Name(), st.Uid)
			}
		}
		if _, err := os.Stat(filepath.Join(s.DataDir, "rotor.lock")); (err == nil) != (lockErr == nil) {
			t.Errorf("%s: rotor.lock appeared or vanished", tc.name)
		}
	}

	// Not root: no refusal from this guard.
	if err := refuseForeignDataDir("restore", s.DataDir, uid); err != nil {
		t.Errorf("the directory's owner was refused: %v", err)
	}
}
