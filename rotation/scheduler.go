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
	// without parameters would, with a service-generated token.
	StartScheduledRotation(ctx context.Context, arn string) error
}

// Scheduler starts rotations when their time has come. Tick does one pass
// at a given time, so tests need no timers; Run is a ticker around Tick.
type Scheduler struct {
	Secrets Starter
	// Wake is called after a pass that started rotations (Engine.Wake).
	Wake   func()
	Now    func() time.Time
	Logger *slog.Logger
}

// Tick starts every rotation due at now and returns how many started. A
// failure to start one secret is logged and does not stop the others.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (int, error) {
	arns, err := s.Secrets.DueRotations(ctx, now)
	if err != nil {
		return 0, err
	}
	started := 0
	for _, arn := range arns {
		if err := s.Secrets.StartScheduledRotation(ctx, arn); err != nil {
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
		if _, err := s.Tick(ctx, now.UTC()); err != nil && ctx.Err() == nil {
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
