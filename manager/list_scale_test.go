package manager_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// readCounter counts the secret records the manager reads from the store
// through Secrets and ListSecrets.
type readCounter struct {
	rotor.Store
	read atomic.Int64
}

func (s *readCounter) View(ctx context.Context, fn func(rotor.Tx) error) error {
	return s.Store.View(ctx, func(tx rotor.Tx) error { return fn(&countingTx{Tx: tx, n: &s.read}) })
}

type countingTx struct {
	rotor.Tx
	n *atomic.Int64
}

func (t *countingTx) Secrets(region string) ([]*rotor.SecretRecord, error) {
	recs, err := t.Tx.Secrets(region)
	t.n.Add(int64(len(recs)))
	return recs, err
}

func (t *countingTx) ListSecrets(q rotor.SecretQuery) ([]*rotor.SecretRecord, error) {
	recs, err := t.Tx.ListSecrets(q)
	t.n.Add(int64(len(recs)))
	return recs, err
}

// withReadCounter returns a Service over e's store that counts reads.
func withReadCounter(e *env) (*manager.Service, *readCounter) {
	rc := &readCounter{Store: e.store}
	cfg := e.cfg
	cfg.Store = rc
	return manager.New(cfg), rc
}

// A page of ListSecrets reads from the store only the secrets it returns
// (and one more, to know whether there is a next page), whatever the sort,
// for an unfiltered listing and for prefix and tag filters: walking every
// page reads each secret about once, not once per page.
func TestListSecretsReadsOnlyItsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := e.seedSecrets(t, 400)
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		for i, r := range recs {
			if i%3 == 0 {
				r.Tags = []rotor.Tag{{Key: "team", Value: fmt.Sprintf("t%d", i%2)}}
				if err := tx.UpdateSecret(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, rc := withReadCounter(e)
	const size = 10
	for _, tc := range []struct {
		name    string
		filters []rotor.Filter
		sortBy  string
	}{
		{"unfiltered", nil, ""},
		{"unfiltered by name", nil, rotor.SortByName},
		{"unfiltered by last-accessed-date", nil, rotor.SortByLastAccessedDate},
		{"name prefix", []rotor.Filter{f(rotor.FilterName, "s1")}, ""},
		{"tag value", []rotor.Filter{f(rotor.FilterTagValue, "t1")}, ""},
		{"negated tag key", []rotor.Filter{f(rotor.FilterTagKey, "!team")}, rotor.SortByName},
	} {
		in := rotor.ListSecretsInput{Filters: tc.filters, SortBy: tc.sortBy, MaxResults: size}
		pages, listed := 0, 0
		rc.read.Store(0)
		for {
			before := rc.read.Load()
			out, err := svc.ListSecrets(e.ctx, in)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			pages++
			listed += len(out.Secrets)
			if n := rc.read.Load() - before; n > size+1 {
				t.Errorf("%s: page %d read %d secrets from the store, want at most %d", tc.name, pages, n, size+1)
			}
			if out.NextToken == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		if listed < 3*size {
			t.Errorf("%s: listed %d secrets in %d pages; the fixture should give several pages", tc.name, listed, pages)
		}
	}
}

// A word filter (evaluated by the manager) that matches a few secrets
// scattered among many still lists exactly those, in order, across pages:
// the manager reads candidates in batches until the page is full.
func TestListSecretsSparseWordFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := e.clock.Now()
	var want []string
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		for i := range 1300 {
			name := fmt.Sprintf("n%04d", i)
			r := &rotor.SecretRecord{
				ARN:         rotor.SecretARN(testRegion, testAccount, name, "abcdef"),
				Region:      testRegion,
				Name:        name,
				Description: "plain filler",
				CreatedDate: base.Add(time.Duration(1300-i) * time.Second),
			}
			if i%211 == 5 {
				r.Description = "the NeedleInHay"
				want = append(want, name)
			}
			if err := tx.CreateSecret(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(want) // created-date ascending: the last created first
	for _, sortOrder := range []string{rotor.SortAsc, rotor.SortDesc} {
		in := rotor.ListSecretsInput{Filters: []rotor.Filter{f(rotor.FilterDescription, "needle in")}, MaxResults: 2, SortOrder: sortOrder}
		var got []string
		for range 20 {
			out, err := e.svc.ListSecrets(e.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range out.Secrets {
				got = append(got, s.Name)
			}
			if out.NextToken == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		w := slices.Clone(want)
		if sortOrder == rotor.SortDesc {
			slices.Reverse(w)
		}
		if !slices.Equal(got, w) {
			t.Errorf("description %q %s = %q, want %q", "needle in", sortOrder, got, w)
		}
	}
	names := e.listNames(t, f(rotor.FilterDescription, "!filler"), f(rotor.FilterName, "n0"))
	if wantN := []string{"n0849", "n0638", "n0427", "n0216", "n0005"}; !slices.Equal(names, wantN) {
		t.Errorf("description !filler, name n0 = %q, want %q", names, wantN)
	}
}

// NextTokens stay valid while secrets are created and deleted between
// pages: no secret is listed twice, and every secret left alone is listed.
func TestListSecretsTokenSurvivesChanges(t *testing.T) {
	t.Parallel()
	for _, sortBy := range []string{rotor.SortByCreatedDate, rotor.SortByName, rotor.SortByLastChangedDate} {
		e := newEnv(t)
		recs := e.seedSecrets(t, 60)
		in := rotor.ListSecretsInput{SortBy: sortBy, MaxResults: 7, IncludePlannedDeletion: true}
		seen := map[string]int{}
		touched := map[string]bool{}
		for page := 0; ; page++ {
			out, err := e.svc.ListSecrets(e.ctx, in)
			if err != nil {
				t.Fatalf("%s page %d: %v", sortBy, page, err)
			}
			for _, s := range out.Secrets {
				seen[s.ARN]++
			}
			if out.NextToken == "" {
				break
			}
			in.NextToken = out.NextToken
			// Delete the last secret listed and one not listed yet; create one.
			last := out.Secrets[len(out.Secrets)-1]
			_, err = e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: last.ARN, ForceDelete: true})
			if err != nil {
				t.Fatal(err)
			}
			touched[last.ARN] = true
			for _, r := range recs {
				if seen[r.ARN] == 0 && !touched[r.ARN] {
					if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: r.ARN, ForceDelete: true}); err != nil {
						t.Fatal(err)
					}
					touched[r.ARN] = true
					break
				}
			}
			e.clock.Advance(time.Second)
			created, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: fmt.Sprintf("%s-new-%d", sortBy, page)})
			if err != nil {
				t.Fatal(err)
			}
			touched[created.ARN] = true
		}
		for arn, n := range seen {
			if n > 1 {
				t.Errorf("%s: %s listed %d times", sortBy, arn, n)
			}
		}
		for _, r := range recs {
			if !touched[r.ARN] && seen[r.ARN] == 0 {
				t.Errorf("%s: untouched %s never listed", sortBy, r.Name)
			}
		}
	}
}

// The store narrows word filters with ASCII-case-insensitive substrings;
// strings.ToLower also maps two non-ASCII runes to ASCII letters (U+212A
// KELVIN SIGN to 'k', U+0130 to 'i'), and the listing must still find the
// secrets whose terms match only through them.
func TestListSecretsWordFilterNonASCIIFolds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := e.clock.Now()
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		for i, r := range []struct{ name, desc string }{
			{"kelvin", "ab\u212A"},
			{"dotted", "x\u0130"},
			{"plain", "abk xi"},
			{"other", "nothing"},
		} {
			rec := &rotor.SecretRecord{ARN: rotor.SecretARN(testRegion, testAccount, r.name, "abcdef"), Region: testRegion,
				Name: r.name, Description: r.desc, CreatedDate: base.Add(time.Duration(i) * time.Second)}
			if err := tx.CreateSecret(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filter rotor.Filter
		want   []string
	}{
		{f(rotor.FilterDescription, "abk"), []string{"kelvin", "plain"}},
		{f(rotor.FilterDescription, "ABK"), []string{"kelvin", "plain"}},
		{f(rotor.FilterDescription, "xi"), []string{"dotted", "plain"}},
		{f(rotor.FilterAll, "abk"), []string{"kelvin", "plain"}},
		{f(rotor.FilterAll, "xi"), []string{"dotted", "plain"}},
		{f(rotor.FilterDescription, "nothing", "abk"), []string{"kelvin", "plain", "other"}},
	} {
		if got := e.listNames(t, tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("%s %q = %q, want %q", tc.filter.Key, tc.filter.Values, got, tc.want)
		}
	}
}
