package manager_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// flush writes the noted access dates.
func (e *env) flush(t testing.TB) {
	t.Helper()
	if err := e.svc.FlushAccessDates(context.Background()); err != nil {
		t.Fatalf("FlushAccessDates: %v", err)
	}
}

// sameAsStore fails unless what e's service answers (from its cache when
// warm) for DescribeSecret and ListSecretVersionIds of id is what a
// service with an empty cache over the same store answers.
func sameAsStore(t testing.TB, e, fresh *env, id string) {
	t.Helper()
	fresh.svc.InvalidateCache()
	wantEqual(t, "DescribeSecret("+id+") from the cache", e.describe(t, id), fresh.describe(t, id))
	list := func(e *env) *rotor.ListSecretVersionIdsOutput {
		out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: id, IncludeDeprecated: true})
		if err != nil {
			t.Fatalf("ListSecretVersionIds(%q): %v", id, err)
		}
		return out
	}
	wantEqual(t, "ListSecretVersionIds("+id+") from the cache", list(e), list(fresh))
}

// TestFlushKeepsCachedSecrets: writing the access dates keeps the secrets
// it wrote cached, showing the new dates, on the first day and on the
// next; reads after the flush are cache hits, and the cache counts the
// patched entries' bytes exactly as it counts a fresh fill of them.
func TestFlushKeepsCachedSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAccessFlushInterval(time.Hour))
	fresh := newEnvSharing(t, e)
	e.create(t, "a", "one")
	e.put(t, "a", tok(1), "two") // tok(1) AWSCURRENT, tok(0) AWSPREVIOUS
	e.create(t, "b", "other")
	day1 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)

	e.current(t, "a")
	e.get(t, rotor.GetSecretValueInput{SecretID: "a", VersionStage: rotor.StagePrevious})
	e.current(t, "b")
	e.flush(t)

	misses := e.svc.CacheStats().Misses
	e.current(t, "a")
	e.current(t, "b")
	d := e.describe(t, "a")
	if !d.LastAccessedDate.Equal(day1) {
		t.Fatalf("LastAccessedDate after the flush = %v, want %v", d.LastAccessedDate, day1)
	}
	for _, id := range []string{"a", "b"} {
		sameAsStore(t, e, fresh, id)
	}
	if m := e.svc.CacheStats().Misses - misses; m != 0 {
		t.Fatalf("reads after the flush: %d cache misses; want 0 (served from the cache)", m)
	}
	// The patched entries grew (a zero date takes one byte); the cache
	// counts them as it counts the same secrets loaded afresh.
	st := e.svc.CacheStats()
	e.svc.InvalidateCache()
	e.describe(t, "a")
	e.describe(t, "b")
	if again := e.svc.CacheStats(); again.Bytes != st.Bytes || again.Entries != st.Entries {
		t.Fatalf("patched: %d entries, %d bytes; loaded afresh: %d entries, %d bytes", st.Entries, st.Bytes, again.Entries, again.Bytes)
	}

	// The next day: the first read of a version notes it again, and the
	// flush moves the secret's date and that version's, not the other's.
	e.clock.Advance(24 * time.Hour)
	e.current(t, "a")
	e.flush(t)
	misses = e.svc.CacheStats().Misses
	for _, v := range e.allVersionsDated(t, "a") {
		want := day1
		if v.VersionID == tok(1) {
			want = day2
		}
		if !v.LastAccessedDate.Equal(want) {
			t.Errorf("version %s LastAccessedDate = %v, want %v", v.VersionID, v.LastAccessedDate, want)
		}
	}
	if d := e.describe(t, "a"); !d.LastAccessedDate.Equal(day2) {
		t.Errorf("secret LastAccessedDate the next day = %v, want %v", d.LastAccessedDate, day2)
	}
	e.current(t, "a")
	sameAsStore(t, e, fresh, "a")
	if m := e.svc.CacheStats().Misses - misses; m != 0 {
		t.Fatalf("%d cache misses after the next day's flush, want 0", m)
	}
}

// allVersionsDated lists every version of id with its dates.
func (e *env) allVersionsDated(t testing.TB, id string) []rotor.VersionEntry {
	t.Helper()
	out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: id, IncludeDeprecated: true})
	if err != nil {
		t.Fatalf("ListSecretVersionIds(%q): %v", id, err)
	}
	return out.Versions
}

// TestFlushDropsSecretOfVanishedVersion: when a noted version is gone
// from the store by the time the dates are written (ENOTFOUND: pruned or
// deleted), the flush drops its secret from the cache rather than patch
// it, so the version is not served again. The version is deleted here
// behind the service's back, leaving the cached entry as it was, so only
// the flush can drop it.
func TestFlushDropsSecretOfVanishedVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAccessFlushInterval(time.Hour))
	fresh := newEnvSharing(t, e)
	e.create(t, "g", "one")
	e.put(t, "g", tok(1), "two")
	e.current(t, "g")
	e.get(t, rotor.GetSecretValueInput{SecretID: "g", VersionID: tok(0)})
	arn := e.describe(t, "g").ARN
	if err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		return tx.DeleteVersions(arn, []string{tok(0)})
	}); err != nil {
		t.Fatal(err)
	}
	e.flush(t)
	if vs := e.allVersions(t, "g"); len(vs) != 1 {
		t.Fatalf("versions after the flush = %v, want only %s (the other was deleted)", vs, tok(1))
	}
	sameAsStore(t, e, fresh, "g")
}

// TestFlushRacingWrites runs the access-date flush of a new day against
// writes to the same secrets and reads that miss (run with -race). After
// each round the cache must answer what the store holds: a flush must
// never leave an entry older than the store's state (old dates from a
// fill begun before it, or a writer's change set back).
func TestFlushRacingWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAccessFlushInterval(time.Hour))
	fresh := newEnvSharing(t, e)
	names := []string{"r0", "r1", "r2"}
	for _, n := range names {
		e.create(t, n, n)
	}
	const rounds = 60
	for round := range rounds {
		e.clock.Advance(24 * time.Hour)
		for _, n := range names {
			e.current(t, n) // notes the new day
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(names)+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.svc.FlushAccessDates(context.Background()); err != nil {
				errs <- err
			}
		}()
		for i, n := range names {
			wg.Add(2)
			go func() { // a writer
				defer wg.Done()
				var err error
				if (round+i)%2 == 0 {
					_, err = e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: n, Description: str(fmt.Sprint(round))})
				} else {
					_, err = e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: n,
						ClientRequestToken: tok(1000*i + round + 1), Value: sv(fmt.Sprint(round))})
				}
				if err != nil {
					errs <- err
				}
			}()
			go func() { // a reader that misses after the write
				defer wg.Done()
				for range 3 {
					if _, err := e.svc.DescribeSecret(e.ctx, n); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, n := range names {
			sameAsStore(t, e, fresh, n)
		}
	}
}

// hookStore is a store (one that is a rotor.SecretReader, as SQLite is)
// that runs a hook once, right after the next Update returns (committed)
// or the next read of a secret (before the caller installs it in its
// cache): a place to put a concurrent step deterministically.
type hookStore struct {
	rotor.Store
	afterUpdate, afterRead atomic.Pointer[func()]
}

func (s *hookStore) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	if h := s.afterUpdate.Swap(nil); h != nil {
		(*h)()
	}
	return err
}

func (s *hookStore) ReadSecret(ctx context.Context, region, name string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	rec, vs, err := s.Store.(rotor.SecretReader).ReadSecret(ctx, region, name)
	if h := s.afterRead.Swap(nil); h != nil {
		(*h)()
	}
	return rec, vs, err
}

func (s *hookStore) ReadSecretARN(ctx context.Context, arn string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	rec, vs, err := s.Store.(rotor.SecretReader).ReadSecretARN(ctx, arn)
	if h := s.afterRead.Swap(nil); h != nil {
		(*h)()
	}
	return rec, vs, err
}

// withHookStore puts a hookStore in front of the env's store.
func withHookStore(h **hookStore) envOption {
	return func(c *manager.Config) {
		*h = &hookStore{Store: c.Store}
		c.Store = *h
	}
}

// TestFlushRefusesFillBegunBefore: a read that missed and loaded the
// secret before the flush committed must not cache those old dates after
// the flush, as it would not after a write's invalidation: whether the
// secret is not cached when the flush patches, or cached by another read
// that missed meanwhile (and patched).
func TestFlushRefusesFillBegunBefore(t *testing.T) {
	t.Parallel()
	for _, other := range []bool{false, true} {
		var hs *hookStore
		e := newEnv(t, withAccessFlushInterval(time.Hour), withHookStore(&hs))
		fresh := newEnvSharing(t, e)
		e.create(t, "a", "one")
		e.current(t, "a") // notes the day
		e.svc.InvalidateCache()
		between := func() { // between the miss's read and its install
			if other {
				e.describe(t, "a") // misses too, and caches the old dates
			}
			e.flush(t)
		}
		hs.afterRead.Store(&between)
		e.describe(t, "a")
		if hs.afterRead.Load() != nil {
			t.Fatal("the read did not miss")
		}
		sameAsStore(t, e, fresh, "a")
	}
}

// TestFlushYieldsToNewerDates: another server writes a later day to the
// same secret between this flush's commit and its cache patch, and a read
// here caches that newer state (after the change feed's invalidation): the
// patch must not set the older day over it.
func TestFlushYieldsToNewerDates(t *testing.T) {
	t.Parallel()
	var hs *hookStore
	e := newEnv(t, withAccessFlushInterval(time.Hour), withHookStore(&hs))
	fresh := newEnvSharing(t, e)
	e.create(t, "a", "one")
	arn := e.describe(t, "a").ARN
	other := newEnvSharing(t, e) // a server whose clock is a day ahead
	other.cfg.Store = hs.Store
	other.clock = &clock{t: e.clock.Now().Add(24 * time.Hour)}
	other.cfg.Now = other.clock.Now
	other.svc = manager.New(other.cfg)

	e.current(t, "a")
	other.current(t, "a")
	between := func() {
		other.flush(t)
		e.svc.InvalidateSecret(arn) // what the change feed delivers
		e.describe(t, "a")          // caches the newer state
	}
	hs.afterUpdate.Store(&between)
	e.flush(t)
	if hs.afterUpdate.Load() != nil {
		t.Fatal("the flush did not write")
	}
	want := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	if d := fresh.describe(t, "a"); !d.LastAccessedDate.Equal(want) {
		t.Fatalf("store LastAccessedDate = %v, want the later day %v", d.LastAccessedDate, want)
	}
	sameAsStore(t, e, fresh, "a")
}

// TestFlushAcrossMidnight: a batch holding one version's note of a day and
// another version's of the next leaves the secret at the later day,
// whatever order the notes were taken in.
func TestFlushAcrossMidnight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAccessFlushInterval(time.Hour))
	const n = 16 // each secret has even odds without an order: 2^-16 to pass by chance
	for i := range n {
		id := fmt.Sprintf("s%02d", i)
		e.create(t, id, "one")
		e.put(t, id, tok(1), "two") // tok(1) AWSCURRENT, tok(0) AWSPREVIOUS
	}
	day1 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		e.current(t, fmt.Sprintf("s%02d", i))
	}
	e.clock.Advance(24 * time.Hour)
	for i := range n {
		e.get(t, rotor.GetSecretValueInput{SecretID: fmt.Sprintf("s%02d", i), VersionStage: rotor.StagePrevious})
	}
	e.flush(t)
	e.svc.InvalidateCache() // what the store holds
	for i := range n {
		id := fmt.Sprintf("s%02d", i)
		if d := e.describe(t, id); !d.LastAccessedDate.Equal(day1.AddDate(0, 0, 1)) {
			t.Errorf("%s: LastAccessedDate = %v, want the later day %v", id, d.LastAccessedDate, day1.AddDate(0, 0, 1))
		}
	}
}
