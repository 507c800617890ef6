package manager_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
)

// history is what one writer has done to one secret: the AWSCURRENT
// (version id, value) after each step, and how many steps have returned.
type history struct {
	mu       sync.Mutex
	current  []rotor.SecretValue // VersionID and Value only
	returned int                 // steps [0, returned) have returned to the writer
}

// expectations returns the states a read that starts now may observe: the
// one after the last returned step, or any later one.
func (h *history) since() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.returned
}

func (h *history) allowed(from int) []rotor.SecretValue {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.current[max(from-1, 0):])
}

// TestCacheConsistency runs writers (PutSecretValue, and
// UpdateSecretVersionStage moving AWSCURRENT back) against readers
// (GetSecretValue, DescribeSecret). Every read must return a state that was
// AWSCURRENT at some point, never one older than a write that returned
// before the read began; and a writer reading right after its write must see
// it.
func TestCacheConsistency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const secrets, steps, readers = 3, 24, 4
	hist := make([]*history, secrets)
	for i := range hist {
		name := fmt.Sprintf("c%d", i)
		r := e.create(t, name, name+"-0")
		hist[i] = &history{current: []rotor.SecretValue{{VersionID: r.VersionID, Value: sv(name + "-0")}}, returned: 1}
	}

	done := make(chan struct{})
	var writers, readersWG sync.WaitGroup
	errs := make(chan error, secrets+readers)
	for i := range secrets {
		writers.Add(1)
		go func() {
			defer writers.Done()
			h, name := hist[i], fmt.Sprintf("c%d", i)
			for k := 1; k <= steps; k++ {
				h.mu.Lock()
				prev := h.current[len(h.current)-1]
				var next rotor.SecretValue
				if k%3 == 0 { // move AWSCURRENT back to the version before
					next = h.current[len(h.current)-2]
				} else {
					next = rotor.SecretValue{VersionID: tok(1000*i + k), Value: sv(fmt.Sprintf("%s-%d", name, k))}
				}
				h.current = append(h.current, next)
				h.mu.Unlock()

				var err error
				if k%3 == 0 {
					_, err = e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: name,
						VersionStage: "AWSCURRENT", MoveToVersionID: next.VersionID, RemoveFromVersionID: prev.VersionID})
				} else {
					_, err = e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: name, ClientRequestToken: next.VersionID, Value: next.Value})
				}
				if err != nil {
					errs <- fmt.Errorf("%s step %d: %w", name, k, err)
					return
				}
				h.mu.Lock()
				h.returned = len(h.current)
				h.mu.Unlock()

				got, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: name})
				if err != nil || got.VersionID != next.VersionID || *got.Value.String != *next.Value.String {
					errs <- fmt.Errorf("%s step %d: read after write = %+v, %v; want %s", name, k, got, err, *next.Value.String)
					return
				}
			}
		}()
	}
	for r := range readers {
		readersWG.Add(1)
		go func() {
			defer readersWG.Done()
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				i := (n + r) % secrets
				h, name := hist[i], fmt.Sprintf("c%d", i)
				from := h.since()
				if n%2 == 0 {
					got, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: name})
					if err != nil {
						errs <- fmt.Errorf("reader: %v", err)
						return
					}
					if !slices.ContainsFunc(h.allowed(from), func(s rotor.SecretValue) bool {
						return s.VersionID == got.VersionID && *s.Value.String == *got.Value.String
					}) {
						errs <- fmt.Errorf("reader: %s read %s=%q, not current since step %d", name, got.VersionID, *got.Value.String, from)
						return
					}
				} else {
					d, err := e.svc.DescribeSecret(e.ctx, name)
					if err != nil {
						errs <- fmt.Errorf("reader: %v", err)
						return
					}
					var cur string
					for id, st := range d.VersionStages {
						if slices.Contains(st, "AWSCURRENT") {
							cur = id
						}
					}
					if !slices.ContainsFunc(h.allowed(from), func(s rotor.SecretValue) bool { return s.VersionID == cur }) {
						errs <- fmt.Errorf("reader: %s described AWSCURRENT on %s, not current since step %d", name, cur, from)
						return
					}
				}
			}
		}()
	}
	writers.Wait()
	close(done)
	readersWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCacheStatsMetrics: CacheStats counts a read that loads the secret as a
// miss and the reads after it as hits, and reports what the cache holds.
func TestCacheStatsMetrics(t *testing.T) {
	e := newEnv(t)
	e.create(t, "stats", "v0")
	e.svc.InvalidateCache()
	before := e.svc.CacheStats()
	if before.Entries != 0 || before.Bytes != 0 {
		t.Fatalf("after InvalidateCache: %+v", before)
	}
	for range 3 {
		e.get(t, rotor.GetSecretValueInput{SecretID: "stats"})
	}
	after := e.svc.CacheStats()
	if hits, misses := after.Hits-before.Hits, after.Misses-before.Misses; hits != 2 || misses != 1 {
		t.Errorf("three reads of one secret: %d hits, %d misses; want 2 and 1", hits, misses)
	}
	if after.Entries != 1 || after.Bytes <= 0 {
		t.Errorf("cache holds %d entries of %d bytes; want 1 entry, > 0 bytes", after.Entries, after.Bytes)
	}
}
