package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor"
)

// Group commit.
//
// SQLite has one writer, and with synchronous=FULL every COMMIT waits for an
// fsync of the WAL. Update therefore lets several callers share one
// transaction and one fsync: the caller holding the writer runs its fn
// inside a SAVEPOINT of the open batch transaction (starting one with BEGIN
// IMMEDIATE if none is open), releases or rolls back that savepoint, and
// then either hands the writer to the next caller waiting for it, leaving
// the batch open, or, when nobody waits (or the batch is full), COMMITs the
// batch. Every caller whose fn succeeded waits for that COMMIT and returns
// its result, so a write is acknowledged only once it is durable. fn runs
// on its caller's goroutine, so a panic (or runtime.Goexit) in fn unwinds
// its caller as before; its savepoint is rolled back first and its
// batch-mates are unaffected.
//
// The first member of a batch (the first whose fn succeeds) runs without
// a savepoint, which saves the savepoint's statements and the copies of
// the pages it changes into the sub-journal: until it succeeds the batch
// holds nothing of anyone, so if it fails (or panics) the whole
// transaction is rolled back and the next caller begins a new one.
//
// A fn that fails has only its own savepoint rolled back. If the batch
// transaction itself breaks (a savepoint cannot be released or rolled
// back, or COMMIT fails) every member of the batch gets an EINTERNAL error
// and nothing of the batch is kept.

// maxBatch bounds the callers whose work one COMMIT carries, and so how
// long the first of them waits for its acknowledgement.
const maxBatch = 64

// savepoint is the name of each caller's savepoint inside a batch; its
// statements are prepared as the writer's others are (writeStmts).
const (
	savepoint      = "rotor_update"
	savepointQuery = "SAVEPOINT " + savepoint
	releaseQuery   = "RELEASE " + savepoint
)

// committer serialises write transactions and groups their commits.
type committer struct {
	sem chan struct{} // capacity 1: held while running a fn or committing

	mu      sync.Mutex // guards waiting and the hand-off decision
	waiting int        // callers blocked on sem
	cur     *batch     // open batch transaction; only touched holding sem

	commits atomic.Int64 // COMMITs that wrote something
	updates atomic.Int64 // Updates whose fn succeeded and were committed

	heldSince time.Time    // when the current holder took the writer; only touched holding sem
	busy      atomic.Int64 // nanoseconds the writer was held, over all turns
}

// batch is one open transaction shared by several Updates.
type batch struct {
	tx      *sql.Tx
	stmts   map[*sql.Stmt]*sql.Stmt // prepared statements bound to tx (see tx.stmt)
	members int                     // callers whose released savepoint is in tx
	broken  error                   // set when tx can no longer be committed
	done    chan struct{}
	err     error // result of the COMMIT, valid once done is closed
}

func newCommitter() *committer {
	return &committer{sem: make(chan struct{}, 1)}
}

// acquire takes the writer, or gives up when ctx ends first. A caller that
// gives up commits the open batch itself if it was the last one the holder
// handed the writer to, so a batch is never left without a committer.
func (c *committer) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}: // uncontended
		c.heldSince = time.Now()
		return nil
	default:
	}
	c.mu.Lock()
	c.waiting++
	c.mu.Unlock()
	select {
	case c.sem <- struct{}{}:
		c.mu.Lock()
		c.waiting--
		c.mu.Unlock()
		c.heldSince = time.Now()
		return nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.waiting--
	got := false
	if c.waiting == 0 {
		select {
		case c.sem <- struct{}{}:
			got = true
		default: // the holder decides after us and sees waiting == 0
		}
	}
	c.mu.Unlock()
	if got {
		c.heldSince = time.Now()
		c.leave()
	}
	return ctx.Err()
}

// leave ends the holder's turn: it hands the writer on, leaving the open
// batch for the next caller to extend and commit, or has the batch (if
// any) committed and the writer released. The commit runs on a goroutine
// of its own, which releases the writer after it: the caller may return
// before the commit is done (members wait for the batch's done).
//
// Why a goroutine: whoever releases the writer readies the next caller
// waiting for it, which then runs on the releaser's processor once the
// releaser blocks. A caller that committed in its own goroutine went on
// to write its response first, and the writer stood idle meanwhile:
// ~0.3 ms after each commit that had a caller waiting, 7% of the writer's
// time under bench/writes (instrumented). The commit goroutine ends at
// once, and that gap went to nothing.
func (c *committer) leave() {
	b := c.cur
	c.mu.Lock()
	if b != nil && b.broken == nil && c.waiting > 0 && b.members < maxBatch {
		c.busy.Add(int64(time.Since(c.heldSince)))
		<-c.sem // hand off inside mu: see acquire
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if b == nil {
		c.release()
		return
	}
	c.cur = nil
	go func() {
		c.finish(b)
		c.release()
	}()
}

// release lets the writer go, counting the holder's turn.
func (c *committer) release() {
	c.busy.Add(int64(time.Since(c.heldSince)))
	<-c.sem
}

// finish commits b (or rolls it back if it is broken or holds nothing) and
// wakes its members.
func (c *committer) finish(b *batch) {
	switch {
	case b.broken != nil:
		b.tx.Rollback()
		b.err = b.broken
	case b.members == 0:
		b.err = b.tx.Rollback()
	default:
		b.err = b.tx.Commit()
		if b.err == nil {
			c.commits.Add(1)
			c.updates.Add(int64(b.members))
		}
	}
	close(b.done)
}

// update is Store.Update with group commit.
func (s *Store) update(ctx context.Context, fn func(rotor.Tx) error) error {
	c := s.commit
	if err := ctx.Err(); err != nil {
		return storeError(err, "transaction", "update: begin")
	}
	if err := c.acquire(ctx); err != nil {
		return storeError(err, "transaction", "update: begin")
	}
	b := c.cur
	if b == nil {
		if s.writes.pending() {
			s.writes.prepare(context.WithoutCancel(ctx))
		}
		// The batch outlives this caller's ctx: it is begun (and its
		// statements run) without cancellation, so one caller's
		// cancellation cannot interrupt its batch-mates' work.
		stx, err := s.writer.BeginTx(context.Background(), nil)
		if err != nil {
			c.leave()
			return storeError(err, "transaction", "update: begin")
		}
		b = &batch{tx: stx, stmts: map[*sql.Stmt]*sql.Stmt{}, done: make(chan struct{})}
		c.cur = b
	}
	if err := ctx.Err(); err != nil {
		c.leave()
		return storeError(err, "transaction", "update: begin")
	}
	bg := context.WithoutCancel(ctx)
	t := &tx{ctx: bg, tx: b.tx, writable: true, reads: s.writerStmts, writes: s.writes, bound: b.stmts}
	// A batch that holds no member's work yet (b.members == 0: none has
	// succeeded, and those that failed were rolled back) needs no
	// savepoint: should fn fail, the whole transaction is rolled back
	// (discard), losing nothing of anyone else.
	sp := b.members > 0
	if sp {
		if _, err := t.execContext(savepointQuery); err != nil {
			b.broken = storeError(err, "transaction", "update: savepoint")
			c.leave()
			return b.broken
		}
	}
	undo := func() {
		if sp {
			rollbackTo(bg, b)
		} else {
			c.discard(b)
		}
		c.leave()
	}

	returned := false
	defer func() {
		if !returned { // fn panicked or called runtime.Goexit
			undo()
		}
	}()
	err := fn(t)
	returned = true
	if err == nil && ctx.Err() != nil {
		err = storeError(ctx.Err(), "transaction", "update: commit")
	}
	if err != nil {
		undo()
		return err
	}
	if sp {
		if _, rerr := t.execContext(releaseQuery); rerr != nil {
			b.broken = storeError(rerr, "transaction", "update: release savepoint")
			c.leave()
			return b.broken
		}
	}
	b.members++
	c.leave()
	<-b.done
	if b.err != nil {
		var re *rotor.Error
		if errors.As(b.err, &re) {
			return b.err
		}
		return storeError(b.err, "transaction", "update: commit")
	}
	return nil
}

// discard rolls back b, which holds no member's work (b.members == 0),
// and closes it: the writer's holder, on leaving, hands on or releases
// the writer without a batch, and the next holder begins a new one. Its
// error is ignored: SQLite may already have rolled the transaction back
// (after an I/O error), and nothing of it is kept either way.
func (c *committer) discard(b *batch) {
	_ = b.tx.Rollback()
	b.err = errDiscarded
	close(b.done) // nobody waits: only members do
	c.cur = nil
}

// errDiscarded is the result of a batch rolled back before any member
// joined it.
var errDiscarded = errors.New("batch discarded before any update joined it")

// rollbackTo undoes one caller's work inside b; if that fails the batch
// transaction is broken (SQLite may have rolled it back entirely).
func rollbackTo(ctx context.Context, b *batch) {
	if b.broken != nil {
		return
	}
	for _, q := range []string{"ROLLBACK TO " + savepoint, "RELEASE " + savepoint} {
		if _, err := b.tx.ExecContext(ctx, q); err != nil {
			b.broken = storeError(fmt.Errorf("roll back a failed update: %w", err), "transaction", "update: rollback")
			return
		}
	}
}

// Stats are counters of a Store since it was opened.
type Stats struct {
	// Commits is the number of durable COMMITs (each one fsync of the WAL
	// with synchronous=FULL) that wrote the work of at least one Update.
	Commits int64
	// Updates is the number of Updates whose work those commits wrote.
	Updates int64
	// WriterBusy is the time the single writer was held: running Updates'
	// fns in their batch transactions and committing them. Growing at
	// nearly a second per second, it says writes queue for the writer.
	WriterBusy time.Duration
}

// Stats returns the store's counters. Updates/Commits is the average
// number of Updates that shared one commit.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commit.commits.Load(), Updates: s.commit.updates.Load(), WriterBusy: time.Duration(s.commit.busy.Load())}
}
