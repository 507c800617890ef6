package manager_test

import (
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// versionIDs lists every version id of a secret, deprecated ones included,
// following NextToken.
func (e *env) versionIDs(t testing.TB, id string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	next := ""
	for {
		out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: id, IncludeDeprecated: true, NextToken: next})
		if err != nil {
			t.Fatalf("ListSecretVersionIds: %v", err)
		}
		for _, v := range out.Versions {
			if ids[v.VersionID] {
				t.Fatalf("version %s listed twice", v.VersionID)
			}
			ids[v.VersionID] = true
		}
		if next = out.NextToken; next == "" {
			return ids
		}
	}
}

func TestPruneDeprecatedVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := e.clock.Now()
	e.create(t, "p", "v0") // tok(0) at start
	for i := 1; i <= 101; i++ {
		e.clock.Advance(time.Minute)
		e.put(t, "p", tok(i), "v") // tok(i) at start+i minutes
	}
	// tok(101) AWSCURRENT, tok(100) AWSPREVIOUS, tok(0)..tok(99) unlabeled: 100.
	if n := len(e.versionIDs(t, "p")); n != 102 {
		t.Fatalf("versions = %d, want 102", n)
	}

	t.Run("ErrLimitWhenNoneOldEnough", func(t *testing.T) {
		before := e.snapshot(t, "p")
		ids := e.versionIDs(t, "p")
		_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "p", ClientRequestToken: tok(102), Value: sv("v")})
		wantErr(t, err, rotor.ELIMIT, "")
		_, err = e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "p", ClientRequestToken: tok(102), Value: sv("v")})
		wantErr(t, err, rotor.ELIMIT, "")
		wantEqual(t, "state", e.snapshot(t, "p"), before)
		wantEqual(t, "versions", e.versionIDs(t, "p"), ids)
	})

	t.Run("PrunesOldestOnceOldEnough", func(t *testing.T) {
		e.clock.Advance(start.Add(24 * time.Hour).Sub(e.clock.Now())) // tok(0) is exactly 24 h old
		e.put(t, "p", tok(102), "v")
		ids := e.versionIDs(t, "p")
		if ids[tok(0)] || len(ids) != 102 {
			t.Fatalf("after pruning: %d versions, tok(0) present %v; want 102 without tok(0)", len(ids), ids[tok(0)])
		}
		for i := 1; i <= 102; i++ {
			if !ids[tok(i)] {
				t.Fatalf("tok(%d) pruned", i)
			}
		}
		// tok(1) is a minute too young.
		_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "p", ClientRequestToken: tok(103), Value: sv("v")})
		wantErr(t, err, rotor.ELIMIT, "")
		e.clock.Advance(time.Minute)
		e.put(t, "p", tok(103), "v")
		ids = e.versionIDs(t, "p")
		if ids[tok(1)] || !ids[tok(2)] || len(ids) != 102 {
			t.Fatalf("second pruning: %d versions, tok(1) %v tok(2) %v", len(ids), ids[tok(1)], ids[tok(2)])
		}
		wantEqual(t, "stages", e.stages(t, "p"), map[string][]string{tok(102): {"AWSPREVIOUS"}, tok(103): {"AWSCURRENT"}})
	})
}

func TestPruneMinAgeConfigurable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPruneMinAge(time.Hour))
	e.create(t, "p", "v0")
	for i := 1; i <= 101; i++ {
		e.put(t, "p", tok(i), "v")
	}
	e.clock.Advance(time.Hour)
	e.put(t, "p", tok(102), "v")
	if ids := e.versionIDs(t, "p"); ids[tok(0)] || len(ids) != 102 {
		t.Fatalf("%d versions, tok(0) present %v", len(ids), ids[tok(0)])
	}
}
