package manager

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/policy"
)

// Cache bounds.
const (
	// DefaultCacheMaxBytes is the cache budget when Config.CacheMaxBytes is
	// 0: 256 MiB, a quarter of a 1 GB machine, which holds about 150,000
	// secrets of small values (about 1.7 KB each, see entry.cost).
	DefaultCacheMaxBytes = 256 << 20
	// cacheMaxPending bounds the invalidations remembered for fills in
	// flight; a fill older than the oldest one remembered is discarded.
	cacheMaxPending = 4096
)

// entry is one secret as loaded from the store in one snapshot: its record
// and every version, values still sealed. An entry is immutable once built
// and shared by concurrent readers, except for the cache's bookkeeping
// (ref, slot), which the cache alone touches.
type entry struct {
	rec      *rotor.SecretRecord
	versions []*rotor.VersionRecord // oldest first
	labels   labels
	// reads holds, for versions[i], what reading it needs besides its
	// record (zero for a placeholder). It is filled by prepare for entries
	// that go into the cache; nil otherwise (readVersion then computes it
	// per read). A slice, not a map keyed by id: a secret has few versions
	// and a map costs hundreds of bytes in each of ~150,000 cached entries.
	reads []versionRead

	size int64 // cost(), computed by prepare
	// expires is the monotonic time (monoNow) from which get no longer
	// returns the entry, when the cache has a maximum age; set before the
	// entry is installed.
	expires int64
	ref     atomic.Bool // read since the clock hand last passed (see cache)
	slot    int         // index in cache.ring, -1 when not in it; under cache.mu

	// policy is rec.ResourcePolicy compiled (nil when the secret has none),
	// policyErr the reason it does not compile; both set by prepare, so an
	// Authorizer evaluating a cached secret's policy never parses it.
	prepared  bool
	policy    *policy.Policy
	policyErr error
}

// versionRead is what GetSecretValue needs to read one version, computed
// once per cache entry instead of on every read. Both slices are shared by
// every reader and must not be modified: stages is copied before it is
// returned to a caller, and aad is only passed to Keyring.Open.
type versionRead struct {
	stages []string // e.labels.stagesOf(id)
	aad    []byte   // envelope.VersionAAD(rec.ARN, id)
}

func newEntry(rec *rotor.SecretRecord, vs []*rotor.VersionRecord) *entry {
	return &entry{rec: rec, versions: vs, labels: labelsOf(vs), slot: -1}
}

// index returns the position of version id in e.versions, or -1. It
// searches from the newest version, which is the one usually read.
func (e *entry) index(id string) int {
	for i := len(e.versions) - 1; i >= 0; i-- {
		if e.versions[i].ID == id {
			return i
		}
	}
	return -1
}

// version returns version id of e, or nil.
func (e *entry) version(id string) *rotor.VersionRecord {
	if i := e.index(id); i >= 0 {
		return e.versions[i]
	}
	return nil
}

// prepare computes e.reads for the versions that hold a value. It must be
// called before e is shared (installed in the cache).
func (e *entry) prepare() {
	e.policy, e.policyErr = compilePolicy(e.rec)
	e.prepared = true
	e.reads = make([]versionRead, len(e.versions))
	for i, v := range e.versions {
		if v.Value == nil {
			continue // a placeholder is never read
		}
		e.reads[i] = versionRead{stages: e.labels.stagesOf(v.ID), aad: envelope.VersionAAD(e.rec.ARN, v.ID)}
	}
	e.size = e.cost()
}

// Estimated memory of a cache entry beyond the bytes of its strings and
// slices, measured on amd64 with Go 1.26 (TestCacheCostEstimate checks the
// estimate against the heap): the entry, its SecretRecord, the labels map
// and the cache's indexes (byARN, byName, ring) cost entryOverhead; each
// version's VersionRecord, Sealed, versionRead and slice slots cost
// versionOverhead, each tag or label stringOverhead.
const (
	entryOverhead   = 820
	versionOverhead = 250
	stringOverhead  = 32
)

// cost estimates the heap bytes e holds while cached.
func (e *entry) cost() int64 {
	r := e.rec
	n := entryOverhead + 3*len(r.ARN) + 2*len(r.Name) + 2*len(r.Region) + len(r.Description) +
		len(r.KmsKeyID) + len(r.Type) + len(r.OwningService) + len(r.PrimaryRegion) +
		len(r.Rotation.LambdaARN) + len(r.Rotation.MasterARN) + len(r.Rotation.Rules.Duration) +
		len(r.Rotation.Rules.ScheduleExpression) + len(r.Rotation.Identity) +
		len(r.ResourcePolicy) // the policy's text; its compiled form (e.policy) is not counted
	for _, t := range r.Tags {
		n += stringOverhead + len(t.Key) + len(t.Value)
	}
	for _, v := range e.versions {
		n += versionOverhead + 2*len(v.ID) + len(v.KmsKeyID)
		if v.Value != nil {
			n += len(v.Value.KeyID) + cap(v.Value.WrappedKey) + cap(v.Value.Ciphertext) + len(r.ARN) + len(v.ID) + 16
		}
		for _, st := range v.Stages {
			n += 2*stringOverhead + 2*len(st)
		}
	}
	return int64(n)
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

// resourcePolicy returns e's compiled resource policy (see compilePolicy):
// the one prepare compiled, or compiled now for an entry never prepared.
func (e *entry) resourcePolicy() (*policy.Policy, error) {
	if e.prepared {
		return e.policy, e.policyErr
	}
	return compilePolicy(e.rec)
}

// read returns what reading version v of e needs: from e.reads when
// prepared, else computed now. The result must not be modified.
func (e *entry) read(v *rotor.VersionRecord) versionRead {
	if e.reads != nil {
		if i := e.index(v.ID); i >= 0 && e.reads[i].aad != nil {
			return e.reads[i]
		}
	}
	return versionRead{stages: e.labels.stagesOf(v.ID), aad: envelope.VersionAAD(e.rec.ARN, v.ID)}
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

// cache holds entries by ARN, and a (region, name) → ARN index, within a
// budget of bytes (the sum of entry.cost).
//
// Consistency: writers call invalidate after their transaction committed.
// A reader that misses calls begin, loads a snapshot from the store and calls
// install(gen, entry), which refuses the entry if that secret was
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
type cache struct {
	mu       sync.RWMutex
	maxBytes int64
	// maxAge, in nanoseconds, bounds how long an entry is served after the
	// snapshot it holds was begun; 0 = no bound. A store shared with other
	// servers sets it: their writes invalidate this cache only through a
	// change feed, which can lose notifications.
	maxAge   int64
	bytes    int64 // sum of cost of the entries in ring
	byARN    map[string]*entry
	byName   map[secretKey]string
	ring     []*entry // every cached entry, and nil holes; entry.slot is its index
	free     []int    // the holes in ring
	hand     int
	gen      uint64
	floor    uint64 // fills begun before this generation are refused
	inflight int    // fills between begin and end
	recent   []invalidation

	hits, misses atomic.Uint64 // lookups by get, for CacheStats
}

// newCache returns a cache holding at most maxBytes (by entry.cost); an
// entry larger than that is never cached.
func newCache(maxBytes int64) *cache {
	return &cache{maxBytes: maxBytes, byARN: map[string]*entry{}, byName: map[secretKey]string{}}
}

// get returns the cached entry for id in region, or nil. Only exact ARNs
// and names are looked up; anything else (partial ARNs) is a miss.
func (c *cache) get(region, id string) *entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var e *entry
	// ParseARN accepts nothing that lacks the "arn:" prefix; checking it
	// first spares names (the common case) the parse and its allocation.
	if isARN(id) {
		if e = c.byARN[id]; e != nil && e.rec.Region != region {
			e = nil
		}
	} else if arn, ok := c.byName[nameKey(region, id)]; ok {
		e = c.byARN[arn]
	}
	if e == nil || (c.maxAge > 0 && monoNow() >= e.expires) {
		// An expired entry stays until install replaces it or the clock
		// hand evicts it.
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return e
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

// install adds e (prepared, not yet in any cache), loaded by a fill that
// began at generation gen, unless the secret was invalidated since. It
// evicts entries as needed to stay within maxBytes.
func (c *cache) install(gen uint64, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.floor || e.size > c.maxBytes {
		return
	}
	nk := nameKey(e.rec.Region, e.rec.Name)
	for _, iv := range c.recent {
		if iv.gen > gen && (iv.arn == e.rec.ARN || iv.nameKey == nk) {
			return
		}
	}
	if old := c.byARN[e.rec.ARN]; old != nil {
		c.remove(old)
	}
	if arn, ok := c.byName[nk]; ok {
		// The name belonged to another secret (purged and re-created).
		c.remove(c.byARN[arn])
	}
	for c.bytes+e.size > c.maxBytes {
		c.evict()
	}
	// The entry takes the slot of the last one removed (for an eviction,
	// the one just behind the hand), so the hand reaches it last.
	if n := len(c.free); n > 0 {
		e.slot = c.free[n-1]
		c.free = c.free[:n-1]
		c.ring[e.slot] = e
	} else {
		e.slot = len(c.ring)
		c.ring = append(c.ring, e)
	}
	c.bytes += e.size
	c.byARN[e.rec.ARN] = e
	c.byName[nk] = e.rec.ARN
}

// evict removes one entry chosen by the clock hand. The cache must not be
// empty.
func (c *cache) evict() {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		c.hand++
		switch {
		case e == nil:
		case e.ref.Load():
			e.ref.Store(false)
		default:
			c.remove(e)
			return
		}
	}
}

// remove drops e (nil: nothing) from the cache.
func (c *cache) remove(e *entry) {
	if e == nil || e.slot < 0 {
		return
	}
	c.ring[e.slot] = nil
	c.free = append(c.free, e.slot)
	e.slot = -1
	c.bytes -= e.size
	delete(c.byARN, e.rec.ARN)
	if k := nameKey(e.rec.Region, e.rec.Name); c.byName[k] == e.rec.ARN {
		delete(c.byName, k)
	}
}

// invalidateARN drops the secret arn after a write another server made,
// known only by its ARN: the region and name come from the cached entry,
// or else from the ARN itself.
func (c *cache) invalidateARN(arn string) {
	c.mu.RLock()
	e := c.byARN[arn]
	c.mu.RUnlock()
	if e != nil {
		c.invalidate(arn, e.rec.Region, e.rec.Name)
		return
	}
	var region, name string
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
	c.gen++
	c.remove(c.byARN[arn])
	nk := nameKey(region, name)
	if other, ok := c.byName[nk]; ok {
		c.remove(c.byARN[other])
		delete(c.byName, nk)
	}
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

// clear drops everything and refuses every fill in flight.
func (c *cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.floor = c.gen
	c.recent = nil
	for _, e := range c.ring {
		if e != nil {
			e.slot = -1
		}
	}
	c.ring, c.free, c.hand, c.bytes = nil, nil, 0, 0
	c.byARN = map[string]*entry{}
	c.byName = map[secretKey]string{}
}

// size returns the number of cached secrets.
func (c *cache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byARN)
}

// usage returns the sum of the cached entries' costs.
func (c *cache) usage() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}
