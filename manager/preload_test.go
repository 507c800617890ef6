package manager_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// createNumbered creates secrets preload/00 ... preload/(n-1) with value
// "value-i" each.
func createNumbered(t *testing.T, e *env, n int) {
	t.Helper()
	for i := range n {
		e.create(t, fmt.Sprintf("preload/%02d", i), fmt.Sprintf("value-%d", i))
	}
}

// TestPreloadCache: a fresh Service preloads every secret (in batches
// smaller than their number) and then answers every GetSecretValue from
// its cache, with the stored values, without reading the store; a write
// after the preload is seen by the next read.
func TestPreloadCache(t *testing.T) {
	defer manager.SetPreloadBatchSize(7)()
	e := newEnv(t)
	const n = 30
	createNumbered(t, e, n)

	fresh := newEnvSharing(t, e)
	st, err := fresh.svc.PreloadCache(context.Background())
	if err != nil {
		t.Fatalf("PreloadCache: %v", err)
	}
	if st.Cached != n || st.Scanned != n || st.Full {
		t.Fatalf("PreloadCache = %+v, want %d cached and scanned, not full", st, n)
	}
	if got := fresh.svc.CacheStats(); got.Entries != n || got.Bytes != st.Bytes {
		t.Errorf("CacheStats after preload = %+v, want %d entries of %d bytes", got, n, st.Bytes)
	}
	if got, want := e.reading.scans.Load(), int64(n/7+1); got != want {
		t.Errorf("PreloadCache read %d batches, want %d", got, want)
	}

	reads, before := e.reading.reads.Load(), fresh.svc.CacheStats()
	for i := range n {
		v := fresh.get(t, rotor.GetSecretValueInput{SecretID: fmt.Sprintf("preload/%02d", i)})
		if want := fmt.Sprintf("value-%d", i); v.Value.String == nil || *v.Value.String != want {
			t.Errorf("preload/%02d = %v, want %s", i, v.Value.String, want)
		}
	}
	after := fresh.svc.CacheStats()
	if after.Misses != before.Misses || after.Hits-before.Hits != n || e.reading.reads.Load() != reads {
		t.Errorf("reads after preload: %d hits, %d misses, %d store reads; want %d hits and none of the others",
			after.Hits-before.Hits, after.Misses-before.Misses, e.reading.reads.Load()-reads, n)
	}

	fresh.put(t, "preload/03", tok(1), "changed")
	if got := fresh.current(t, "preload/03"); got != "changed" {
		t.Errorf("read after a write to a preloaded secret = %q, want the new value", got)
	}
}

// TestPreloadCacheStopsWhenFull: with a budget for part of the secrets,
// PreloadCache fills the room left and stops, evicting nothing: a secret
// the Service read before the preload stays cached.
func TestPreloadCacheStopsWhenFull(t *testing.T) {
	defer manager.SetPreloadBatchSize(4)()
	e := newEnv(t)
	const n = 30
	createNumbered(t, e, n)

	// The cost of one secret, as the cache counts it.
	probe := newEnvSharing(t, e)
	if _, err := probe.svc.PreloadCache(context.Background()); err != nil {
		t.Fatal(err)
	}
	perSecret := probe.svc.CacheStats().Bytes / n

	small := newEnvSharing(t, e)
	small.cfg.CacheMaxBytes = perSecret*10 + perSecret/2
	small.svc = manager.New(small.cfg)
	small.get(t, rotor.GetSecretValueInput{SecretID: "preload/29"}) // last in ARN order
	st, err := small.svc.PreloadCache(context.Background())
	if err != nil {
		t.Fatalf("PreloadCache: %v", err)
	}
	got := small.svc.CacheStats()
	if !st.Full || st.Cached != 9 || got.Entries != 10 || got.Bytes > small.cfg.CacheMaxBytes {
		t.Errorf("PreloadCache = %+v, CacheStats %+v; want full after 9 secrets, 10 cached within %d bytes", st, got, small.cfg.CacheMaxBytes)
	}
	hits := got.Hits
	small.get(t, rotor.GetSecretValueInput{SecretID: "preload/29"})
	if small.svc.CacheStats().Hits != hits+1 {
		t.Error("the secret read before the preload was evicted by it")
	}
}

// TestPreloadCacheDisabled: a Service without a cache reads nothing.
func TestPreloadCacheDisabled(t *testing.T) {
	e := newEnv(t, func(c *manager.Config) { c.CacheMaxBytes = -1 })
	createNumbered(t, e, 3)
	st, err := e.svc.PreloadCache(context.Background())
	if err != nil || st != (manager.PreloadStats{}) || e.reading.scans.Load() != 0 {
		t.Errorf("PreloadCache without a cache = %+v, %v after %d scans; want nothing done", st, err, e.reading.scans.Load())
	}
}

// TestPreloadCacheSkipsLargeSecret: a secret too large for the room left,
// early in ARN order, does not end the preload: the smaller ones after it
// are cached.
func TestPreloadCacheSkipsLargeSecret(t *testing.T) {
	defer manager.SetPreloadBatchSize(4)()
	e := newEnv(t)
	e.create(t, "preload/00-large", strings.Repeat("x", 40000))
	const n = 10
	for i := range n {
		e.create(t, fmt.Sprintf("preload/%02d-small", i+1), "v")
	}
	probe := newEnvSharing(t, e)
	if _, err := probe.svc.PreloadCache(context.Background()); err != nil {
		t.Fatal(err)
	}
	small := newEnvSharing(t, e)
	small.cfg.CacheMaxBytes = 20000 // all the small ones, not the large one
	if probe.svc.CacheStats().Bytes-small.cfg.CacheMaxBytes < 20000 {
		t.Fatalf("the secrets take %d bytes cached: the test needs the large one over the budget", probe.svc.CacheStats().Bytes)
	}
	small.svc = manager.New(small.cfg)
	st, err := small.svc.PreloadCache(context.Background())
	if err != nil {
		t.Fatalf("PreloadCache: %v", err)
	}
	if st.Cached != n || st.Full {
		t.Errorf("PreloadCache = %+v, want the %d small secrets cached past the large one", st, n)
	}
}
