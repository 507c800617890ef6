package manager_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

// BenchmarkGetSecretValue reads a warm secret: served from the cache,
// decrypted on every call. "shared" gives the cache the maximum age a
// server on a shared store uses, so the two show what the age check costs
// on the hot path.
func BenchmarkGetSecretValue(b *testing.B) {
	for _, bc := range []struct {
		name   string
		maxAge time.Duration
	}{{"local", 0}, {"shared", 5 * time.Second}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, func(c *manager.Config) { c.CacheMaxAge = bc.maxAge })
			e.create(b, "bench", "value")
			in := rotor.GetSecretValueInput{SecretID: "bench"}
			e.current(b, "bench")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.svc.GetSecretValue(e.ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if st := e.svc.CacheStats(); st.Misses > 2 {
				b.Fatalf("%d cache misses: the benchmark is not reading from the cache", st.Misses)
			}
		})
	}
}

// BenchmarkPutSecretValue writes new versions (one durable transaction each).
func BenchmarkPutSecretValue(b *testing.B) {
	e := newEnv(b, withPruneMinAge(1))
	e.create(b, "bench", "value")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.clock.Advance(1)
		e.put(b, "bench", tok(i+1), "value")
	}
}

// allowAll allows everything without recording.
type allowAll struct{}

func (allowAll) Authorize(context.Context, rotor.Caller, rotor.AccessRequest) error { return nil }

// BenchmarkWrites is bench/writes without HTTP: concurrent callers each
// create a secret and put a second value to it (two durable writes per
// iteration), so the writes share group commits as the server's do.
func BenchmarkWrites(b *testing.B) {
	e := newEnv(b, func(c *manager.Config) { c.Now = nil; c.Authorizer = allowAll{} })
	var n atomic.Int64
	b.SetParallelism(4)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			if err := writePair(e, fmt.Sprintf("bench/s%d", i), i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(2*n.Load())/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(max(1, 2*n.Load())), "cpu-µs/write")
	if st, ok := e.store.Store.(*sqlite.Store); ok {
		s := st.Stats()
		b.ReportMetric(float64(s.Updates)/float64(max(1, s.Commits)), "writes/commit")
	}
}

// writePair is the write load of bench/writes: CreateSecret of name with
// a 64-byte value, then PutSecretValue of another (tokens from i, which
// must differ between calls).
func writePair(e *env, name string, i int) error {
	if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: name, ClientRequestToken: tok(2 * i), Value: sv(strings.Repeat("a", 64))}); err != nil {
		return err
	}
	_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: name, ClientRequestToken: tok(2*i + 1), Value: sv(strings.Repeat("b", 64))})
	return err
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNewDay replays the start of a UTC day over a cached hot set:
// the first read of each secret notes the day, the notes are written
// (FlushAccessDates), and every secret is read again. misses/day counts
// the second reads that missed the cache (a flush that evicted what it
// wrote makes them all miss); flush-ns the flush's time.
func BenchmarkNewDay(b *testing.B) {
	const secrets = 2000
	e := newEnv(b, withAccessFlushInterval(time.Hour))
	ids := make([]string, secrets)
	for i := range ids {
		ids[i] = fmt.Sprintf("day-%05d", i)
		e.create(b, ids[i], "value")
	}
	read := func() {
		for _, id := range ids {
			if _, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id}); err != nil {
				b.Fatal(err)
			}
		}
	}
	read()
	e.flush(b)
	var misses uint64
	var flush time.Duration
	for b.Loop() {
		e.clock.Advance(24 * time.Hour)
		read()
		start := time.Now()
		e.flush(b)
		flush += time.Since(start)
		before := e.svc.CacheStats().Misses
		read()
		misses += e.svc.CacheStats().Misses - before
	}
	b.ReportMetric(float64(misses)/float64(b.N), "misses/day")
	b.ReportMetric(float64(flush.Nanoseconds())/float64(b.N), "flush-ns/day")
	b.ReportMetric(0, "ns/op")
}
