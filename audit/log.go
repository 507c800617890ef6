package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor"
)

// Policy is what happens to requests while the audit log cannot be written.
type Policy string

const (
	// Refuse answers requests with EUNAVAILABLE (HTTP 503, retryable)
	// rather than serve them unaudited.
	Refuse Policy = "refuse"
	// Serve keeps serving; records that cannot be kept are counted in
	// Stats.Dropped and logged at error level.
	Serve Policy = "serve"
)

// Defaults for Options' zero values.
const (
	DefaultMaxSize       = 100 << 20
	DefaultBuffer        = 8192
	DefaultMaxWait       = 200 * time.Millisecond
	DefaultRetryInterval = time.Second
	// DefaultBatchDelay is how long the writer lets records gather after
	// the first one of a batch, so that one write and one fsync serve
	// many requests even when few are in flight at once.
	DefaultBatchDelay = 10 * time.Millisecond
	// closeTimeout bounds how long Close keeps retrying a failing file.
	closeTimeout = 5 * time.Second
	// maxBatch bounds the records written (and fsynced) together.
	maxBatch = 4096
)

// Options configure a Log.
type Options struct {
	// Path is the active file; rotated files are Path.000001, Path.000002,
	// ... (the number is the file's place in the chain). Its directory is
	// created with mode 0700 and files with mode 0600.
	Path string
	// MaxSize is the size in bytes after which the active file is rotated
	// (checked between batches, so a file may exceed it by one batch);
	// 0 = DefaultMaxSize.
	MaxSize int64
	// MaxFiles is how many rotated files are kept (the oldest are deleted
	// beyond it); 0 keeps them all.
	MaxFiles int
	// OnFailure is the policy while the file cannot be written; "" = Refuse.
	OnFailure Policy
	// Account is the 12-digit account id in identities' ARNs.
	Account string
	// Buffer bounds the records held in memory, not yet durable; 0 =
	// DefaultBuffer.
	Buffer int
	// MaxWait bounds how long Begin waits for room in a full buffer; 0 =
	// DefaultMaxWait.
	MaxWait time.Duration
	// RetryInterval is how often a failing file is retried; 0 =
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// BatchDelay is how long records gather before a batch is written;
	// 0 = DefaultBatchDelay, negative = none.
	BatchDelay time.Duration
	Logger     *slog.Logger // nil = discard

	// openFile opens the active file for appending; tests replace it.
	openFile func(path string) (file, error)
}

// file is what the writer needs of the active file.
type file interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Seek(offset int64, whence int) (int64, error)
	Stat() (os.FileInfo, error)
	Close() error
}

// Stats are the log's counters since Open.
type Stats struct {
	Written  uint64 // records written and fsynced
	Dropped  uint64 // records that could not be kept (each logged)
	Refused  uint64 // requests Begin refused
	Failures uint64 // failed attempts to write a batch
	Healthy  bool   // the last write succeeded
}

// Log is an audit log. It implements rotor.Auditor. Open starts its
// writer; Close stops it.
type Log struct {
	opts  Options
	log   *slog.Logger
	slots chan struct{}          // one token per record not yet durable
	queue chan rotor.AuditRecord // records with a slot, in arrival order
	quit  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // write-held by Close; read-held while enqueueing
	closed bool

	healthy  atomic.Bool
	enqueued atomic.Uint64
	written  atomic.Uint64
	dropped  atomic.Uint64
	refused  atomic.Uint64
	failures atomic.Uint64
	lastDrop atomic.Int64 // unix nanos of the last drop log line

	lostAtClose atomic.Uint64 // enqueued records Close could not write

	flushMu sync.Mutex
	flushed *sync.Cond // broadcast after each batch

	// Writer state, owned by the writer goroutine after Open.
	f        file
	regular  bool // the active path is a regular file (rotated and truncated)
	size     int64
	chain    chainState
	buf      []byte
	ids      []byte // random bytes for event ids
	closeErr error
}

var errUnavailable = rotor.Errorf(rotor.EUNAVAILABLE, "The audit log cannot be written at the moment; the request was not served. Retry later.")

// Open opens (or creates) the log at opts.Path, continuing the chain of the
// lines already there (or of the newest rotated file). A partial last line
// — a write cut short by a crash — is removed, with a warning. A last line
// that is not an audit line is an error: the chain cannot continue from it.
func Open(opts Options) (*Log, error) {
	if opts.Path == "" {
		return nil, errors.New("audit: no path")
	}
	switch opts.OnFailure {
	case "":
		opts.OnFailure = Refuse
	case Refuse, Serve:
	default:
		return nil, fmt.Errorf("audit: on_failure %q must be refuse or serve", opts.OnFailure)
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.BatchDelay == 0 {
		opts.BatchDelay = DefaultBatchDelay
	}
	if opts.openFile == nil {
		opts.openFile = openOSFile
	}
	l := &Log{
		opts:  opts,
		log:   opts.Logger,
		slots: make(chan struct{}, opts.Buffer),
		queue: make(chan rotor.AuditRecord, opts.Buffer),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.flushed = sync.NewCond(&l.flushMu)
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := l.recover(); err != nil {
		return nil, err
	}
	if err := l.reopen(); err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", opts.Path, err)
	}
	l.healthy.Store(true)
	go l.run()
	return l, nil
}

func openOSFile(path string) (file, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
}

// Begin implements rotor.Auditor.
func (l *Log) Begin(ctx context.Context) (bool, error) {
	refuse := l.opts.OnFailure == Refuse
	if refuse && !l.healthy.Load() {
		l.refused.Add(1)
		return false, errUnavailable
	}
	select {
	case l.slots <- struct{}{}:
		return true, nil
	default:
	}
	t := time.NewTimer(l.opts.MaxWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true, nil
	case <-t.C:
	case <-ctx.Done():
	}
	if !refuse {
		return false, nil
	}
	l.refused.Add(1)
	return false, errUnavailable
}

// Record implements rotor.Auditor.
func (l *Log) Record(rec rotor.AuditRecord, reserved bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		if reserved {
			<-l.slots
		}
		l.drop(&rec, "the audit log is closed")
		return
	}
	if !reserved {
		select {
		case l.slots <- struct{}{}:
		default:
			l.drop(&rec, "the audit buffer is full")
			return
		}
	}
	l.queue <- rec // never blocks: the record holds a slot
	l.enqueued.Add(1)
}

// drop counts a record that cannot be kept and says so at error level
// (at most once a second, with the running count).
func (l *Log) drop(rec *rotor.AuditRecord, why string) {
	n := l.dropped.Add(1)
	now := time.Now().UnixNano()
	last := l.lastDrop.Load()
	if now-last < int64(time.Second) && n > 1 || !l.lastDrop.CompareAndSwap(last, now) {
		return
	}
	l.log.Error("AUDIT RECORD DROPPED: a request was served or refused without its audit record",
		"why", why, "dropped_total", n, "event", rec.Name, "request_id", rec.RequestID)
}

// Stats returns the counters.
func (l *Log) Stats() Stats {
	return Stats{Written: l.written.Load(), Dropped: l.dropped.Load(), Refused: l.refused.Load(),
		Failures: l.failures.Load(), Healthy: l.healthy.Load()}
}

// Flush waits until every record handed to Record before the call is
// written and fsynced, or ctx ends.
func (l *Log) Flush(ctx context.Context) error {
	target := l.enqueued.Load()
	stop := context.AfterFunc(ctx, func() {
		l.flushMu.Lock()
		l.flushed.Broadcast()
		l.flushMu.Unlock()
	})
	defer stop()
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	for l.written.Load()+l.lostAtClose.Load() < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-l.done:
			return errors.New("audit: log closed")
		default:
		}
		l.flushed.Wait()
	}
	return nil
}

// Close writes the records still buffered (retrying a failing file for a
// few seconds), then closes the file. Records that arrive later are
// dropped (counted and logged).
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	<-l.done
	return l.closeErr
}

// run is the writer: it takes the records in order, writes and fsyncs them
// in batches, then frees their slots.
func (l *Log) run() {
	defer close(l.done)
	batch := make([]rotor.AuditRecord, 0, 64)
	for {
		select {
		case rec := <-l.queue:
			batch = append(batch, rec)
		case <-l.quit:
			for {
				select {
				case rec := <-l.queue:
					batch = append(batch, rec)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				l.write(batch)
			}
			if l.f != nil {
				if err := l.f.Close(); err != nil && l.closeErr == nil {
					l.closeErr = fmt.Errorf("audit: close: %w", err)
				}
			}
			l.wakeFlush()
			return
		}
		if l.opts.BatchDelay > 0 && len(l.queue) < maxBatch-1 { // no wait with a backlog
			select {
			case <-time.After(l.opts.BatchDelay):
			case <-l.quit:
			}
		}
	more:
		for len(batch) < maxBatch {
			select {
			case rec := <-l.queue:
				batch = append(batch, rec)
			default:
				break more
			}
		}
		l.write(batch)
		for range batch {
			<-l.slots
		}
		clear(batch)
		batch = batch[:0]
	}
}

func (l *Log) wakeFlush() {
	l.flushMu.Lock()
	l.flushed.Broadcast()
	l.flushMu.Unlock()
}

// write encodes batch after the chain and writes it until that succeeds;
// while closing it gives up after closeTimeout and counts the batch dropped.
func (l *Log) write(batch []rotor.AuditRecord) {
	if l.regular && l.size >= l.opts.MaxSize {
		if err := l.rotate(); err != nil {
			l.log.Error("audit: rotate the log file; writing on to the current one", "file", l.opts.Path, "err", err)
		}
	}
	if need := 16 * len(batch); cap(l.ids) < need {
		l.ids = make([]byte, need)
	}
	ids := l.ids[:16*len(batch)]
	rand.Read(ids)
	l.buf = l.buf[:0]
	st := l.chain
	for i := range batch {
		id := ids[16*i : 16*i+16]
		id[6] = id[6]&0x0f | 0x40 // version 4
		id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
		l.buf, st = appendLine(l.buf, &batch[i], l.opts.Account, id, st)
	}
	var deadline time.Time
	for {
		err := l.writeOut(l.buf)
		if err == nil {
			l.chain = st
			if !l.healthy.Load() {
				l.log.Warn("audit: the log file is writable again", "file", l.opts.Path, "failed_attempts", l.failures.Load())
				l.healthy.Store(true)
			}
			l.written.Add(uint64(len(batch)))
			l.wakeFlush()
			return
		}
		n := l.failures.Add(1)
		if l.healthy.Swap(false) || n%60 == 0 {
			l.log.Error("AUDIT LOG CANNOT BE WRITTEN: "+l.policyEffect(), "file", l.opts.Path, "err", err,
				"records_waiting", len(batch)+len(l.queue), "failed_attempts", n)
		}
		select {
		case <-time.After(l.opts.RetryInterval):
			continue
		case <-l.quit:
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(closeTimeout)
		}
		if time.Now().After(deadline) {
			l.dropped.Add(uint64(len(batch)))
			l.lostAtClose.Add(uint64(len(batch)))
			l.log.Error("AUDIT RECORDS LOST at shutdown: the log file could not be written", "file", l.opts.Path,
				"records", len(batch), "err", err)
			l.closeErr = fmt.Errorf("audit: %d records could not be written to %s: %w", len(batch), l.opts.Path, err)
			return
		}
		time.Sleep(min(l.opts.RetryInterval, time.Until(deadline)))
	}
}

func (l *Log) policyEffect() string {
	if l.opts.OnFailure == Serve {
		return "requests are still served (audit.on_failure = serve); records are kept in memory while room lasts"
	}
	return "requests are refused with 503 until it can be written again (audit.on_failure = refuse)"
}

// writeOut appends b to the active file and fsyncs it. On failure it cuts
// the file back to its last good size and closes it, so the next attempt
// reopens it and rewrites the same bytes.
func (l *Log) writeOut(b []byte) error {
	if l.f == nil {
		if err := l.reopen(); err != nil {
			return err
		}
	}
	_, err := l.f.Write(b)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		if l.regular {
			if terr := l.f.Truncate(l.size); terr != nil {
				l.log.Error("audit: cannot remove a partly written batch; the log now holds a partial line", "file", l.opts.Path, "err", terr)
			}
		}
		l.f.Close()
		l.f = nil
		return err
	}
	l.size += int64(len(b))
	return nil
}

// reopen opens the active file and positions at its end.
func (l *Log) reopen() error {
	f, err := l.opts.openFile(l.opts.Path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.regular = fi.Mode().IsRegular()
	l.size = 0
	if l.regular {
		if l.size, err = f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return err
		}
	}
	l.f = f
	return nil
}

// rotatedName is the name of the rotated file number n.
func (l *Log) rotatedName(n int64) string { return fmt.Sprintf("%s.%06d", l.opts.Path, n) }

// rotate renames the active file to its rotated name and starts the next
// file, deleting the oldest rotated files beyond MaxFiles.
func (l *Log) rotate() error {
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			return err
		}
		l.f = nil
	}
	if err := os.Rename(l.opts.Path, l.rotatedName(l.chain.file)); err != nil {
		return err
	}
	syncDir(filepath.Dir(l.opts.Path))
	l.chain.file++
	if err := l.reopen(); err != nil {
		return err
	}
	if l.opts.MaxFiles > 0 {
		old := l.rotatedFiles()
		for len(old) > l.opts.MaxFiles {
			if err := os.Remove(l.rotatedName(old[0])); err != nil {
				return err
			}
			old = old[1:]
		}
	}
	return nil
}

// rotatedFiles returns the numbers of the rotated files present, ascending.
func (l *Log) rotatedFiles() []int64 {
	matches, _ := filepath.Glob(l.opts.Path + ".*")
	var nums []int64
	for _, m := range matches {
		suffix := strings.TrimPrefix(m, l.opts.Path+".")
		if n, err := strconv.ParseInt(suffix, 10, 64); err == nil && len(suffix) >= 6 && n > 0 {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// recover sets the chain state from the last line of the active file or,
// when it is empty or missing, of the newest rotated file.
func (l *Log) recover() error {
	l.chain = chainState{file: 1}
	fi, err := os.Stat(l.opts.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("audit: %w", err)
	case !fi.Mode().IsRegular():
		return nil // a device or pipe: nothing to continue from, nothing to rotate
	default:
		last, err := lastLine(l.opts.Path, true, l.log)
		if err != nil {
			return err
		}
		if last != nil {
			c, err := parseLine(last)
			if err != nil {
				return fmt.Errorf("audit: the last line of %s is not an intact audit line (%v): run `rotor audit verify` and move the file aside to start a new chain", l.opts.Path, err)
			}
			l.chain = chainState{file: c.file, seq: c.seq, hash: c.hash}
			return nil
		}
	}
	rotated := l.rotatedFiles()
	if len(rotated) == 0 {
		return nil
	}
	n := rotated[len(rotated)-1]
	last, err := lastLine(l.rotatedName(n), false, l.log)
	if err != nil {
		return err
	}
	if last == nil {
		return fmt.Errorf("audit: rotated file %s is empty", l.rotatedName(n))
	}
	c, err := parseLine(last)
	if err != nil {
		return fmt.Errorf("audit: the last line of %s is not an intact audit line (%v)", l.rotatedName(n), err)
	}
	l.chain = chainState{file: c.file + 1, seq: c.seq, hash: c.hash}
	return nil
}

// lastLine returns the last complete line of path (without its newline),
// or nil if it has none. With repair, a partial last line is cut off.
func lastLine(path string, repair bool, log *slog.Logger) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if size == 0 {
		return nil, nil
	}
	// Read backwards in growing chunks until two newlines (or the start)
	// bound the last line.
	var tail []byte
	for chunk := int64(64 << 10); ; chunk *= 2 {
		off := max(size-chunk, 0)
		tail = make([]byte, size-off)
		if _, err := f.ReadAt(tail, off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("audit: read %s: %w", path, err)
		}
		end := bytes.LastIndexByte(tail, '\n')
		if end < 0 && off > 0 {
			continue
		}
		if end != len(tail)-1 { // a partial last line
			cut := size - off - int64(end+1)
			if !repair {
				return nil, fmt.Errorf("audit: %s ends in a partial line of %d bytes", path, cut)
			}
			log.Warn("audit: removing a partial last line (a write cut short by a crash)", "file", path, "bytes", cut)
			if err := f.Truncate(size - cut); err != nil {
				return nil, fmt.Errorf("audit: cut the partial last line of %s: %w", path, err)
			}
			if err := f.Sync(); err != nil {
				return nil, fmt.Errorf("audit: %w", err)
			}
			if end < 0 {
				return nil, nil
			}
			size -= cut
			tail = tail[:end+1]
		}
		start := bytes.LastIndexByte(tail[:len(tail)-1], '\n')
		if start < 0 && off > 0 {
			continue
		}
		return bytes.Clone(tail[start+1 : len(tail)-1]), nil
	}
}

var _ rotor.Auditor = (*Log)(nil)
