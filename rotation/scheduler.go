package rotation

import (
	"context"
	"log/slog"
	"time"
)

// Starter is what the scheduler needs of the secrets service (package
// manager implements it).
type Starter interface {
	// DueRotations returns the ARNs of secrets with rotation enabled whose
	// scheduled start is not after now and that have no active run.
	DueRotations(ctx context.Context, now time.Time) ([]string, error)
	// StartScheduledRotation starts a rotation of arn exactly as RotateSecret
	// without parameters would, with a service-generated token, unless its
	// scheduled start moved after now since it was found due (ESTATE).
	StartScheduledRotation(ctx context.Context, arn string, now time.Time) error
	// HoldLease takes or renews the named lease for owner until until and
	// reports whether owner holds it (rotor.Tx.AcquireLease).
	HoldLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
}

// SchedulerLease is the name of the lease a Scheduler holds while it scans.
const SchedulerLease = "rotation-scheduler"

// Scheduler starts rotations when their time has come. Tick does one pass
// at a given time, so tests need no timers; Run is a ticker around Tick.
//
// Servers sharing a store share one scan rather than each doing it: a
// Scheduler scans only while it holds the lease SchedulerLease, taken or
// renewed at every tick for LeaseTTL, so one server's scheduler does the
// work and another takes over within LeaseTTL of its death. Two scans can
// still overlap when a lease changes hands while its former holder is
// paused mid-scan; that is harmless, because starting a due rotation
// twice changes nothing the second time — the store allows one active run
// per secret, and StartScheduledRotation refuses a secret whose next
// rotation date moved past the scan's time (a rotation ended since). The
// lease only keeps N servers from each paying for the same scan and
// failed starts.
type Scheduler struct {
	Secrets Starter
	// Wake is called after a pass that started rotations (Engine.Wake).
	Wake func()
	Now  func() time.Time
	// Owner names this server as the lease holder; "" = scan without the
	// lease (a store no other server uses).
	Owner string
	// LeaseTTL is how long the lease taken at a tick lasts; 0 = 3 minutes,
	// or three Run intervals when longer. It must outlast the interval, so
	// that the holder keeps it from tick to tick.
	LeaseTTL time.Duration
	Logger   *slog.Logger
}

// Tick starts every rotation due at now and returns how many started. A
// failure to start one secret is logged and does not stop the others. With
// an Owner, it does nothing (0, nil) while another server holds the lease.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (int, error) {
	return s.tick(ctx, now, s.leaseTTL(0))
}

func (s *Scheduler) leaseTTL(every time.Duration) time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return max(3*time.Minute, 3*every)
}

func (s *Scheduler) tick(ctx context.Context, now time.Time, ttl time.Duration) (int, error) {
	if s.Owner != "" {
		held, err := s.Secrets.HoldLease(ctx, SchedulerLease, s.Owner, now, now.Add(ttl))
		if err != nil || !held {
			return 0, err
		}
	}
	arns, err := s.Secrets.DueRotations(ctx, now)
	if err != nil {
		return 0, err
	}
	started := 0
	for _, arn := range arns {
		if err := s.Secrets.StartScheduledRotation(ctx, arn, now); err != nil {
			s.logger().Warn("scheduled rotation not started", "secret", arn, "err", err)
			continue
		}
		started++
	}
	if started > 0 && s.Wake != nil {
		s.Wake()
	}
	return started, nil
}

// Run calls Tick every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := time.Now()
		if s.Now != nil {
			now = s.Now()
		}
		if _, err := s.tick(ctx, now.UTC(), s.leaseTTL(every)); err != nil && ctx.Err() == nil {
			s.logger().Error("rotation scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
