package manager

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/policy"
)

// packed is one secret as loaded from the store in one snapshot — its
// record and every version, values still sealed — encoded in one
// immutable string (see pack). It is what the cache holds: one allocation
// of about the size of the secret's own bytes (a secret with one small
// value: about 650 bytes, against about 1,700 for the same records as Go
// structs), which the garbage collector marks without scanning. Readers
// decode what they need: record builds a SecretRecord whose strings share
// the packed bytes, version finds one version without decoding the others.
//
// A packed secret is immutable once built. The cache keeps a copy of the
// struct in its ring (no object of its own per cached secret) and hands
// each hit a copy of that; the bytes are shared.
type packed struct {
	data string // see pack for the layout

	// policy is the secret's resource policy compiled, when it has one
	// (nil otherwise); see compilePolicy.
	policy *compiledPolicy

	// expires is the monotonic time (monoNow) from which get no longer
	// returns the entry, when the cache has a maximum age; set before the
	// entry is installed.
	expires int64
	size    int32 // cost(), computed by newPacked
	vstart  int32 // where data holds the version count
}

// compiledPolicy is a resource policy compiled once per cache fill.
type compiledPolicy struct {
	p   *policy.Policy
	err error
}

// newPacked packs rec and vs (oldest first) for the cache or for one read.
func newPacked(rec *rotor.SecretRecord, vs []*rotor.VersionRecord) *packed {
	data, vstart := pack(rec, vs)
	p := &packed{data: data, vstart: int32(vstart)}
	if rec.ResourcePolicy != "" {
		pol, err := compilePolicy(rec)
		p.policy = &compiledPolicy{p: pol, err: err}
	}
	p.size = int32(p.cost())
	return p
}

// arn, region and name are the secret's (the first three strings of data).
func (p *packed) arn() string    { r := reader{s: p.data}; return r.str() }
func (p *packed) region() string { r := reader{s: p.data}; r.skipLen(); return r.str() }
func (p *packed) name() string {
	r := reader{s: p.data}
	r.skipLen()
	r.skipLen()
	return r.str()
}

// Estimated memory of a cached secret beyond its packed bytes, measured on
// amd64 with Go 1.26 (TestCacheCostEstimate checks the estimate against
// the heap): its slot in the cache's ring and its entries in the two
// indexes, with the slack of their growth.
const packedOverhead = 96

// cost estimates the heap bytes p holds while cached: its data rounded up
// as the allocator does, plus packedOverhead. A compiled resource policy
// is not counted (its text is).
func (p *packed) cost() int64 {
	return int64(allocSize(len(p.data)) + packedOverhead)
}

// allocSize approximates the size class the Go allocator gives n bytes:
// within 1/8 above n (exact classes below 1 KiB are multiples of 16 to
// 256 bytes, then of 32, 64 and 128).
func allocSize(n int) int {
	switch {
	case n <= 256:
		return (n + 15) &^ 15
	case n <= 1024:
		return (n + 63) &^ 63
	case n <= 32<<10:
		return n + n/16
	default:
		return (n + 8191) &^ 8191
	}
}

// The packed layout: strings are a uvarint length and their bytes, times a
// uvarint (0 for the zero time, else zigzag(UnixNano)+1, read back in
// UTC), counts and integers (zigzag) varints, flags one byte.
//
//	secret:  ARN Region Name Description KmsKeyID Type ResourcePolicy
//	         OwningService PrimaryRegion (strings)
//	         flags (tagsEverSet, rotationConfigured, rotationEnabled)
//	         LambdaARN MasterARN Identity Duration ScheduleExpression (strings)
//	         AutomaticallyAfterDays
//	         CreatedDate LastChangedDate LastAccessedDate LastRotatedDate
//	         NextRotationDate DeletedDate PurgeDate
//	         tag count, then key value per tag
//	         version count, then per version, oldest first:
//	version: ID KmsKeyID (strings), flags (hasValue, binary),
//	         CreatedDate LastAccessedDate, label count and labels,
//	         and when it has a value: KeyID WrappedKey Ciphertext (strings)
//
// ARN, Region and Name come first so the cache finds its keys at once.
const (
	flagTagsEverSet = 1 << iota
	flagRotationConfigured
	flagRotationEnabled
)

const (
	flagHasValue = 1 << iota
	flagBinary
)

// pack encodes rec and vs (see the layout above); vstart is where the
// version count is.
func pack(rec *rotor.SecretRecord, vs []*rotor.VersionRecord) (data string, vstart int) {
	r := &rec.Rotation
	n := 64 + len(rec.ARN) + len(rec.Region) + len(rec.Name) + len(rec.Description) + len(rec.KmsKeyID) +
		len(rec.Type) + len(rec.ResourcePolicy) + len(rec.OwningService) + len(rec.PrimaryRegion) +
		len(r.LambdaARN) + len(r.MasterARN) + len(r.Identity) + len(r.Rules.Duration) + len(r.Rules.ScheduleExpression) +
		7*9 + 4
	for _, t := range rec.Tags {
		n += 4 + len(t.Key) + len(t.Value)
	}
	for _, v := range vs {
		n += 16 + len(v.ID) + len(v.KmsKeyID) + 2*9
		for _, st := range v.Stages {
			n += 2 + len(st)
		}
		if v.Value != nil {
			n += 8 + len(v.Value.KeyID) + len(v.Value.WrappedKey) + len(v.Value.Ciphertext)
		}
	}
	b := make([]byte, 0, n)
	b = appendStrs(b, rec.ARN, rec.Region, rec.Name, rec.Description, rec.KmsKeyID, rec.Type, rec.ResourcePolicy,
		rec.OwningService, rec.PrimaryRegion)
	var flags byte
	if rec.TagsEverSet {
		flags |= flagTagsEverSet
	}
	if r.Configured {
		flags |= flagRotationConfigured
	}
	if r.Enabled {
		flags |= flagRotationEnabled
	}
	b = append(b, flags)
	b = appendStrs(b, r.LambdaARN, r.MasterARN, r.Identity, r.Rules.Duration, r.Rules.ScheduleExpression)
	b = binary.AppendVarint(b, r.Rules.AutomaticallyAfterDays)
	b = appendTimes(b, rec.CreatedDate, rec.LastChangedDate, rec.LastAccessedDate, rec.LastRotatedDate,
		rec.NextRotationDate, rec.DeletedDate, rec.PurgeDate)
	b = binary.AppendUvarint(b, uint64(len(rec.Tags)))
	for _, t := range rec.Tags {
		b = appendStrs(b, t.Key, t.Value)
	}
	vstart = len(b)
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendStrs(b, v.ID, v.KmsKeyID)
		var vf byte
		if v.Value != nil {
			vf |= flagHasValue
		}
		if v.Binary {
			vf |= flagBinary
		}
		b = append(b, vf)
		b = appendTimes(b, v.CreatedDate, v.LastAccessedDate)
		b = binary.AppendUvarint(b, uint64(len(v.Stages)))
		b = appendStrs(b, v.Stages...)
		if v.Value != nil {
			b = appendStrs(b, v.Value.KeyID, string(v.Value.WrappedKey), string(v.Value.Ciphertext))
		}
	}
	return string(b), vstart
}

func appendStrs(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func appendTimes(b []byte, ts ...time.Time) []byte {
	for _, t := range ts {
		if t.IsZero() {
			b = append(b, 0)
			continue
		}
		n := t.UnixNano()
		b = binary.AppendUvarint(b, uint64(n<<1^n>>63)+1)
	}
	return b
}

// reader decodes packed data. The data is built by pack in this process,
// so a malformed encoding is a bug: it panics (an index out of range).
type reader struct {
	s string
	i int
}

func (r *reader) uvarint() uint64 {
	var x uint64
	for shift := 0; ; shift += 7 {
		c := r.s[r.i]
		r.i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// skipLen skips a string's length and returns where its bytes start; r.i
// is then where they end.
func (r *reader) skipLen() int {
	n := int(r.uvarint())
	start := r.i
	r.i += n
	return start
}

// str returns the next string, sharing the packed bytes.
func (r *reader) str() string {
	start := r.skipLen()
	return r.s[start:r.i]
}

func (r *reader) flags() byte {
	b := r.s[r.i]
	r.i++
	return b
}

func (r *reader) time() time.Time {
	u := r.uvarint()
	if u == 0 {
		return time.Time{}
	}
	u--
	return time.Unix(0, int64(u>>1)^-int64(u&1)).UTC()
}

// record decodes the secret's record: a new SecretRecord (and Tags slice)
// whose strings share p's bytes. The caller may keep and modify it.
func (p *packed) record() *rotor.SecretRecord {
	rec, _ := p.decodeRecord()
	return rec
}

// decodeRecord is record, and a reader at the version count.
func (p *packed) decodeRecord() (*rotor.SecretRecord, reader) {
	rec := &rotor.SecretRecord{}
	return rec, p.decodeRecordInto(rec)
}

// decodeRecordInto is decodeRecord into *rec, which must be zero.
func (p *packed) decodeRecordInto(rec *rotor.SecretRecord) reader {
	r := reader{s: p.data}
	rec.ARN, rec.Region, rec.Name, rec.Description, rec.KmsKeyID = r.str(), r.str(), r.str(), r.str(), r.str()
	rec.Type, rec.ResourcePolicy, rec.OwningService, rec.PrimaryRegion = r.str(), r.str(), r.str(), r.str()
	flags := r.flags()
	rec.TagsEverSet = flags&flagTagsEverSet != 0
	rot := &rec.Rotation
	rot.Configured, rot.Enabled = flags&flagRotationConfigured != 0, flags&flagRotationEnabled != 0
	rot.LambdaARN, rot.MasterARN, rot.Identity, rot.Rules.Duration, rot.Rules.ScheduleExpression = r.str(), r.str(), r.str(), r.str(), r.str()
	rot.Rules.AutomaticallyAfterDays = r.varint()
	rec.CreatedDate, rec.LastChangedDate, rec.LastAccessedDate = r.time(), r.time(), r.time()
	rec.LastRotatedDate, rec.NextRotationDate, rec.DeletedDate, rec.PurgeDate = r.time(), r.time(), r.time(), r.time()
	if n := int(r.uvarint()); n > 0 {
		rec.Tags = make([]rotor.Tag, n)
		for i := range rec.Tags {
			rec.Tags[i] = rotor.Tag{Key: r.str(), Value: r.str()}
		}
	}
	return r
}

// packedVersion is one version of a packed secret, decoded without
// allocating: its strings share the packed bytes, and its labels stay
// encoded (see stages).
type packedVersion struct {
	id, kmsKeyID         string
	hasValue, binary     bool
	created, accessed    time.Time
	labels               reader // at the label count
	keyID, wrapped, text string // the sealed value, when hasValue
}

// nextVersion decodes the version at r and leaves r after it.
func nextVersion(r *reader) packedVersion {
	var v packedVersion
	v.id, v.kmsKeyID = r.str(), r.str()
	f := r.flags()
	v.hasValue, v.binary = f&flagHasValue != 0, f&flagBinary != 0
	v.created, v.accessed = r.time(), r.time()
	v.labels = *r
	for n := r.uvarint(); n > 0; n-- {
		r.skipLen()
	}
	if v.hasValue {
		v.keyID, v.wrapped, v.text = r.str(), r.str(), r.str()
	}
	return v
}

// hasLabel reports whether v carries label stage.
func (v *packedVersion) hasLabel(stage string) bool {
	r := v.labels
	for n := r.uvarint(); n > 0; n-- {
		if r.str() == stage {
			return true
		}
	}
	return false
}

// stages appends v's labels (in stored order: sorted) to dst.
func (v *packedVersion) stages(dst []string) []string {
	r := v.labels
	for n := r.uvarint(); n > 0; n-- {
		dst = append(dst, r.str())
	}
	return dst
}

// sealed returns a copy of v's sealed value in one allocation; v must
// have one.
func (v *packedVersion) sealed() rotor.Sealed {
	buf := make([]byte, len(v.wrapped)+len(v.text))
	n := copy(buf, v.wrapped)
	copy(buf[n:], v.text)
	return rotor.Sealed{KeyID: v.keyID, WrappedKey: buf[:n:n], Ciphertext: buf[n:]}
}

// record returns v as a VersionRecord of its own (value copied).
func (v *packedVersion) record() *rotor.VersionRecord {
	out := &rotor.VersionRecord{ID: v.id, KmsKeyID: v.kmsKeyID, Binary: v.binary, CreatedDate: v.created,
		LastAccessedDate: v.accessed, Stages: v.stages(nil)}
	if v.hasValue {
		s := v.sealed()
		out.Value = &s
	}
	return out
}

// find returns the version with id (when id is not "") or else the one
// carrying label stage; ok is false when there is none.
func (p *packed) find(id, stage string) (v packedVersion, ok bool) {
	r := reader{s: p.data, i: int(p.vstart)}
	for n := r.uvarint(); n > 0; n-- {
		v = nextVersion(&r)
		if id != "" && v.id == id || id == "" && v.hasLabel(stage) {
			return v, true
		}
	}
	return packedVersion{}, false
}

// entry decodes p into an entry of its own: the record, every version
// with its value, and the labels.
func (p *packed) entry() *entry {
	rec, r := p.decodeRecord()
	n := int(r.uvarint())
	vs := make([]*rotor.VersionRecord, n)
	for i := range vs {
		v := nextVersion(&r)
		vs[i] = v.record()
	}
	return newEntry(rec, vs)
}

// versionDay is the LastAccessedDate written for one version.
type versionDay struct {
	id  string
	day time.Time
}

// withAccessed returns a copy of p in which the secret's LastAccessedDate
// is day and each version in vs has its day as LastAccessedDate, or the
// date p shows where that is later (as the store keeps it: see
// rotor.Tx.SetLastAccessed), all else byte for byte the same (so it
// equals what pack makes of the records with those dates). The copy keeps p's compiled policy and expiry, and has its
// own size. ok is false when a version of vs is not in p. It costs one
// pass over p's version headers, and a copy of its bytes.
func (p *packed) withAccessed(day time.Time, vs []versionDay) (out packed, ok bool) {
	// The spans of data to replace, in order, and what replaces them.
	type span struct {
		from, to int
		t        time.Time
		enc      []byte
		buf      [binary.MaxVarintLen64]byte
	}
	spans := make([]span, 0, 1+len(vs))
	r := reader{s: p.data}
	for range 9 { // ARN ... PrimaryRegion
		r.skipLen()
	}
	r.flags()
	for range 5 { // LambdaARN ... ScheduleExpression
		r.skipLen()
	}
	r.varint()  // AutomaticallyAfterDays
	r.uvarint() // CreatedDate
	r.uvarint() // LastChangedDate
	from := r.i
	was := r.time() // LastAccessedDate
	spans = append(spans, span{from: from, to: r.i, t: later(was, day)})
	found := 0
	r.i = int(p.vstart)
	for n := r.uvarint(); n > 0; n-- {
		id := r.str()
		r.skipLen() // KmsKeyID
		f := r.flags()
		r.uvarint() // CreatedDate
		from := r.i
		was := r.time() // LastAccessedDate
		for _, v := range vs {
			if v.id == id {
				spans = append(spans, span{from: from, to: r.i, t: later(was, v.day)})
				found++
				break
			}
		}
		for n := r.uvarint(); n > 0; n-- {
			r.skipLen()
		}
		if f&flagHasValue != 0 {
			r.skipLen()
			r.skipLen()
			r.skipLen()
		}
	}
	if found != len(vs) {
		return packed{}, false
	}
	// Encode the new dates first, so the copy is built in one allocation
	// of its exact size.
	size := len(p.data)
	for i := range spans {
		spans[i].enc = appendTimes(spans[i].buf[:0], spans[i].t)
		size += len(spans[i].enc) - (spans[i].to - spans[i].from)
	}
	var b strings.Builder
	b.Grow(size)
	at := 0
	for _, s := range spans {
		b.WriteString(p.data[at:s.from])
		b.Write(s.enc)
		at = s.to
	}
	b.WriteString(p.data[at:])
	// Only the secret's date lies before the versions.
	shift := len(spans[0].enc) - (spans[0].to - spans[0].from)
	out = packed{data: b.String(), policy: p.policy, expires: p.expires, vstart: p.vstart + int32(shift)}
	out.size = int32(out.cost())
	return out, true
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
