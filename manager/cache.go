package manager

import (
	"hash/maphash"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/internal/sysmem"
	"github.com/rotorhq/rotor/policy"
)

// The default cache budget (Config.CacheMaxBytes 0) is a quarter of the
// memory available to the process (sysmem.Available: the machine's, or
// its control group's limit when lower), kept within 16 MiB to 1 GiB: a
// 1 GB machine gets 256 MiB (about 360,000 secrets of small values, about
// 740 bytes each, see packed.cost), one of 4 GB or more 1 GiB (about
// 1,450,000); 256 MiB when the memory cannot be read. A quarter, as the
// JVM's default heap, leaves the rest to the kernel's page cache of the
// database, which the reads that miss this cache go to, and to rotation
// functions; the cap keeps a big machine's server from a heap far larger
// than a store of a million secrets needs.
const (
	cacheMemoryShare   = 4
	minDefaultCache    = 16 << 20
	maxDefaultCache    = 1 << 30
	fallbackCacheBytes = 256 << 20
)

// defaultCacheBytes is the default cache budget when the memory available
// is l (ok false: unknown).
func defaultCacheBytes(l sysmem.Limit, ok bool) int64 {
	if !ok {
		return fallbackCacheBytes
	}
	n := l.Bytes / cacheMemoryShare &^ (1<<20 - 1) // whole MiB
	return min(max(n, minDefaultCache), maxDefaultCache)
}

// DefaultCacheMaxBytes returns the default cache budget on this machine
// (see defaultCacheBytes), read once per process.
func DefaultCacheMaxBytes() int64 { return defaultCacheMaxBytes() }

var defaultCacheMaxBytes = sync.OnceValue(func() int64 { return defaultCacheBytes(sysmem.Available()) })

// Cache bounds.
const (
	// cacheMaxPending bounds the invalidations remembered for fills in
	// flight; a fill older than the oldest one remembered is discarded.
	cacheMaxPending = 4096
)

// entry is one secret as loaded from the store in one snapshot, decoded:
// its record and every version, values still sealed, and its labels. The
// operations that need every version (DescribeSecret, ListSecretVersionIds,
// ListSecrets) work on it; the cache holds packed secrets and decodes them
// into a fresh entry per call (packed.entry), so an entry is the caller's.
type entry struct {
	rec      *rotor.SecretRecord
	versions []*rotor.VersionRecord // oldest first
	labels   labels
}

func newEntry(rec *rotor.SecretRecord, vs []*rotor.VersionRecord) *entry {
	return &entry{rec: rec, versions: vs, labels: labelsOf(vs)}
}

// compilePolicy compiles rec's resource policy: nil when it has none,
// EINTERNAL when the stored document does not parse (it did when it was
// stored; a later grammar may be stricter).
func compilePolicy(rec *rotor.SecretRecord) (*policy.Policy, error) {
	if rec.ResourcePolicy == "" {
		return nil, nil
	}
	p, err := policy.Parse(rec.ResourcePolicy, policy.Resource)
	if err != nil {
		return nil, internal("compile stored resource policy of "+rec.ARN, err)
	}
	return p, nil
}

// resourcePolicy returns p's compiled resource policy (see compilePolicy).
func (p *packed) resourcePolicy() (*policy.Policy, error) {
	if p.policy == nil {
		return nil, nil
	}
	return p.policy.p, p.policy.err
}

// isARN reports whether id is an ARN (rotor.ParseARN accepts it).
func isARN(id string) bool {
	if !strings.HasPrefix(id, "arn:") {
		return false
	}
	_, ok := rotor.ParseARN(id)
	return ok
}

// secretKey identifies a secret by region and name. A struct key, unlike a
// joined string, costs no allocation per lookup.
type secretKey struct{ region, name string }

func nameKey(region, name string) secretKey { return secretKey{region, name} }

// invalidation records that a secret changed at generation gen.
type invalidation struct {
	gen     uint64
	arn     string
	nameKey secretKey
}

// cache holds packed secrets by ARN and by (region, name), within a budget
// of bytes (the sum of packed.cost).
//
// Consistency: writers call invalidate after their transaction committed.
// A reader that misses calls begin, loads a snapshot from the store and calls
// install(gen, packed), which refuses the secret if it was
// invalidated after begin: the snapshot may predate the write. So an entry
// in the cache is never older than the last write that invalidated it, and a
// read that begins after a write returned sees that write or a newer state.
//
// Eviction is CLOCK (second chance): a hit sets the entry's ref bit (one
// atomic load, and a store only when the bit was clear, under the read
// lock); to make room, the hand sweeps the ring of entries, clearing set
// bits and evicting the first entry whose bit is clear. Entries read again
// since the hand last passed survive, so a skewed load keeps its hot set,
// while a uniform load over more secrets than fit costs O(1) amortized per
// eviction.
//
// Memory: the ring holds each cached secret's packed struct by value,
// and the indexes map a 64-bit hash of the ARN, and of the region and
// name, to its slot; the indexes hold no pointers and the ring one per
// secret (to its packed bytes, which hold none), so the garbage collector
// scans neither an object per secret nor the indexes, and sweeps no object
// per secret but its bytes. A lookup compares the entry's own ARN or name
// with the one asked for, so two keys with the same hash cost a miss,
// never a wrong answer; install keeps one entry per hash.
type cache struct {
	mu       sync.RWMutex
	maxBytes int64
	// maxAge, in nanoseconds, bounds how long an entry is served after the
	// snapshot it holds was begun; 0 = no bound. A store shared with other
	// servers sets it: their writes invalidate this cache only through a
	// change feed, which can lose notifications.
	maxAge int64
	bytes  int64 // sum of cost of the entries in ring
	// arnHash and nameHash are the index keys of an ARN and of a region
	// and name (seeded maphash; a test may replace them).
	arnHash  func(arn string) uint64
	nameHash func(region, name string) uint64
	byARN    map[uint64]int32 // arnHash -> slot in ring
	byName   map[uint64]int32 // nameHash -> slot in ring
	ring     []cacheSlot      // every cached secret, and holes
	free     []int32          // the holes in ring
	hand     int
	gen      uint64
	floor    uint64 // fills begun before this generation are refused
	inflight int    // fills between begin and end
	recent   []invalidation

	hits, misses atomic.Uint64 // lookups by get, for CacheStats
}

// cacheSlot is one place in the ring: a cached secret, or a hole (e.data
// empty: a packed secret is never empty).
type cacheSlot struct {
	e   packed
	ref atomic.Bool // read since the clock hand last passed
}

// newCache returns a cache holding at most maxBytes (by packed.cost); a
// secret larger than that is never cached.
func newCache(maxBytes int64) *cache {
	seed := maphash.MakeSeed()
	return &cache{
		maxBytes: maxBytes,
		arnHash:  func(arn string) uint64 { return maphash.String(seed, arn) },
		nameHash: func(region, name string) uint64 { return maphash.Comparable(seed, nameKey(region, name)) },
		byARN:    map[uint64]int32{},
		byName:   map[uint64]int32{},
	}
}

// withARN and withName return the slot of the cached secret with exactly
// this ARN, or this name in region; -1 if there is none. c.mu must be held.
func (c *cache) withARN(arn string) int32 {
	if slot, ok := c.byARN[c.arnHash(arn)]; ok && c.ring[slot].e.arn() == arn {
		return slot
	}
	return -1
}

func (c *cache) withName(region, name string) int32 {
	if slot, ok := c.byName[c.nameHash(region, name)]; ok {
		if e := &c.ring[slot].e; e.name() == name && e.region() == region {
			return slot
		}
	}
	return -1
}

// get returns a copy of the cached secret id in region, or nil. Only exact
// ARNs and names are looked up; anything else (partial ARNs) is a miss.
func (c *cache) get(region, id string) *packed {
	c.mu.RLock()
	defer c.mu.RUnlock()
	slot := int32(-1)
	// ParseARN accepts nothing that lacks the "arn:" prefix; checking it
	// first spares names (the common case) the parse and its allocation.
	if isARN(id) {
		if slot = c.withARN(id); slot >= 0 && c.ring[slot].e.region() != region {
			slot = -1
		}
	} else {
		slot = c.withName(region, id)
	}
	if slot < 0 || (c.maxAge > 0 && monoNow() >= c.ring[slot].e.expires) {
		// An expired entry stays until install replaces it or the clock
		// hand evicts it.
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	s := &c.ring[slot]
	if !s.ref.Load() {
		s.ref.Store(true)
	}
	e := s.e
	return &e
}

// monoBase anchors monoNow.
var monoBase = time.Now()

// monoNow is the monotonic clock in nanoseconds since monoBase: one read
// of the clock, immune to wall-clock steps.
func monoNow() int64 { return int64(time.Since(monoBase)) }

// expiry returns when an entry whose snapshot is begun now must expire
// (compared with monoNow by get); 0 when the cache has no maximum age.
func (c *cache) expiry() int64 {
	if c.maxAge > 0 {
		return monoNow() + c.maxAge
	}
	return 0
}

// begin starts a fill and returns its generation; end must follow.
func (c *cache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight++
	return c.gen
}

// end finishes a fill started by begin.
func (c *cache) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	if c.inflight == 0 {
		// No fill can be affected by what we remember: forget it.
		c.recent, c.floor = nil, c.gen
	}
}

// install adds a copy of e (built by newPacked), loaded by a fill that
// began at generation gen, unless the secret was invalidated since. It
// evicts entries as needed to stay within maxBytes.
func (c *cache) install(gen uint64, e *packed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.current(gen, e) {
		return
	}
	// Whatever holds e's hashes goes: the same secret, one that had its
	// name (purged and re-created), or a collision.
	c.removeSlot(c.byARN, c.arnHash(e.arn()))
	c.removeSlot(c.byName, c.nameHash(e.region(), e.name()))
	for c.bytes+int64(e.size) > c.maxBytes {
		c.evict()
	}
	c.insert(e)
}

// preload adds a copy of e as install does, but only into room the cache
// has left: it evicts nothing and leaves a secret that is already cached
// (by ARN or name) as it is. It reports whether it added e, and whether
// the cache had no room left for it.
func (c *cache) preload(gen uint64, e *packed) (added, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+int64(e.size) > c.maxBytes {
		return false, true
	}
	if !c.current(gen, e) {
		return false, false
	}
	if _, ok := c.byARN[c.arnHash(e.arn())]; ok {
		return false, false
	}
	if _, ok := c.byName[c.nameHash(e.region(), e.name())]; ok {
		return false, false
	}
	c.insert(e)
	return true, false
}

// current reports whether e, loaded by a fill that began at generation
// gen, may be cached: no invalidation of its secret since gen, and it fits
// in the cache at all. c.mu must be held.
func (c *cache) current(gen uint64, e *packed) bool {
	if gen < c.floor || int64(e.size) > c.maxBytes || e.data == "" {
		return false
	}
	arn := e.arn()
	nk := nameKey(e.region(), e.name())
	for _, iv := range c.recent {
		if iv.gen > gen && (iv.arn == arn || iv.nameKey == nk) {
			return false
		}
	}
	return true
}

// insert adds a copy of e, which fits in the room left and whose ARN and
// name hashes index nothing. c.mu must be held.
func (c *cache) insert(e *packed) {
	// The entry takes the slot of the last one removed (for an eviction,
	// the one just behind the hand), so the hand reaches it last.
	var slot int32
	if n := len(c.free); n > 0 {
		slot = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		slot = int32(len(c.ring))
		c.ring = append(c.ring, cacheSlot{})
	}
	s := &c.ring[slot]
	s.e = *e
	s.ref.Store(false)
	c.bytes += int64(e.size)
	c.byARN[c.arnHash(e.arn())] = slot
	c.byName[c.nameHash(e.region(), e.name())] = slot
}

// evict removes one entry chosen by the clock hand. The cache must not be
// empty.
func (c *cache) evict() {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		slot := c.hand
		s := &c.ring[slot]
		c.hand++
		switch {
		case s.e.data == "":
		case s.ref.Load():
			s.ref.Store(false)
		default:
			c.remove(int32(slot))
			return
		}
	}
}

// remove drops the entry in slot (-1: nothing) from the cache.
func (c *cache) remove(slot int32) {
	if slot < 0 {
		return
	}
	s := &c.ring[slot]
	e := &s.e
	if h := c.arnHash(e.arn()); c.byARN[h] == slot {
		delete(c.byARN, h)
	}
	if h := c.nameHash(e.region(), e.name()); c.byName[h] == slot {
		delete(c.byName, h)
	}
	c.bytes -= int64(e.size)
	*e = packed{}
	s.ref.Store(false)
	c.free = append(c.free, slot)
}

// removeSlot removes the entry index maps h to, if any.
func (c *cache) removeSlot(index map[uint64]int32, h uint64) {
	if slot, ok := index[h]; ok {
		c.remove(slot)
	}
}

// invalidateARN drops the secret arn after a write another server made,
// known only by its ARN: the region and name come from the cached entry,
// or else from the ARN itself.
func (c *cache) invalidateARN(arn string) {
	c.mu.RLock()
	var region, name string
	found := false
	if slot := c.withARN(arn); slot >= 0 {
		e := &c.ring[slot].e
		region, name, found = e.region(), e.name(), true
	}
	c.mu.RUnlock()
	if found {
		c.invalidate(arn, region, name)
		return
	}
	if a, ok := rotor.ParseARN(arn); ok {
		region = a.Region
		name, _ = rotor.SecretNameFromARN(a, true)
	}
	c.invalidate(arn, region, name)
}

// invalidate drops the secret arn (named name in region) after a write.
func (c *cache) invalidate(arn, region, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidateLocked(arn, region, name)
}

// invalidateLocked is invalidate with c.mu held.
func (c *cache) invalidateLocked(arn, region, name string) {
	c.remove(c.withARN(arn))
	c.remove(c.withName(region, name))
	c.changedLocked(arn, nameKey(region, name))
}

// changedLocked records that the secret arn (named nk) changed, so that
// fills in flight, begun before, are refused. c.mu must be held.
func (c *cache) changedLocked(arn string, nk secretKey) {
	c.gen++
	if c.inflight == 0 {
		c.floor = c.gen
		return
	}
	c.recent = append(c.recent, invalidation{gen: c.gen, arn: arn, nameKey: nk})
	if len(c.recent) > cacheMaxPending {
		drop := len(c.recent) - cacheMaxPending/2
		c.floor = c.recent[drop-1].gen
		c.recent = append([]invalidation(nil), c.recent[drop:]...)
	}
}

// accessPatch is what a committed write of access dates (FlushAccessDates)
// did to one secret.
type accessPatch struct {
	arn, region, name string
	// day is the secret's LastAccessedDate as the write left it (the day
	// of the last version note it applied), and versions the date it gave
	// each version.
	day      time.Time
	versions []versionDay
	// drop: a note of the secret was not written (its version was gone),
	// so it is invalidated rather than patched.
	drop bool
}

// patchAccessed applies a committed write of access dates to the cache
// instead of invalidating the secrets it wrote: each one cached keeps its
// place (and its ref bit and expiry) with an entry whose dates are those
// ps gives (packed.withAccessed, built before the write lock is taken, so
// readers wait only for the swaps). gen is from a begin the caller made
// before the write's transaction started (and ends after this call), so
// the write is known to be the last one to each secret that it patches:
//
//   - A secret invalidated since gen (by a writer whose commit may have
//     come after the access write's, so the cached entry may hold a newer
//     state whose dates the patch would set back), or one of ps with drop
//     set, is invalidated as before, never patched.
//   - Otherwise any write to the secret that the cached entry lacks is one
//     whose invalidation is still to come and will drop the entry; the
//     patch only adds the access write, which committed.
//   - Like invalidate, it refuses every fill of the secrets of ps in
//     flight: a fill begun before the commit may hold the old dates.
//
// Access writes must not run concurrently with each other (the caller
// serializes them): they do not invalidate, so one would not see the
// other. A patched entry that no longer fits the budget makes room as
// install does, or is dropped when larger than the budget. It returns how
// many entries it patched.
func (c *cache) patchAccessed(gen uint64, ps []*accessPatch) (patched int) {
	// The patched entries are built under the read lock only, from the
	// entries cached then; one replaced by the time the write lock is
	// taken (its data is another string) is dropped instead.
	olds := make([]packed, len(ps))
	c.mu.RLock()
	for i, p := range ps {
		if slot := c.withARN(p.arn); slot >= 0 && !p.drop {
			olds[i] = c.ring[slot].e
		}
	}
	c.mu.RUnlock()
	news := make([]packed, len(ps))
	for i, p := range ps {
		if olds[i].data != "" {
			if e, ok := olds[i].withAccessed(p.day, p.versions); ok {
				news[i] = e
			}
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	// Decide for every secret before recording any change: recording
	// one would look like an invalidation to a secret with the same name.
	// The invalidations since gen are the end of c.recent (in generation
	// order); indexed once, so each secret costs two lookups.
	since := c.recent[sort.Search(len(c.recent), func(i int) bool { return c.recent[i].gen > gen }):]
	arns := make(map[string]struct{}, len(since))
	names := make(map[secretKey]struct{}, len(since))
	for _, iv := range since {
		arns[iv.arn] = struct{}{}
		names[iv.nameKey] = struct{}{}
	}
	drop := make([]bool, len(ps))
	for i, p := range ps {
		_, byARN := arns[p.arn]
		_, byName := names[nameKey(p.region, p.name)]
		drop[i] = p.drop || gen < c.floor || byARN || byName
	}
	for i, p := range ps {
		slot := c.withARN(p.arn)
		e := &news[i]
		if drop[i] || slot < 0 || c.withName(p.region, p.name) != slot || e.data == "" ||
			unsafe.StringData(c.ring[slot].e.data) != unsafe.StringData(olds[i].data) || int64(e.size) > c.maxBytes {
			c.invalidateLocked(p.arn, p.region, p.name)
			continue
		}
		c.changedLocked(p.arn, nameKey(p.region, p.name))
		s := &c.ring[slot]
		c.bytes += int64(e.size) - int64(s.e.size)
		s.e = *e
		patched++
	}
	for c.bytes > c.maxBytes {
		c.evict()
	}
	return patched
}

// clear drops everything and refuses every fill in flight.
func (c *cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.floor = c.gen
	c.recent = nil
	c.ring, c.free, c.hand, c.bytes = nil, nil, 0, 0
	c.byARN = map[uint64]int32{}
	c.byName = map[uint64]int32{}
}

// size returns the number of cached secrets.
func (c *cache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byARN)
}

// usage returns the sum of the cached secrets' costs.
func (c *cache) usage() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}
