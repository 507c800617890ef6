package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

const testAccount = "123456789012"

// testRecord is a record for request i.
func testRecord(i int) rotor.AuditRecord {
	return rotor.AuditRecord{
		Time: time.Date(2026, 12, 3, 10, 0, i%60, 0, time.UTC), Source: rotor.AuditSourceSecretsManager,
		Name: "GetSecretValue", RequestID: "req-" + strings.Repeat("x", i%7), Region: "us-east-1",
		Principal: rotor.Principal{Identity: "admin", AccessKeyID: "AKIAEXAMPLE", Role: rotor.RoleAdmin},
		SourceIP:  "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.0 \"quoted\"\n",
		Parameters: []byte(`{"secretId":"app/db"}`), ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf",
		VersionID: "v1", ReadOnly: true,
	}
}

// mustOpen opens a log at path and closes it when the test ends.
func mustOpen(t *testing.T, opts Options) *Log {
	t.Helper()
	if opts.Account == "" {
		opts.Account = testAccount
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// mustWrite records n records (each through Begin) and flushes them.
func mustWrite(t *testing.T, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		reserved, err := l.Begin(context.Background())
		if err != nil || !reserved {
			t.Fatalf("Begin = %v, %v", reserved, err)
		}
		l.Record(testRecord(i), reserved)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// chainFiles returns the log's files oldest first, as `rotor audit verify
// audit.log.* audit.log` would be given them.
func chainFiles(t *testing.T, path string) []string {
	t.Helper()
	rotated, _ := filepath.Glob(path + ".*")
	return append(rotated, path)
}

func mustVerify(t *testing.T, paths []string) Summary {
	t.Helper()
	sum, err := Verify(paths)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return sum
}

func TestLinesAreCloudTrailShapedAndChained(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit", "audit.log")
	l := mustOpen(t, Options{Path: path})
	mustWrite(t, l, 0, 5)
	rec := testRecord(9)
	rec.Principal = rotor.Principal{}
	rec.AccessKeyID, rec.ErrorCode, rec.ErrorMessage = "AKIABAD", "UnrecognizedClientException", "The security token included in the request is invalid."
	l.Record(rec, false)
	rot := rotor.AuditRecord{Time: time.Now(), Source: rotor.AuditSourceRotation, Name: "setSecret", RequestID: "run1/setSecret",
		Principal: rotor.Principal{Identity: "rotation/run1", AccessKeyID: "ASIATEMP", Role: rotor.RoleScoped}}
	l.Record(rot, false)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats(); got.Written != 7 || got.Dropped != 0 {
		t.Fatalf("Stats = %+v, want 7 written, 0 dropped", got)
	}
	sum := mustVerify(t, []string{path})
	if sum.Lines != 7 || sum.FirstSeq != 1 || sum.LastSeq != 7 || sum.LastFile != 1 {
		t.Fatalf("Summary = %+v", sum)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"eventVersion": "1.08", "eventTime": "2026-12-03T10:00:00Z", "eventSource": "secretsmanager.amazonaws.com",
		"eventName": "GetSecretValue", "eventType": "AwsApiCall", "awsRegion": "us-east-1", "sourceIPAddress": "127.0.0.1",
		"userAgent": "aws-sdk-go-v2/1.0 \"quoted\"\n", "requestID": "req-", "readOnly": true, "recipientAccountId": testAccount,
	}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %#v, want %#v", k, ev[k], v)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(ev["eventID"].(string)) {
		t.Errorf("eventID = %v, want a random UUID", ev["eventID"])
	}
	id := ev["userIdentity"].(map[string]any)
	if id["type"] != "IAMUser" || id["arn"] != "arn:aws:iam::123456789012:user/admin" || id["accessKeyId"] != "AKIAEXAMPLE" {
		t.Errorf("userIdentity = %v", id)
	}
	if p := ev["requestParameters"].(map[string]any); p["secretId"] != "app/db" {
		t.Errorf("requestParameters = %v", p)
	}
	if r := ev["responseElements"].(map[string]any); r["arn"] != testRecord(0).ARN || r["versionId"] != "v1" {
		t.Errorf("responseElements = %v", r)
	}
	var failed, step map[string]any
	json.Unmarshal([]byte(lines[5]), &failed)
	json.Unmarshal([]byte(lines[6]), &step)
	if id := failed["userIdentity"].(map[string]any); id["type"] != "Unknown" || id["accessKeyId"] != "AKIABAD" {
		t.Errorf("failed userIdentity = %v", id)
	}
	if failed["errorCode"] != "UnrecognizedClientException" || failed["errorMessage"] == "" {
		t.Errorf("failed error = %v / %v", failed["errorCode"], failed["errorMessage"])
	}
	if step["eventSource"] != "rotor.rotation" || step["eventType"] != "AwsServiceEvent" || step["userIdentity"].(map[string]any)["type"] != "AWSService" {
		t.Errorf("rotation step line = %s", lines[6])
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %04o, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %04o, want 0700", fi.Mode().Perm())
	}
}

func TestRotationAndReopenContinueTheChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := mustOpen(t, Options{Path: path, MaxSize: 2000})
	for i := 0; i < 20; i++ {
		mustWrite(t, l, i, 1) // one batch per record: rotation between batches
	}
	l.Close()
	files := chainFiles(t, path)
	if len(files) < 4 {
		t.Fatalf("files = %v, want several rotated files", files)
	}
	sum := mustVerify(t, files)
	if sum.Lines != 20 || sum.LastSeq != 20 || sum.Files != len(files) {
		t.Fatalf("Summary = %+v over %d files", sum, len(files))
	}
	// A restart continues the same chain, in the same active file.
	l2 := mustOpen(t, Options{Path: path, MaxSize: 2000})
	mustWrite(t, l2, 20, 3)
	l2.Close()
	files = chainFiles(t, path)
	if sum := mustVerify(t, files); sum.LastSeq != 23 {
		t.Fatalf("after reopen: Summary = %+v", sum)
	}
	// Retention: keep two rotated files; the rest of the chain still verifies.
	l3 := mustOpen(t, Options{Path: path, MaxSize: 2000, MaxFiles: 2})
	mustWrite(t, l3, 23, 1)
	mustWrite(t, l3, 24, 1)
	mustWrite(t, l3, 25, 1)
	l3.Close()
	files = chainFiles(t, path)
	if len(files) != 3 {
		t.Fatalf("with max_files 2: files = %v", files)
	}
	if sum := mustVerify(t, files); sum.LastSeq != 26 || sum.FirstFile == 1 {
		t.Fatalf("after retention: Summary = %+v", sum)
	}
}

func TestOpenCutsAPartialLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := mustOpen(t, Options{Path: path})
	mustWrite(t, l, 0, 3)
	l.Close()
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"eventVersion":"1.08","eventTi`)
	f.Close()
	if _, err := Verify([]string{path}); !isBreak(err, BreakPartialLine) {
		t.Fatalf("Verify with a partial line: %v, want %s", err, BreakPartialLine)
	}
	l2 := mustOpen(t, Options{Path: path})
	mustWrite(t, l2, 3, 2)
	l2.Close()
	if sum := mustVerify(t, []string{path}); sum.LastSeq != 5 {
		t.Fatalf("Summary = %+v", sum)
	}
}

func TestOpenRefusesATailThatIsNotAnAuditLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	os.WriteFile(path, []byte("hello\n"), 0o600)
	if _, err := Open(Options{Path: path}); err == nil {
		t.Fatal("Open over a foreign file succeeded")
	}
}

func isBreak(err error, kind string) bool {
	var b *Break
	return errors.As(err, &b) && b.Kind == kind
}

// TestVerifyDetectsTampering makes a three-file chain, tampers with a copy
// in each way, and checks Verify names the break.
func TestVerifyDetectsTampering(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l := mustOpen(t, Options{Path: path, MaxSize: 3000})
	for i := 0; i < 24; i++ {
		mustWrite(t, l, i, 1)
	}
	l.Close()
	files := chainFiles(t, path)
	if len(files) < 3 {
		t.Fatalf("files = %v, want at least 3", files)
	}
	mustVerify(t, files)
	read := func(p string) [][]byte {
		data, _ := os.ReadFile(p)
		return bytes.SplitAfter(data, []byte("\n"))[:bytes.Count(data, []byte("\n"))]
	}
	// A line from another chain: valid hash and plausible seq, wrong prev.
	other := filepath.Join(t.TempDir(), "other.log")
	lo := mustOpen(t, Options{Path: other})
	mustWrite(t, lo, 100, 3)
	lo.Close()
	foreign := read(other)[1] // seq 2

	for _, tc := range []struct {
		name   string
		tamper func(files []string) []string // returns the paths to verify
		kind   string
	}{
		{"edited line", func(fs []string) []string {
			ls := read(fs[0])
			ls[1] = bytes.Replace(ls[1], []byte("GetSecretValue"), []byte("GetSecretValuE"), 1)
			os.WriteFile(fs[0], bytes.Join(ls, nil), 0o600)
			return fs
		}, BreakEdited},
		{"deleted line", func(fs []string) []string {
			ls := read(fs[1])
			ls = append(ls[:1], ls[2:]...)
			os.WriteFile(fs[1], bytes.Join(ls, nil), 0o600)
			return fs
		}, BreakMissingLines},
		{"reordered lines", func(fs []string) []string {
			ls := read(fs[0])
			ls[0], ls[1] = ls[1], ls[0]
			os.WriteFile(fs[0], bytes.Join(ls, nil), 0o600)
			return fs
		}, BreakBadStart},
		{"line moved back", func(fs []string) []string {
			ls := read(fs[0])
			ls[1], ls[2] = ls[2], ls[1]
			os.WriteFile(fs[0], bytes.Join(ls, nil), 0o600)
			return fs
		}, BreakMissingLines},
		{"repeated line", func(fs []string) []string {
			ls := read(fs[0])
			ls = append(ls[:2], append([][]byte{ls[0]}, ls[2:]...)...)
			os.WriteFile(fs[0], bytes.Join(ls, nil), 0o600)
			return fs
		}, BreakReordered},
		{"replaced line", func(fs []string) []string {
			ls := read(fs[0])
			ls[1] = foreign
			os.WriteFile(fs[0], bytes.Join(ls, nil), 0o600)
			return fs
		}, BreakChain},
		{"truncated last line", func(fs []string) []string {
			last := fs[len(fs)-1]
			data, _ := os.ReadFile(last)
			os.WriteFile(last, data[:len(data)-10], 0o600)
			return fs
		}, BreakPartialLine},
		{"truncated rotated file", func(fs []string) []string {
			ls := read(fs[0])
			os.WriteFile(fs[0], bytes.Join(ls[:len(ls)-1], nil), 0o600)
			return fs
		}, BreakMissingLines},
		{"missing middle file", func(fs []string) []string {
			return append([]string{fs[0]}, fs[2:]...)
		}, BreakMissingFile},
		{"swapped files", func(fs []string) []string {
			out := append([]string(nil), fs...)
			out[0], out[1] = out[1], out[0]
			return out
		}, BreakFileOrder},
		{"file renamed over another", func(fs []string) []string {
			data, _ := os.ReadFile(fs[0])
			os.WriteFile(fs[1], data, 0o600)
			return fs
		}, BreakFileOrder},
		{"emptied middle file", func(fs []string) []string {
			os.WriteFile(fs[1], nil, 0o600)
			return fs
		}, BreakEmptyFile},
		{"not JSON", func(fs []string) []string {
			ls := read(fs[0])
			ls[2] = []byte("garbage\n")
			os.WriteFile(fs[0], bytes.Join(ls, nil), 0o600)
			return fs
		}, BreakMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			copyDir := t.TempDir()
			var copies []string
			for _, f := range files {
				data, _ := os.ReadFile(f)
				c := filepath.Join(copyDir, filepath.Base(f))
				os.WriteFile(c, data, 0o600)
				copies = append(copies, c)
			}
			mustVerify(t, copies)
			_, err := Verify(tc.tamper(copies))
			if !isBreak(err, tc.kind) {
				t.Fatalf("Verify = %v, want a %s break", err, tc.kind)
			}
		})
	}
}

// flakyFile is a real file whose writes fail (after writing part of the
// batch, as a full disk does) while fail is set.
type flakyFile struct {
	*os.File
	fs *flakyFS
}

type flakyFS struct {
	mu    sync.Mutex
	fail  bool
	block chan struct{} // non-nil: writes wait for it (a slow disk)
}

func (fs *flakyFS) set(fail bool) { fs.mu.Lock(); fs.fail = fail; fs.mu.Unlock() }

func (fs *flakyFS) open(path string) (file, error) {
	f, err := openOSFile(path)
	if err != nil {
		return nil, err
	}
	return &flakyFile{File: f.(*os.File), fs: fs}, nil
}

func (f *flakyFile) Write(b []byte) (int, error) {
	f.fs.mu.Lock()
	fail, block := f.fs.fail, f.fs.block
	f.fs.mu.Unlock()
	if block != nil {
		<-block
	}
	if fail {
		n, _ := f.File.Write(b[:len(b)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(b)
}

func TestRefuseWhileTheFileCannotBeWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	fs := &flakyFS{}
	l := mustOpen(t, Options{Path: path, RetryInterval: 20 * time.Millisecond, openFile: fs.open})
	mustWrite(t, l, 0, 2)

	fs.set(true)
	ctx := context.Background()
	reserved, err := l.Begin(ctx)
	if err != nil || !reserved {
		t.Fatalf("Begin before the failure is seen = %v, %v", reserved, err)
	}
	l.Record(testRecord(2), reserved) // this batch fails and is retried
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Healthy {
		if time.Now().After(deadline) {
			t.Fatal("the log never noticed the failing file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err = l.Begin(ctx)
	if rotor.ErrorCode(err) != rotor.EUNAVAILABLE {
		t.Fatalf("Begin while failing = %v, want EUNAVAILABLE", err)
	}
	l.Record(testRecord(3), false) // the refusal itself is recorded while room lasts

	fs.set(false)
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}
	if reserved, err := l.Begin(ctx); err != nil || !reserved {
		t.Fatalf("Begin after recovery = %v, %v", reserved, err)
	} else {
		l.Record(testRecord(4), reserved)
	}
	l.Close()
	st := l.Stats()
	if st.Written != 5 || st.Dropped != 0 || st.Refused != 1 || st.Failures == 0 || !st.Healthy {
		t.Fatalf("Stats = %+v, want 5 written, 0 dropped, 1 refused, failures > 0, healthy", st)
	}
	if sum := mustVerify(t, []string{path}); sum.Lines != 5 {
		t.Fatalf("Summary = %+v (a failed partial write must not stay in the file)", sum)
	}
}

func TestServeWhileTheFileCannotBeWrittenCountsDrops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	fs := &flakyFS{}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := newTestLogger(&logs, &logMu)
	l := mustOpen(t, Options{Path: path, OnFailure: Serve, Buffer: 2, MaxWait: 10 * time.Millisecond,
		RetryInterval: 20 * time.Millisecond, openFile: fs.open, Logger: logger})
	fs.set(true)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		reserved, err := l.Begin(ctx)
		if err != nil || !reserved {
			t.Fatalf("Begin %d = %v, %v, want room in the buffer", i, reserved, err)
		}
		l.Record(testRecord(i), reserved)
	}
	// The buffer is full of records that cannot be written: serve anyway.
	reserved, err := l.Begin(ctx)
	if err != nil || reserved {
		t.Fatalf("Begin with a full buffer in serve mode = %v, %v; want false, nil", reserved, err)
	}
	l.Record(testRecord(2), reserved)
	if st := l.Stats(); st.Dropped != 1 {
		t.Fatalf("Stats = %+v, want 1 dropped", st)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "AUDIT RECORD DROPPED") || !strings.Contains(out, "dropped_total=1") {
		t.Fatalf("no loud log line for the drop:\n%s", out)
	}
	fs.set(false)
	l.Close()
	if st := l.Stats(); st.Written != 2 {
		t.Fatalf("Stats = %+v, want the 2 buffered records written after recovery", st)
	}
	mustVerify(t, []string{path})
}

func TestSlowDiskStallsRequestsOnlyBoundedly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	fs := &flakyFS{}
	l := mustOpen(t, Options{Path: path, Buffer: 2, MaxWait: 50 * time.Millisecond, openFile: fs.open})
	block := make(chan struct{})
	fs.mu.Lock()
	fs.block = block
	fs.mu.Unlock()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		reserved, err := l.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l.Record(testRecord(i), reserved)
	}
	start := time.Now()
	_, err := l.Begin(ctx)
	if rotor.ErrorCode(err) != rotor.EUNAVAILABLE {
		t.Fatalf("Begin with a full buffer = %v, want EUNAVAILABLE", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Begin waited %v, want about MaxWait (50ms)", d)
	}
	fs.mu.Lock()
	fs.block = nil
	fs.mu.Unlock()
	close(block)
	l.Close()
	if st := l.Stats(); st.Written != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}
