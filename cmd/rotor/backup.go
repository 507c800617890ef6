package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rotorhq/rotor/awsapi"
)

// `rotor backup FILE` downloads a consistent snapshot of the server's
// database (rotor.DownloadBackup) into FILE on this machine. The bytes go
// to a private temporary file (0600) next to FILE, which becomes FILE only
// once the whole stream has arrived and its length and SHA-256 digest are
// those the server announced; anything else leaves no file behind. FILE is
// never replaced without --force, not even by one that appears during the
// download. `rotor backup --on-server NAME` has the server write the
// snapshot into its own backup directory instead (rotor.Backup).

// backupIdle is how long a download may go without a byte arriving before
// it is given up (a variable for tests).
var backupIdle = 2 * time.Minute

// errStalled ends a download that stopped moving.
var errStalled = errors.New("no data arrived")

func setupBackup(fs *flag.FlagSet, x *cmdline) action {
	onServer := fs.Bool("on-server", false, "have the server write the snapshot into its backup directory (backup_dir) as <file>, a name or a path inside that directory, instead of downloading it")
	force := fs.Bool("force", false, "replace <file> if it exists (downloads only)")
	return func(ctx context.Context, pos, _ []string) error {
		if *onServer {
			if *force {
				return usageError("rotor backup: --force applies to downloads; the server never replaces a file in its backup directory")
			}
			raw, err := x.rotorCall(ctx, "Backup", awsapi.BackupInput{Path: pos[0]})
			if err != nil {
				return err
			}
			return x.show(raw, func() error {
				out, err := decode[awsapi.BackupOutput](raw)
				if err != nil {
					return err
				}
				return x.done("backup written on the server's machine to %s", out.Path)
			})
		}
		return x.downloadBackup(ctx, pos[0], *force)
	}
}

// downloadBackup downloads a snapshot into file.
func (x *cmdline) downloadBackup(ctx context.Context, file string, force bool) error {
	path, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	exists := func() error {
		return fmt.Errorf("%s already exists: name a new file, or give --force to replace it", path)
	}
	if _, err := os.Lstat(path); err == nil && !force {
		return exists()
	}
	c, err := x.client(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".partial-*") // mode 0600
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // gone already once installed
	}()
	size, sum, err := c.downloadBackup(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("%w; nothing was written to %s", err, path)
	}
	if force {
		err = os.Rename(tmp.Name(), path)
	} else if err = os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return exists()
	} else if err != nil {
		// A file system without hard links: check, then rename.
		if _, lerr := os.Lstat(path); lerr == nil {
			return exists()
		}
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := syncDirectory(dir); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return x.done("backup written to %s (%d bytes, SHA-256 %x)", path, size, sum)
}

// downloadBackup calls rotor.DownloadBackup and copies the snapshot to w,
// returning its size and digest once both match what the server announced.
func (c *apiClient) downloadBackup(ctx context.Context, w io.Writer) (size int64, sum [32]byte, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// No overall timeout: a large database takes as long as it takes. A
	// stream that stops moving is given up (backupIdle).
	hc := &http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect}
	resp, err := c.send(ctx, hc, "rotor", "DownloadBackup", awsapi.DownloadBackupInput{})
	var ae *apiError
	if errors.As(err, &ae) && ae.Type == "UnknownOperationException" {
		return 0, sum, fmt.Errorf("%w (this server is older than the client and cannot send backups: use rotor backup --on-server NAME)", err)
	}
	if err != nil {
		return 0, sum, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != awsapi.OctetStream {
		return 0, sum, fmt.Errorf("%s answered DownloadBackup with %q, not a backup: is it a Rotor server's address (--endpoint)?", c.endpoint, ct)
	}
	size = resp.ContentLength
	if size < 0 {
		return 0, sum, fmt.Errorf("%s sent a backup without its length", c.endpoint)
	}
	want, err := awsapi.ParseContentDigest(resp.Header.Get("Content-Digest"))
	if err != nil {
		return 0, sum, fmt.Errorf("%s sent a backup without its SHA-256 digest (Content-Digest: %v)", c.endpoint, err)
	}
	h := sha256.New()
	idle := backupIdle
	stall := time.AfterFunc(idle, func() { cancel(fmt.Errorf("%w for %s", errStalled, idle)) })
	defer stall.Stop()
	n, err := io.Copy(io.MultiWriter(w, h), readNotifier{resp.Body, func() { stall.Reset(idle) }})
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
			err = cause
		}
		return n, sum, fmt.Errorf("the backup download broke off after %d of %d bytes: %w", n, size, err)
	}
	if n != size {
		return n, sum, fmt.Errorf("the server announced a backup of %d bytes and sent %d", size, n)
	}
	h.Sum(sum[:0])
	if sum != want {
		return n, sum, fmt.Errorf("the backup's SHA-256 digest is %x, but the server announced %x: it was damaged on the way", sum, want)
	}
	return n, sum, nil
}

// readNotifier calls moved after every read that returned bytes.
type readNotifier struct {
	r     io.Reader
	moved func()
}

func (r readNotifier) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.moved()
	}
	return n, err
}
