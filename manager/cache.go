package manager

import (
	"strings"
	"sync"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/policy"
)

// Cache bounds.
const (
	cacheMaxSecrets = 10000
	// cacheMaxPending bounds the invalidations remembered for fills in
	// flight; a fill older than the oldest one remembered is discarded.
	cacheMaxPending = 4096
)

// entry is one secret as loaded from the store in one snapshot: its record
// and every version, values still sealed. An entry is immutable once built
// and shared by concurrent readers.
type entry struct {
	rec      *rotor.SecretRecord
	versions []*rotor.VersionRecord // oldest first
	byID     map[string]*rotor.VersionRecord
	labels   labels
	// reads holds, per version id, what reading that version needs besides
	// its record. It is filled by prepare for entries that go into the
	// cache; nil otherwise (readVersion then computes it per read).
	reads map[string]versionRead
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
	e := &entry{rec: rec, versions: vs, byID: make(map[string]*rotor.VersionRecord, len(vs)), labels: labelsOf(vs)}
	for _, v := range vs {
		e.byID[v.ID] = v
	}
	return e
}

// prepare computes e.reads for the versions that hold a value. It must be
// called before e is shared (installed in the cache).
func (e *entry) prepare() {
	e.policy, e.policyErr = compilePolicy(e.rec)
	e.prepared = true
	e.reads = make(map[string]versionRead, len(e.versions))
	for _, v := range e.versions {
		if v.Value == nil {
			continue // a placeholder is never read
		}
		e.reads[v.ID] = versionRead{stages: e.labels.stagesOf(v.ID), aad: envelope.VersionAAD(e.rec.ARN, v.ID)}
	}
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
	if r, ok := e.reads[v.ID]; ok {
		return r
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

// cache holds entries by ARN, and a (region, name) → ARN index.
//
// Consistency: writers call invalidate after their transaction committed.
// A reader that misses calls begin, loads a snapshot from the store and calls
// install(gen, entry), which refuses the entry if that secret was
// invalidated after begin: the snapshot may predate the write. So an entry
// in the cache is never older than the last write that invalidated it, and a
// read that begins after a write returned sees that write or a newer state.
type cache struct {
	mu       sync.RWMutex
	max      int
	byARN    map[string]*entry
	byName   map[secretKey]string
	gen      uint64
	floor    uint64 // fills begun before this generation are refused
	inflight int    // fills between begin and end
	recent   []invalidation
}

func newCache(max int) *cache {
	return &cache{max: max, byARN: map[string]*entry{}, byName: map[secretKey]string{}}
}

// get returns the cached entry for id in region, or nil. Only exact ARNs
// and names are looked up; anything else (partial ARNs) is a miss.
func (c *cache) get(region, id string) *entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	// ParseARN accepts nothing that lacks the "arn:" prefix; checking it
	// first spares names (the common case) the parse and its allocation.
	if isARN(id) {
		if e := c.byARN[id]; e != nil && e.rec.Region == region {
			return e
		}
		return nil
	}
	if arn, ok := c.byName[nameKey(region, id)]; ok {
		return c.byARN[arn]
	}
	return nil
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

// install adds e, loaded by a fill that began at generation gen, unless the
// secret was invalidated since.
func (c *cache) install(gen uint64, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.floor {
		return
	}
	nk := nameKey(e.rec.Region, e.rec.Name)
	for _, iv := range c.recent {
		if iv.gen > gen && (iv.arn == e.rec.ARN || iv.nameKey == nk) {
			return
		}
	}
	if _, ok := c.byARN[e.rec.ARN]; !ok && len(c.byARN) >= c.max {
		for arn, old := range c.byARN { // evict one arbitrary entry
			delete(c.byARN, arn)
			if k := nameKey(old.rec.Region, old.rec.Name); c.byName[k] == arn {
				delete(c.byName, k)
			}
			break
		}
	}
	c.byARN[e.rec.ARN] = e
	c.byName[nk] = e.rec.ARN
}

// invalidate drops the secret arn (named name in region) after a write.
func (c *cache) invalidate(arn, region, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.byARN, arn)
	nk := nameKey(region, name)
	delete(c.byName, nk)
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
	c.byARN = map[string]*entry{}
	c.byName = map[secretKey]string{}
}

// size returns the number of cached secrets.
func (c *cache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byARN)
}
