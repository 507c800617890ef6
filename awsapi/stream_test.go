package awsapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// closeCounter counts the Close calls of a snapshot's reader.
type closeCounter struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

func TestDownloadBackupStreams(t *testing.T) {
	data := bytes.Repeat([]byte("SQLite format 3\x00page"), 40000) // several chunks
	body := &closeCounter{Reader: bytes.NewReader(data)}
	au := &recordingAuditor{}
	h := newHandler(nil, &fakeAdmin{DownloadBackupFn: func(context.Context) (*rotor.Snapshot, error) {
		return &rotor.Snapshot{ReadCloser: body, Size: int64(len(data)), SHA256: sha256.Sum256(data)}, nil
	}})
	h.Audit = au
	rec := post(t, h, "rotor.DownloadBackup", `{}`)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), data) {
		t.Fatalf("status %d, %d bytes (want %d): %.200s", rec.Code, rec.Body.Len(), len(data), rec.Body.String())
	}
	hdr := rec.Header()
	if got := hdr.Get("Content-Type"); got != "application/octet-stream" {
		t.Errorf("Content-Type %q", got)
	}
	if got := hdr.Get("Content-Length"); got != strconv.Itoa(len(data)) {
		t.Errorf("Content-Length %q, want %d", got, len(data))
	}
	if sum, err := awsapi.ParseContentDigest(hdr.Get("Content-Digest")); err != nil || sum != sha256.Sum256(data) {
		t.Errorf("Content-Digest %q: %x, %v", hdr.Get("Content-Digest"), sum, err)
	}
	if hdr.Get("x-amzn-RequestId") == "" {
		t.Error("no request id")
	}
	if n := body.closed.Load(); n != 1 {
		t.Errorf("snapshot closed %d times, want 1", n)
	}
	recs := au.records()
	if len(recs) != 1 || recs[0].Name != "DownloadBackup" || recs[0].ErrorCode != "" || !recs[0].ReadOnly || recs[0].Parameters != nil {
		t.Fatalf("audit records %+v, want one read-only DownloadBackup without parameters or error", recs)
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk on fire")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

// A snapshot that cannot be read to its end cuts the body short (the
// client sees fewer bytes than Content-Length), and the audit record says so.
func TestDownloadBackupCutShort(t *testing.T) {
	body := &closeCounter{Reader: &failingReader{n: 1000}}
	au := &recordingAuditor{}
	h := newHandler(nil, &fakeAdmin{DownloadBackupFn: func(context.Context) (*rotor.Snapshot, error) {
		return &rotor.Snapshot{ReadCloser: body, Size: 5000}, nil
	}})
	h.Audit = au
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "rotor.DownloadBackup")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1000 || resp.ContentLength != 5000 {
		t.Fatalf("read %d of %d bytes, %v; want 1000 and an unexpected EOF", len(got), resp.ContentLength, err)
	}
	if n := body.closed.Load(); n != 1 {
		t.Errorf("snapshot closed %d times, want 1", n)
	}
	recs := au.records()
	if len(recs) != 1 || recs[0].ErrorCode != "InternalServiceError" ||
		recs[0].ErrorMessage != "The backup stream was cut short after 1000 of 5000 bytes." {
		t.Fatalf("audit records %+v", recs)
	}
}

// An error before the first byte is an ordinary AWS error: a database
// store's explanation reaches the client.
func TestDownloadBackupError(t *testing.T) {
	const msg = "This server's store is the PostgreSQL database db, which Rotor does not copy to a file: back it up with pg_dump."
	h := newHandler(nil, &fakeAdmin{DownloadBackupFn: func(context.Context) (*rotor.Snapshot, error) {
		return nil, rotor.Errorf(rotor.EINVALID, msg)
	}})
	rec := post(t, h, "rotor.DownloadBackup", `{}`)
	if got := mustError(t, rec, http.StatusBadRequest, "InvalidParameterException"); got != msg {
		t.Errorf("message %q", got)
	}
}

// A backup may take longer than the server's ReadTimeout and WriteTimeout:
// its context is not cancelled when ReadTimeout passes, and its answer is
// written in full.
func TestLongOperationsOutlastServerTimeouts(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 1<<20)
	ctxErr := make(chan error, 1)
	h := newHandler(nil, &fakeAdmin{
		DownloadBackupFn: func(ctx context.Context) (*rotor.Snapshot, error) {
			time.Sleep(300 * time.Millisecond) // past both timeouts below
			ctxErr <- ctx.Err()
			return &rotor.Snapshot{ReadCloser: io.NopCloser(bytes.NewReader(data)), Size: int64(len(data)), SHA256: sha256.Sum256(data)}, nil
		},
		BackupFn: func(ctx context.Context, path string) (string, error) {
			time.Sleep(300 * time.Millisecond)
			return "/b/" + path, ctx.Err()
		},
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 50*time.Millisecond, 50*time.Millisecond
	srv.Start()
	defer srv.Close()
	call := func(op, body string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "rotor."+op)
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		return resp, got, err
	}
	resp, got, err := call("DownloadBackup", `{}`)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("DownloadBackup: %v, %d of %d bytes", err, len(got), len(data))
	}
	if err := <-ctxErr; err != nil {
		t.Fatalf("DownloadBackup's context ended: %v", err)
	}
	resp, got, err = call("Backup", `{"Path":"x.db"}`)
	if err != nil || resp.StatusCode != http.StatusOK || string(got) != `{"Path":"/b/x.db"}` {
		t.Fatalf("Backup: %v, %v, %s", err, resp, got)
	}
}

func TestParseContentDigest(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	good := awsapi.ContentDigest(sum)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{good, true},
		{"sha-512=:AAAA:, " + good, true},
		{"", false},
		{"sha-512=:AAAA:", false},
		{strings.TrimSuffix(good, ":"), false},
		{strings.Replace(good, ":", "", 1), false},
		{"sha-256=:AAAA:", false}, // not 32 bytes
		{"sha-256=:!!!:", false},
	} {
		got, err := awsapi.ParseContentDigest(tc.in)
		if tc.ok != (err == nil) || tc.ok && got != sum {
			t.Errorf("ParseContentDigest(%q) = %x, %v", tc.in, got, err)
		}
	}
}
