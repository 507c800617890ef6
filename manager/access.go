package manager

import (
	"context"
	"slices"
	"time"

	"github.com/rotorhq/rotor"
)

// LastAccessedDate leaves the read path: the first read of a version on a
// UTC day only notes the day in memory, and the notes are written in one
// transaction at most Config.AccessFlushInterval later (sooner when
// accessFlushMax of them are waiting), and on FlushAccessDates (which a
// server calls when it stops). A crash (kill -9, power loss) loses at most
// the access dates noted in that interval; the date then shows the
// version's previous read day until the next read records it again. A
// version is still written at most once a day by a process.

// DefaultAccessFlushInterval is the bound on how long a noted access date
// waits to be written when Config.AccessFlushInterval is 0.
const DefaultAccessFlushInterval = time.Second

// accessFlushMax is how many noted access dates trigger a write at once.
const accessFlushMax = 512

// accessNote is one version's access day waiting to be written.
type accessNote struct {
	arn, region, name, version string
	day                        time.Time
}

// noteAccessLocked queues n for the next flush, starting the timer that
// bounds its wait. Called with accessMu held.
func (s *Service) noteAccessLocked(key string, n accessNote) {
	if s.accessPending == nil {
		s.accessPending = map[string]accessNote{}
	}
	s.accessPending[key] = n
	if len(s.accessPending) >= accessFlushMax {
		// One flush started per full batch: while it waits for the one
		// running, later notes join the batch it will take.
		if !s.accessFlushQueued {
			s.accessFlushQueued = true
			go s.FlushAccessDates(context.Background())
		}
		return
	}
	if s.accessTimer == nil {
		interval := s.accessFlush
		if interval <= 0 {
			interval = DefaultAccessFlushInterval
		}
		s.accessTimer = time.AfterFunc(interval, func() { s.FlushAccessDates(context.Background()) })
	}
}

// FlushAccessDates writes every noted LastAccessedDate now, in one
// transaction. A server calls it when it stops, after the last request;
// it is safe to call at any time (calls run one at a time). A version
// deleted meanwhile is skipped.
//
// Once the write committed, the cached secrets it wrote keep their place
// in the cache, showing the new dates (cache.patchAccessed), so the first
// reads of a new day do not turn the hot set into misses; a secret that
// changed meanwhile, or one with a version the write skipped, is
// invalidated instead. When the write fails, the secrets are invalidated
// (it may have committed after all) and the notes are dropped (and
// logged), so a later read of the same day notes them again.
//
// Errors: EINTERNAL.
func (s *Service) FlushAccessDates(ctx context.Context) error {
	// One flush at a time: the cache patches of two could otherwise apply
	// in the other order than their commits (see patchAccessed), and a
	// flush taking its batch after another commits after it.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.accessMu.Lock()
	batch := s.accessPending
	s.accessPending = nil
	s.accessFlushQueued = false
	if s.accessTimer != nil {
		s.accessTimer.Stop()
		s.accessTimer = nil
	}
	s.accessMu.Unlock()
	if len(batch) == 0 || s.store == nil {
		return nil
	}
	// Begun before the transaction, as a fill is: patchAccessed then sees
	// every invalidation that may have come after the commit.
	gen := s.cache.begin()
	defer s.cache.end()
	var patches map[string]*accessPatch
	// In day order: each note sets its secret's date too, so a batch that
	// spans midnight leaves every secret at its latest day.
	notes := make([]accessNote, 0, len(batch))
	for _, n := range batch {
		notes = append(notes, n)
	}
	slices.SortFunc(notes, func(a, b accessNote) int { return a.day.Compare(b.day) })
	err := s.store.Update(context.WithoutCancel(ctx), func(tx rotor.Tx) error {
		patches = make(map[string]*accessPatch, len(batch))
		for _, n := range notes {
			p := patches[n.arn]
			if p == nil {
				p = &accessPatch{arn: n.arn, region: n.region, name: n.name}
				patches[n.arn] = p
			}
			// Each note sets the secret's date too, so the last one
			// written (the latest day) gives it; ENOTFOUND (the version was pruned or
			// deleted since the read) writes nothing.
			switch err := tx.SetLastAccessed(n.arn, n.version, n.day); {
			case err == nil:
				p.day = n.day
				p.versions = append(p.versions, versionDay{id: n.version, day: n.day})
			case isCode(err, rotor.ENOTFOUND):
				p.drop = true
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		for key, n := range batch {
			s.cache.invalidate(n.arn, n.region, n.name)
			s.accessMu.Lock()
			if s.accessed[key].Equal(n.day) {
				delete(s.accessed, key)
			}
			s.accessMu.Unlock()
		}
		s.log.Warn("record last accessed dates", "versions", len(batch), "err", err)
		return internal("record last accessed dates", err)
	}
	ps := make([]*accessPatch, 0, len(patches))
	for _, p := range patches {
		ps = append(ps, p)
	}
	s.cache.patchAccessed(gen, ps)
	return nil
}
