//go:build unix

package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// crashEnv names the database TestWALCrashHelper writes to; unset, the
// helper does nothing.
const crashEnv = "ROTOR_WALVFS_CRASH_DB"

// crashDesc is the description of the secret name the crash helper writes.
func crashDesc(name string) string {
	return strings.Repeat(name[len(name)-2:], len(name)*131%3000) + name
}

// TestWALCrashHelper is the child of TestWALCrash: it writes secrets to the
// database named by crashEnv until it is killed, from four goroutines,
// through a writer that spills at 10 pages, some Updates of 40 secrets
// and some failing after writing 30, while another connection checkpoints
// (PASSIVE, TRUNCATE), and prints each secret's name once its Update has
// returned.
func TestWALCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the child of TestWALCrash")
	}
	round := os.Getenv(crashEnv + "_ROUND")
	s, err := OpenWith(path, Options{BusyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.Exec("PRAGMA cache_size = 10"); err != nil {
		t.Fatal(err)
	}
	ckpt, err := sql.Open("sqlite", dsn(path, url.Values{"_busy_timeout": {"20"}}))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; ; i++ {
			mode := []string{"PASSIVE", "TRUNCATE"}[i%2]
			var a, b, c int
			if err := ckpt.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&a, &b, &c); err != nil {
				fmt.Fprintf(os.Stderr, "checkpoint: %v\n", err)
				os.Exit(3)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var out sync.Mutex
	ctx := context.Background()
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				var names []string
				n := 1
				if i%7 == 3 {
					n = 40
				}
				for j := range n {
					names = append(names, fmt.Sprintf("r%s-g%d-%05d-%02d", round, g, i, j))
				}
				err := s.Update(ctx, func(tx rotor.Tx) error {
					for _, name := range names {
						if err := tx.CreateSecret(walSecret(name, crashDesc(name))); err != nil {
							return err
						}
					}
					if i%11 == 5 {
						for j := range 30 {
							if err := tx.CreateSecret(walSecret(fmt.Sprintf("doomed-%s-%d-%d-%d", round, g, i, j), strings.Repeat("z", 3000))); err != nil {
								return err
							}
						}
						return errDoomed
					}
					return nil
				})
				if i%11 == 5 {
					if err != errDoomed {
						fmt.Fprintf(os.Stderr, "doomed Update: %v\n", err)
						os.Exit(3)
					}
					continue
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "Update: %v\n", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Println(strings.Join(names, " "))
				out.Unlock()
			}
		}()
	}
	select {}
}

// TestWALCrash kills (SIGKILL) a child process writing through the VFS
// (TestWALCrashHelper) at several points, then reopens the database: it
// must pass integrity_check, hold every secret the child printed as
// committed, each whole, and none of a failed Update.
func TestWALCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	var acked []string
	for round, after := range []int{1, 25, 200, 60, 500, 5} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWALCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, fmt.Sprintf("%s_ROUND=%d", crashEnv, round))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		var other strings.Builder // the test framework's output
		lines := 0
		for lines < after && sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 && strings.HasPrefix(f[0], "r") {
				acked = append(acked, f...)
				lines++
			} else {
				other.WriteString(sc.Text() + "\n")
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for sc.Scan() { // lines written before the kill are acknowledged too
			if f := strings.Fields(sc.Text()); len(f) > 0 && strings.HasPrefix(f[0], "r") {
				acked = append(acked, f...)
			} else {
				other.WriteString(sc.Text() + "\n")
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: the child ended before it was killed: %v\n%s%s", round, err, &other, stderr.Bytes())
		}
		if lines < after {
			t.Fatalf("round %d: the child printed %d commits, want %d\n%s%s", round, lines, after, &other, stderr.Bytes())
		}

		s, err := Open(path)
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		checkIntegrity(t, s.readers)
		if err := s.View(context.Background(), func(tx rotor.Tx) error {
			for _, name := range acked {
				r, err := tx.Secret(walSecret(name, "").ARN)
				if err != nil {
					return fmt.Errorf("%s, committed before the kill: %w", name, err)
				}
				if r.Description != crashDesc(name) {
					return fmt.Errorf("%s reads back %d bytes of description, want %d", name, len(r.Description), len(crashDesc(name)))
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var doomed int
		if err := s.readers.QueryRow("SELECT count(*) FROM secrets WHERE name LIKE 'doomed-%'").Scan(&doomed); err != nil || doomed != 0 {
			t.Fatalf("round %d: %d secrets of failed Updates, %v", round, doomed, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d commits printed; %d secrets acknowledged so far, all present", round, lines, len(acked))
	}
}
