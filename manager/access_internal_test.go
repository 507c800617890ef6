package manager

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestFullBatchesStartOneFlush: while a flush is running, notes that fill
// batch after batch start one more flush, not one per note past the size.
func TestFullBatchesStartOneFlush(t *testing.T) {
	s := New(Config{}) // no store: a flush takes its batch and writes nothing
	s.flushMu.Lock()   // a flush is running
	before := runtime.NumGoroutine()
	s.accessMu.Lock()
	for i := range 5 * accessFlushMax {
		s.noteAccessLocked(fmt.Sprint(i), accessNote{arn: fmt.Sprint("arn-", i), day: time.Now()})
	}
	started := runtime.NumGoroutine() - before
	s.accessMu.Unlock()
	if started > 1 {
		t.Fatalf("%d goroutines started for %d notes, want one flush", started, 5*accessFlushMax)
	}
	s.flushMu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.accessMu.Lock()
		left, queued := len(s.accessPending), s.accessFlushQueued
		s.accessMu.Unlock()
		if left == 0 && !queued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queued flush did not take the batch: %d notes left", left)
		}
		time.Sleep(time.Millisecond)
	}
}
