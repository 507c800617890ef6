package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
