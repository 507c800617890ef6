package manager

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestPackedRoundTrip packs secrets with every field set (and with every
// field empty) and checks that record, entry, find and the cache keys give
// back exactly what was packed: strings, flags, negative and extreme
// integers, times (zero, before 1970, nanoseconds) in UTC, tags in order,
// versions in order with their labels, placeholders and binary values.
func TestPackedRoundTrip(t *testing.T) {
	full, vs := packedFixture()
	for name, tc := range map[string]struct {
		rec *rotor.SecretRecord
		vs  []*rotor.VersionRecord
	}{
		"Full":  {full, vs},
		"Empty": {&rotor.SecretRecord{}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPacked(tc.rec, tc.vs)
			if got := p.record(); !reflect.DeepEqual(got, tc.rec) {
				t.Errorf("record =\n\t%+v\nwant\n\t%+v", got, tc.rec)
			}
			e := p.entry()
			if !reflect.DeepEqual(e.rec, tc.rec) || len(e.versions) != len(tc.vs) {
				t.Fatalf("entry = %+v with %d versions, want %+v with %d", e.rec, len(e.versions), tc.rec, len(tc.vs))
			}
			for i, v := range e.versions {
				want := *tc.vs[i] // no labels decode as nil, as the store returns them
				if got := *v; !reflect.DeepEqual(got.Stages, want.Stages) || got.Value == nil != (want.Value == nil) ||
					(got.Value != nil && !reflect.DeepEqual(*got.Value, *want.Value)) {
					t.Errorf("version %d = %+v (value %+v), want %+v (value %+v)", i, got, got.Value, want, want.Value)
				}
				got, want2 := *v, *tc.vs[i]
				got.Value, got.Stages, want2.Value, want2.Stages = nil, nil, nil, nil
				if !reflect.DeepEqual(got, want2) {
					t.Errorf("version %d = %+v, want %+v", i, got, want2)
				}
			}
			if p.arn() != tc.rec.ARN || p.region() != tc.rec.Region || p.name() != tc.rec.Name {
				t.Errorf("keys = %q %q %q", p.arn(), p.region(), p.name())
			}
			if (p.policy != nil) != (tc.rec.ResourcePolicy != "") {
				t.Errorf("compiled policy %v for policy %q", p.policy, tc.rec.ResourcePolicy)
			}
		})
	}

	p := newPacked(full, vs)
	for _, c := range []struct{ id, stage, want string }{
		{"", "AWSCURRENT", "v2"}, {"", "ZED", "v2"}, {"", "AWSPREVIOUS", "v1"}, {"", "AWSPENDING", "p"},
		{"v1", "", "v1"}, {"old", "", "old"}, {"", "NOPE", ""}, {"nope", "", ""},
	} {
		v, ok := p.find(c.id, c.stage)
		if ok != (c.want != "") || v.id != c.want {
			t.Errorf("find(%q, %q) = %q, %v; want %q", c.id, c.stage, v.id, ok, c.want)
		}
	}
	v, _ := p.find("v2", "")
	if !v.hasLabel("ALPHA") || v.hasLabel("AWSPREVIOUS") || !v.binary || !v.hasValue || len(v.text) != 70000 {
		t.Errorf("v2 decoded as %+v", v)
	}
	// The sealed value handed to the keyring is a copy: changing it leaves
	// the packed bytes as they were.
	s := v.sealed()
	s.WrappedKey[0] = 'X'
	if again, _ := p.find("v2", ""); again.wrapped != "w" {
		t.Error("sealed() shares memory with the packed secret")
	}
}

// packedFixture returns a secret with every field set and versions of
// every kind: with a value, binary, a placeholder, an unlabeled one.
func packedFixture() (*rotor.SecretRecord, []*rotor.VersionRecord) {
	at := func(ns int64) time.Time { return time.Unix(0, ns).UTC() }
	full := &rotor.SecretRecord{
		ARN: rotor.SecretARN("eu-west-1", "123456789012", "app/db", "AbCdEf"), Region: "eu-west-1", Name: "app/db",
		Description: "d\x00é", KmsKeyID: "alias/k", Type: "t", TagsEverSet: true,
		Tags: []rotor.Tag{{Key: "z", Value: ""}, {Key: "a", Value: strings.Repeat("v", 300)}, {Key: "", Value: "x"}},
		Rotation: rotor.RotationConfig{Configured: true, Enabled: true, LambdaARN: "arn:aws:lambda:eu-west-1:1:function:f",
			MasterARN: "m", Identity: "i", Rules: rotor.RotationRules{AutomaticallyAfterDays: -3, Duration: "2h", ScheduleExpression: "rate(1 day)"}},
		ResourcePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`,
		CreatedDate:    at(1), LastChangedDate: at(-1), LastAccessedDate: at(math.MaxInt64), LastRotatedDate: at(math.MinInt64 + 1),
		NextRotationDate: at(1700000000123456789), DeletedDate: at(2), PurgeDate: at(3),
		OwningService: "svc", PrimaryRegion: "us-east-1",
	}
	vs := []*rotor.VersionRecord{
		{ID: "v1", Value: &rotor.Sealed{KeyID: "k1", WrappedKey: []byte{0, 1}, Ciphertext: []byte{}}, KmsKeyID: "alias/k",
			Stages: []string{"AWSPREVIOUS"}, CreatedDate: at(10), LastAccessedDate: at(11)},
		{ID: "v2", Value: &rotor.Sealed{KeyID: "k2", WrappedKey: []byte("w"), Ciphertext: make([]byte, 70000)}, Binary: true,
			Stages: []string{"ALPHA", "AWSCURRENT", "ZED"}, CreatedDate: at(10)},
		{ID: "p", Stages: []string{"AWSPENDING"}, CreatedDate: at(12)},
		{ID: "old"},
	}
	return full, vs
}

// TestPackedWithAccessed: withAccessed gives exactly what pack makes of
// the records with the new dates (zero dates growing to full ones, full
// ones changing, a date set back to zero), and refuses a version the
// secret does not have.
func TestPackedWithAccessed(t *testing.T) {
	rec, vs := packedFixture()
	day := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	withDay := *rec
	withDay.LastAccessedDate = day.AddDate(0, 0, -3) // the fixture's is the largest time there is
	rec = &withDay
	for _, tc := range []struct {
		name    string
		recDay  time.Time
		changes []versionDay
		keep    bool // the dates given are earlier: nothing moves back
	}{
		{"NoVersions", day, nil, false},
		{"ZeroToDay", day, []versionDay{{"v2", day}, {"old", day}}, false},
		{"DayToDay", day, []versionDay{{"v1", day}}, false},
		{"LastVersion", day.AddDate(0, 0, 1), []versionDay{{"old", day.AddDate(0, 0, 1)}, {"v1", day}}, false},
		{"EarlierKeepsLater", time.Time{}, []versionDay{{"v1", time.Time{}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacked(rec, vs)
			p.expires = 42
			wantRec := *rec
			if !tc.keep {
				wantRec.LastAccessedDate = tc.recDay
			}
			var wantVs []*rotor.VersionRecord
			for _, v := range vs {
				c := *v
				for _, ch := range tc.changes {
					if ch.id == v.ID && !tc.keep {
						c.LastAccessedDate = ch.day
					}
				}
				wantVs = append(wantVs, &c)
			}
			want := newPacked(&wantRec, wantVs)
			got, ok := p.withAccessed(tc.recDay, tc.changes)
			if !ok {
				t.Fatal("withAccessed refused versions the secret has")
			}
			if got.data != want.data || got.vstart != want.vstart || got.size != want.size {
				t.Fatalf("withAccessed: vstart %d size %d, data equal %v; want vstart %d size %d", got.vstart, got.size,
					got.data == want.data, want.vstart, want.size)
			}
			if got.policy != p.policy || got.expires != 42 {
				t.Errorf("withAccessed dropped the compiled policy or the expiry")
			}
			if !p.record().LastAccessedDate.Equal(rec.LastAccessedDate) {
				t.Error("withAccessed changed the original")
			}
		})
	}
	if _, ok := newPacked(rec, vs).withAccessed(day, []versionDay{{"v1", day}, {"gone", day}}); ok {
		t.Error("withAccessed accepted a version the secret does not have")
	}
	if _, ok := newPacked(&rotor.SecretRecord{ARN: "a"}, nil).withAccessed(day, []versionDay{{"v1", day}}); ok {
		t.Error("withAccessed accepted a version of a secret without versions")
	}
}
