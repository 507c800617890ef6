package manager

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// cachedSecret packs secret i of region "r" with one AWSCURRENT version
// whose sealed value has valueLen ciphertext bytes.
func cachedSecret(i, valueLen int) *packed {
	name := fmt.Sprintf("secret-%07d", i)
	arn := rotor.SecretARN("r", "123456789012", name, "AbCdEf")
	v := &rotor.VersionRecord{
		ID:          fmt.Sprintf("%08d-0000-4000-8000-000000000000", i),
		Value:       &rotor.Sealed{KeyID: "k1", WrappedKey: make([]byte, 60), Ciphertext: make([]byte, valueLen)},
		Stages:      []string{rotor.StageCurrent},
		CreatedDate: time.Unix(1700000000, 0),
	}
	return newPacked(&rotor.SecretRecord{ARN: arn, Region: "r", Name: name, CreatedDate: v.CreatedDate}, []*rotor.VersionRecord{v})
}

// fill installs e as a reader that missed would.
func fill(c *cache, e *packed) {
	g := c.begin()
	c.install(g, e)
	c.end()
}

// checkInvariants verifies the cache's indexes agree and its byte count is
// the sum of its entries' costs, within the budget.
func checkInvariants(t *testing.T, c *cache) {
	t.Helper()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var sum int64
	n := 0
	for i := range c.ring {
		e := &c.ring[i].e
		if e.data == "" {
			continue
		}
		n++
		sum += int64(e.size)
		if c.withARN(e.arn()) != int32(i) || c.withName(e.region(), e.name()) != int32(i) {
			t.Fatalf("ring slot %d: entry %s not indexed consistently", i, e.name())
		}
	}
	if n != len(c.byARN) || n != len(c.byName) || n+len(c.free) != len(c.ring) {
		t.Fatalf("ring holds %d entries (%d holes of %d), byARN %d, byName %d", n, len(c.free), len(c.ring), len(c.byARN), len(c.byName))
	}
	if sum != c.bytes || c.bytes > c.maxBytes {
		t.Fatalf("bytes = %d, sum of entries %d, budget %d", c.bytes, sum, c.maxBytes)
	}
}

func TestCacheByteBound(t *testing.T) {
	const budget = 64 << 10
	c := newCache(budget)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		fill(c, cachedSecret(i, rng.IntN(4096)))
		if c.usage() > budget {
			t.Fatalf("after %d installs usage = %d > %d", i+1, c.usage(), budget)
		}
	}
	checkInvariants(t, c)
	if c.usage() < budget/2 {
		t.Fatalf("usage = %d, far below the budget %d: evicting too much", c.usage(), budget)
	}
	// Bigger values, fewer entries: the bound is on bytes, not on count.
	small, big := newCache(budget), newCache(budget)
	for i := range 500 {
		fill(small, cachedSecret(i, 16))
		fill(big, cachedSecret(i, 8192))
	}
	if small.size() <= 2*big.size() {
		t.Fatalf("small values: %d entries, 8 KiB values: %d; want many more small ones", small.size(), big.size())
	}
	// An entry larger than the budget is not cached and evicts nothing.
	before := big.size()
	fill(big, cachedSecret(9999, 2*budget))
	if big.get("r", "secret-0009999") != nil || big.size() != before {
		t.Fatal("entry over the budget cached or evicted others")
	}
	// A negative (disabled) budget caches nothing.
	off := newCache(0)
	fill(off, cachedSecret(1, 10))
	if off.size() != 0 {
		t.Fatal("zero budget cached an entry")
	}
}

// TestCacheKeepsHotSet reads a small hot set between installs of many
// secrets read once: CLOCK must keep every hot secret, where evicting an
// arbitrary entry would lose some.
func TestCacheKeepsHotSet(t *testing.T) {
	const hot, capacity = 50, 200
	c := newCache(capacity * int64(cachedSecret(0, 100).size))
	for i := range hot {
		fill(c, cachedSecret(i, 100))
	}
	for i := hot; i < 20000; i++ {
		for h := range hot {
			if e := c.get("r", fmt.Sprintf("secret-%07d", h)); e == nil {
				fill(c, cachedSecret(h, 100))
				if i > hot+capacity { // past warm-up
					t.Fatalf("hot secret %d evicted after %d cold installs", h, i-hot)
				}
			}
		}
		fill(c, cachedSecret(i, 100))
	}
	checkInvariants(t, c)
}

// TestCacheZipfHitRatio replays a Zipf-skewed load over 20,000 secrets
// with room for 10% of them. The load is deterministic (fixed seed): CLOCK
// reaches 0.714 here, evicting in insertion order (FIFO, ref bits ignored)
// 0.665, so the bound 0.70 fails if the second chance stops working.
func TestCacheZipfHitRatio(t *testing.T) {
	const secrets, reads = 20000, 200000
	c := newCache(secrets / 10 * int64(cachedSecret(0, 100).size))
	rng := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(rng, 1.01, 1, secrets-1)
	hits := 0
	for range reads {
		i := int(z.Uint64())
		if c.get("r", fmt.Sprintf("secret-%07d", i)) != nil {
			hits++
		} else {
			fill(c, cachedSecret(i, 100))
		}
	}
	ratio := float64(hits) / reads
	t.Logf("hit ratio %.3f with %d of %d secrets cached", ratio, c.size(), secrets)
	if ratio < 0.70 {
		t.Fatalf("hit ratio %.3f under Zipf, want ≥ 0.70", ratio)
	}
	checkInvariants(t, c)
}

// TestCacheConcurrent runs readers, fills and invalidations at once (run
// with -race) and checks the cache's invariants afterwards.
func TestCacheConcurrent(t *testing.T) {
	c := newCache(100 * int64(cachedSecret(0, 100).size))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 5))
			for range 5000 {
				i := rng.IntN(400)
				switch rng.IntN(10) {
				case 0:
					e := cachedSecret(i, 100)
					c.invalidate(e.arn(), e.region(), e.name())
				case 1, 2:
					fill(c, cachedSecret(i, rng.IntN(300)))
				default:
					if e := c.get("r", fmt.Sprintf("secret-%07d", i)); e != nil && e.name() != fmt.Sprintf("secret-%07d", i) {
						t.Errorf("get %d returned %s", i, e.name())
					}
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, c)
	c.clear()
	checkInvariants(t, c)
	if c.size() != 0 || c.usage() != 0 {
		t.Fatal("clear left entries")
	}
}

// TestCacheCostEstimate checks packed.cost against the heap the entries
// really take (runtime.MemStats), so the byte budget means what it says:
// the estimate must be within [0.7, 1.5] of the measured memory.
func TestCacheCostEstimate(t *testing.T) {
	for _, valueLen := range []int{32, 1024} {
		const n = 20000
		c := newCache(1 << 40)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			fill(c, cachedSecret(i, valueLen))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		measured := float64(after.HeapAlloc-before.HeapAlloc) / n
		estimated := float64(c.usage()) / n
		t.Logf("value %d B: estimated %.0f B per entry, measured %.0f B", valueLen, estimated, measured)
		if r := estimated / measured; r < 0.7 || r > 1.5 {
			t.Errorf("value %d B: estimate %.0f B per entry vs %.0f B measured (ratio %.2f)", valueLen, estimated, measured, r)
		}
		runtime.KeepAlive(c)
	}
}

// TestCachePreload: preload adds into free room only (evicting nothing and
// keeping a secret already cached), reports a full cache, and refuses a
// secret invalidated after its fill began, as install does.
func TestCachePreload(t *testing.T) {
	one := cachedSecret(0, 32)
	c := newCache(int64(one.size) * 4)

	cached := cachedSecret(1, 32)
	fill(c, cached)
	gen := c.begin()
	c.invalidate(cachedSecret(2, 32).arn(), "r", "secret-0000002")
	if added, full := c.preload(gen, cachedSecret(2, 32)); added || full {
		t.Errorf("preload of a secret invalidated after the fill began: added %v, full %v; want neither", added, full)
	}
	if added, full := c.preload(gen, cachedSecret(1, 32)); added || full {
		t.Errorf("preload of a cached secret: added %v, full %v; want neither", added, full)
	}
	if got := c.get("r", "secret-0000001"); got == nil || got.data != cached.data {
		t.Error("preload replaced a cached secret")
	}
	for i := 3; i <= 5; i++ {
		if added, full := c.preload(gen, cachedSecret(i, 32)); !added || full {
			t.Errorf("preload of secret %d into room: added %v, full %v; want added", i, added, full)
		}
	}
	if added, full := c.preload(gen, cachedSecret(6, 32)); added || !full {
		t.Errorf("preload into a full cache: added %v, full %v; want full", added, full)
	}
	c.end()
	checkInvariants(t, c)
	for _, i := range []int{1, 3, 4, 5} {
		if c.get("r", fmt.Sprintf("secret-%07d", i)) == nil {
			t.Errorf("secret %d not cached after preload", i)
		}
	}
}

// TestCacheHashCollisions: with index hashes that give every key the same
// value, the cache still answers only the secret asked for (a collision
// is a miss, never another secret), keeps one entry, and stays consistent
// through installs, invalidations and preloads.
func TestCacheHashCollisions(t *testing.T) {
	c := newCache(1 << 20)
	c.arnHash = func(string) uint64 { return 7 }
	c.nameHash = func(string, string) uint64 { return 7 }
	a, b := cachedSecret(1, 32), cachedSecret(2, 32)
	fill(c, a)
	if c.get("r", "secret-0000002") != nil || c.get("r", b.arn()) != nil {
		t.Fatal("a lookup of secret 2 returned secret 1, which has the same hash")
	}
	fill(c, b)
	checkInvariants(t, c)
	if c.size() != 1 || !same(c.get("r", "secret-0000002"), b) || !same(c.get("r", b.arn()), b) || c.get("r", "secret-0000001") != nil {
		t.Fatalf("after installing a colliding secret: %d cached; want only the newer one", c.size())
	}
	gen := c.begin()
	if added, full := c.preload(gen, cachedSecret(3, 32)); added || full {
		t.Errorf("preload over a colliding entry: added %v, full %v; want it left as it is", added, full)
	}
	c.end()
	c.invalidate(a.arn(), "r", "secret-0000001") // not cached: must not drop b
	if !same(c.get("r", "secret-0000002"), b) {
		t.Error("invalidating a secret with the same hash dropped another one")
	}
	c.invalidate(b.arn(), "r", "secret-0000002")
	checkInvariants(t, c)
	if c.size() != 0 {
		t.Errorf("%d cached after invalidating the only entry", c.size())
	}
}

// same reports whether got is a copy of want (the cache hands out copies).
func same(got, want *packed) bool { return got != nil && got.data == want.data }

// growingLen is a value length for cachedSecret at which the entry's cost
// grows when its zero access dates become a day (its size class changes).
func growingLen(t *testing.T, day time.Time) int {
	t.Helper()
	for n := range 1024 {
		e := cachedSecret(0, n)
		if p, _ := e.withAccessed(day, accessedPatch(0, day).versions); p.size > e.size {
			return n
		}
	}
	t.Fatal("no value length makes the cost grow")
	return 0
}

// accessedPatch is the patch a flush of day makes to secret i of
// cachedSecret (its one version read).
func accessedPatch(i int, day time.Time) *accessPatch {
	e := cachedSecret(i, 0)
	v, _ := e.find("", rotor.StageCurrent)
	return &accessPatch{arn: e.arn(), region: e.region(), name: e.name(), day: day,
		versions: []versionDay{{id: v.id, day: day}}}
}

// accessedOn reports whether the cached entry e shows day as the
// LastAccessedDate of the secret and of its AWSCURRENT version.
func accessedOn(e *packed, day time.Time) bool {
	if e == nil {
		return false
	}
	v, _ := e.find("", rotor.StageCurrent)
	return e.record().LastAccessedDate.Equal(day) && v.accessed.Equal(day)
}

// TestCachePatchAccessed: a flush of access dates patches the cached
// secrets it wrote in place, and otherwise behaves as an invalidation:
// fills in flight are refused, and a secret invalidated since the flush
// began (its cached state may be newer than the flush), one with a version
// the flush skipped, or one whose entry lacks a version, is dropped.
func TestCachePatchAccessed(t *testing.T) {
	day := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	name := func(i int) string { return fmt.Sprintf("secret-%07d", i) }

	t.Run("Patched", func(t *testing.T) {
		c := newCache(1 << 20)
		grow := growingLen(t, day)
		fill(c, cachedSecret(1, grow))
		fill(c, cachedSecret(2, grow))
		before := c.usage()
		gen := c.begin()
		if n := c.patchAccessed(gen, []*accessPatch{accessedPatch(1, day)}); n != 1 {
			t.Fatalf("patched %d entries, want 1", n)
		}
		c.end()
		checkInvariants(t, c)
		if e := c.get("r", name(1)); !accessedOn(e, day) {
			t.Fatal("patched secret not cached with the flushed day")
		}
		if e := c.get("r", name(2)); e == nil || !accessedOn(e, time.Time{}) {
			t.Fatal("a secret the flush did not write changed or went")
		}
		// The zero date took one byte, the day takes more: the entry grew,
		// and the byte count with it (checkInvariants: exactly).
		if c.usage() <= before {
			t.Errorf("usage %d after patching, %d before: the larger entry is not counted", c.usage(), before)
		}
	})
	t.Run("FillInFlightRefused", func(t *testing.T) {
		c := newCache(1 << 20)
		fill(c, cachedSecret(1, 32))
		old := c.begin() // a reader that missed loads the dates before the flush
		gen := c.begin()
		c.patchAccessed(gen, []*accessPatch{accessedPatch(1, day), accessedPatch(2, day)})
		c.end()
		c.install(old, cachedSecret(1, 32))
		c.install(old, cachedSecret(2, 32))
		c.end()
		if e := c.get("r", name(1)); !accessedOn(e, day) {
			t.Fatal("a fill begun before the flush replaced the patched entry")
		}
		if c.get("r", name(2)) != nil {
			t.Fatal("a fill begun before the flush installed the old dates of a secret it wrote")
		}
	})
	t.Run("InvalidatedSinceBeginDropped", func(t *testing.T) {
		for _, by := range []string{"arn", "name"} {
			c := newCache(1 << 20)
			fill(c, cachedSecret(1, 32))
			gen := c.begin()
			// A write after the flush's transaction began, and a fill of
			// its (perhaps newer) state: the flush must not set its dates.
			e := cachedSecret(1, 32)
			if by == "arn" {
				c.invalidate(e.arn(), "r", "elsewhere")
			} else {
				c.invalidate("arn:other", "r", name(1))
			}
			fill(c, cachedSecret(1, 64))
			c.patchAccessed(gen, []*accessPatch{accessedPatch(1, day)})
			c.end()
			checkInvariants(t, c)
			if c.get("r", name(1)) != nil {
				t.Fatalf("by %s: a secret invalidated since the flush began was patched, not dropped", by)
			}
		}
	})
	t.Run("ForgottenInvalidationsDrop", func(t *testing.T) {
		c := newCache(1 << 20)
		fill(c, cachedSecret(1, 32))
		gen := c.begin()
		for range cacheMaxPending + 1 { // the floor passes gen
			c.invalidate("arn:b", "r", "b")
		}
		c.patchAccessed(gen, []*accessPatch{accessedPatch(1, day)})
		c.end()
		if c.get("r", name(1)) != nil {
			t.Fatal("patched although invalidations since the flush began were forgotten")
		}
	})
	t.Run("SkippedVersionDrops", func(t *testing.T) {
		c := newCache(1 << 20)
		fill(c, cachedSecret(1, 32))
		fill(c, cachedSecret(2, 32))
		gen := c.begin()
		dropped := accessedPatch(1, day)
		dropped.drop = true // a note of it was ENOTFOUND
		unknown := accessedPatch(2, day)
		unknown.versions = append(unknown.versions, versionDay{id: "gone", day: day}) // not in the entry
		if n := c.patchAccessed(gen, []*accessPatch{dropped, unknown}); n != 0 {
			t.Fatalf("patched %d entries, want 0", n)
		}
		c.end()
		checkInvariants(t, c)
		if c.size() != 0 {
			t.Fatal("a secret with a version the flush skipped, or the entry lacks, stayed cached")
		}
	})
	t.Run("NotCachedStaysOut", func(t *testing.T) {
		c := newCache(1 << 20)
		gen := c.begin()
		c.patchAccessed(gen, []*accessPatch{accessedPatch(1, day)})
		c.end()
		if c.size() != 0 {
			t.Fatal("the patch cached a secret that was not cached")
		}
	})
	t.Run("Budget", func(t *testing.T) {
		// Full of entries with zero dates; patching every one makes each
		// larger, so some must go to keep the budget.
		n, grow := 50, growingLen(t, day)
		c := newCache(int64(n) * int64(cachedSecret(0, grow).size))
		var ps []*accessPatch
		for i := range n {
			fill(c, cachedSecret(i, grow))
			ps = append(ps, accessedPatch(i, day))
		}
		if c.size() != n {
			t.Fatalf("%d cached, want %d", c.size(), n)
		}
		gen := c.begin()
		c.patchAccessed(gen, ps)
		c.end()
		checkInvariants(t, c)
		if c.size() == n || c.size() == 0 {
			t.Fatalf("%d of %d cached after the entries grew: want fewer, but not none", c.size(), n)
		}
		for i := range n {
			if e := c.get("r", name(i)); e != nil && !accessedOn(e, day) {
				t.Fatalf("secret %d cached without its new dates", i)
			}
		}
	})
}

// BenchmarkCachePatchAccessed patches accessFlushMax cached secrets (one
// flush's worth) with a new day: the time the cache's lock is held.
func BenchmarkCachePatchAccessed(b *testing.B) {
	c := newCache(1 << 30)
	for i := range accessFlushMax {
		fill(c, cachedSecret(i, 100))
	}
	day := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	ps := make([]*accessPatch, accessFlushMax)
	var held time.Duration
	for n := range b.N {
		d := day.AddDate(0, 0, n)
		for i := range ps {
			ps[i] = accessedPatch(i, d)
		}
		gen := c.begin()
		start := time.Now()
		if c.patchAccessed(gen, ps) != len(ps) {
			b.Fatal("not every secret patched")
		}
		held += time.Since(start)
		c.end()
	}
	b.ReportMetric(float64(held.Nanoseconds())/float64(b.N*accessFlushMax), "ns/secret")
}
