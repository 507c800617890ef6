package manager

import (
	"context"
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
		go s.FlushAccessDates(context.Background())
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
// it is safe to call at any time. A version deleted meanwhile is skipped.
// When the write fails the notes are dropped (and logged), so a later read
// of the same day notes them again.
//
// Errors: EINTERNAL.
func (s *Service) FlushAccessDates(ctx context.Context) error {
	s.accessMu.Lock()
	batch := s.accessPending
	s.accessPending = nil
	if s.accessTimer != nil {
		s.accessTimer.Stop()
		s.accessTimer = nil
	}
	s.accessMu.Unlock()
	if len(batch) == 0 || s.store == nil {
		return nil
	}
	err := s.store.Update(context.WithoutCancel(ctx), func(tx rotor.Tx) error {
		for _, n := range batch {
			// ENOTFOUND: the version was pruned or deleted since the read.
			if err := tx.SetLastAccessed(n.arn, n.version, n.day); err != nil && !isCode(err, rotor.ENOTFOUND) {
				return err
			}
		}
		return nil
	})
	for key, n := range batch {
		s.cache.invalidate(n.arn, n.region, n.name)
		if err != nil {
			s.accessMu.Lock()
			if s.accessed[key].Equal(n.day) {
				delete(s.accessed, key)
			}
			s.accessMu.Unlock()
		}
	}
	if err != nil {
		s.log.Warn("record last accessed dates", "versions", len(batch), "err", err)
		return internal("record last accessed dates", err)
	}
	return nil
}
