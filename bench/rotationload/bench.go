package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/client"
)

// config is one benchmark's settings.
type config struct {
	// workers is W, the number of goroutines connecting in a loop.
	workers int
	// rotations is R, the number of rotations per engine × strategy.
	rotations int
	// ttl is the client cache's TTL (client.WithTTL); everything else is
	// the client's defaults.
	ttl time.Duration
	// interval is the least time from the end of one rotation (its run
	// seen finished) to the start of the next; it must be at least 2 × ttl.
	// Counting from the end makes the pacing independent of how long a
	// rotation takes: from one finishSecret to the next setSecret (when
	// alternating users and multiple credentials reset the password that
	// AWSPREVIOUS holds) at least interval passes, and every version stays
	// AWSCURRENT for longer than that.
	interval time.Duration
	// rotorBin is a prebuilt rotor binary; "" builds ./cmd/rotor.
	rotorBin string
	// urls maps an engine to its administrator URL.
	urls map[string]string
	// progress receives progress lines; nil discards them.
	progress io.Writer
	// log receives the client's log (refresh failures and the like).
	log *slog.Logger
}

// validate checks the settings, the pacing rule above all.
func (c *config) validate() error {
	switch {
	case c.workers < 1:
		return errors.New("-workers must be at least 1")
	case c.rotations < 1:
		return errors.New("-rotations must be at least 1")
	case c.ttl <= 0:
		return errors.New("-ttl must be positive")
	case c.interval < 2*c.ttl:
		return fmt.Errorf("-interval %v is shorter than twice the TTL (%v): a consumer refreshing once per interval could meet a reset password", c.interval, 2*c.ttl)
	}
	return nil
}

// rotation is one RotateSecret the benchmark made and waited for.
type rotation struct {
	// start is just before RotateSecret was sent; end is when the run was
	// seen finished.
	start, end time.Time
	// window is the server's setSecret start to finishSecret end: the time
	// the target wanted the new credentials while AWSCURRENT still held the
	// old ones (ok false when the history lacks the steps).
	window   time.Duration
	windowOK bool
	// attempts is the run's number of attempts (1 unless a step failed and
	// the engine retried the run).
	attempts int
}

// result is one engine × strategy: the rotations and the two load phases.
type result struct {
	engine, strategy string
	requested        int
	rotations        []rotation
	// rotationErr is why rotating stopped early (nil when all were done).
	rotationErr error
	// rotating is the load phase during the rotations; baseline is the same
	// number of workers for the same duration with no rotation.
	rotating, baseline *phase
}

// done is the number of rotations that finished successfully.
func (r *result) done() int { return len(r.rotations) }

// pacing returns the shortest start-to-start interval between consecutive
// rotations and the shortest gap from the end of one to the start of the
// next (0, 0 with fewer than two rotations).
func (r *result) pacing() (minInterval, minGap time.Duration) {
	for i := 1; i < len(r.rotations); i++ {
		iv := r.rotations[i].start.Sub(r.rotations[i-1].start)
		gap := r.rotations[i].start.Sub(r.rotations[i-1].end)
		if i == 1 || iv < minInterval {
			minInterval = iv
		}
		if i == 1 || gap < minGap {
			minGap = gap
		}
	}
	return minInterval, minGap
}

// durations returns the rotations' client-side durations (RotateSecret to
// run seen finished) and server-side windows, each sorted.
func (r *result) durations() (took, windows []time.Duration) {
	for _, x := range r.rotations {
		took = append(took, x.end.Sub(x.start))
		if x.windowOK {
			windows = append(windows, x.window)
		}
	}
	slices.Sort(took)
	slices.Sort(windows)
	return took, windows
}

// retried counts the rotations whose run needed more than one attempt.
func (r *result) retried() int {
	n := 0
	for _, x := range r.rotations {
		if x.attempts > 1 {
			n++
		}
	}
	return n
}

// goalMet reports whether the run met the benchmark's goal: every rotation
// done, no error seen by the application in either phase, and — for
// alternating users and multiple credentials — not even a raw
// authentication failure.
func (r *result) goalMet() bool {
	if r.done() != r.requested || r.rotating.appErrors != 0 || r.baseline.appErrors != 0 || r.baseline.dial.AuthFailures != 0 {
		return false
	}
	return r.strategy == strategySingle || r.rotating.dial.AuthFailures == 0
}

// bench is a running Rotor server and the targets opened so far.
type bench struct {
	cfg     config
	dir     string
	srv     *server
	sm      *secretsmanager.Client // the operator's client: creates secrets, rotates
	targets map[string]target
}

// newBench builds (unless cfg.rotorBin is set) and starts a Rotor server.
func newBench(ctx context.Context, cfg config) (*bench, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.progress == nil {
		cfg.progress = io.Discard
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir, err := os.MkdirTemp("", "rotor-rotationload-")
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, dir: dir, targets: map[string]target{}}
	bin := cfg.rotorBin
	if bin == "" {
		fmt.Fprintln(cfg.progress, "building ./cmd/rotor")
		if bin, err = buildRotor(ctx, dir); err != nil {
			b.close()
			return nil, err
		}
	}
	if b.srv, err = startServer(bin, dir); err != nil {
		b.close()
		return nil, err
	}
	b.sm = b.srv.client()
	fmt.Fprintf(cfg.progress, "rotor server at %s\n", b.srv.url)
	return b, nil
}

// close stops the server, ends the administrator sessions and removes the
// temporary directory.
func (b *bench) close() {
	for _, t := range b.targets {
		t.close()
	}
	if b.srv != nil {
		b.srv.stop()
	}
	os.RemoveAll(b.dir)
}

// target returns the engine's target, connecting on first use.
func (b *bench) target(ctx context.Context, engine string) (target, error) {
	if t, ok := b.targets[engine]; ok {
		return t, nil
	}
	raw := b.cfg.urls[engine]
	env, _ := serviceEnv(engine)
	if err := reachable(raw, env); err != nil {
		return nil, err
	}
	t, err := openTarget(ctx, engine, raw)
	if err != nil {
		return nil, err
	}
	b.targets[engine] = t
	return t, nil
}

// run benchmarks one engine × strategy: it creates the users and secrets,
// runs W workers while rotating R times (each rotation waited for, the
// next started cfg.interval after it ended), then runs W workers for as
// long again with no rotation, and removes the users. An error with a nil
// result means the run could not be set up or measured; an error with a
// result means the users could not all be removed afterwards. Rotations
// that fail are recorded in result.rotationErr, not returned.
func (b *bench) run(ctx context.Context, engine, strategy string) (res *result, err error) {
	if !supports(engine, strategy) {
		return nil, fmt.Errorf("rotor has no %s function for %s", strategy, engine)
	}
	t, err := b.target(ctx, engine)
	if err != nil {
		return nil, err
	}
	sc, err := t.prepare(ctx, strategy)
	if sc != nil && sc.cleanup != nil {
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if cerr := sc.cleanup(cctx); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	name := "rotationload/" + engine + "/" + strategy
	if sc.master != nil {
		arn, err := b.createSecret(ctx, name+"/master", sc.master)
		if err != nil {
			return nil, err
		}
		sc.secret["masterarn"] = arn
	}
	if _, err := b.createSecret(ctx, name, sc.secret); err != nil {
		return nil, err
	}

	res = &result{engine: engine, strategy: strategy, requested: b.cfg.rotations}
	fmt.Fprintf(b.cfg.progress, "%s %s: %d workers, %d rotations, TTL %v, interval %v\n",
		engine, strategy, b.cfg.workers, b.cfg.rotations, b.cfg.ttl, b.cfg.interval)

	cache := b.newCache()
	ld := startLoad(ctx, t.loader(cache, name), cache, b.cfg.workers)
	next := ld.start.Add(b.cfg.interval)
	for i := range b.cfg.rotations {
		if err := sleepUntil(ctx, next); err != nil {
			ld.finish()
			return nil, err
		}
		rot, err := b.rotate(ctx, name, functionARN(engine, strategy))
		if err != nil {
			res.rotationErr = fmt.Errorf("rotation %d of %d: %w", i+1, b.cfg.rotations, err)
			fmt.Fprintf(b.cfg.progress, "%s %s: %v\n", engine, strategy, res.rotationErr)
			break
		}
		res.rotations = append(res.rotations, rot)
		next = rot.end.Add(b.cfg.interval)
		if (i+1)%10 == 0 || i+1 == b.cfg.rotations {
			fmt.Fprintf(b.cfg.progress, "%s %s: %d rotations done\n", engine, strategy, i+1)
		}
	}
	// Keep the load on for one more interval: clients must also get past
	// the last rotation.
	if err := sleepUntil(ctx, next); err != nil {
		ld.finish()
		return nil, err
	}
	res.rotating = ld.finish()

	fmt.Fprintf(b.cfg.progress, "%s %s: baseline, no rotation, %v\n", engine, strategy, res.rotating.duration.Round(time.Millisecond))
	cache = b.newCache()
	ld = startLoad(ctx, t.loader(cache, name), cache, b.cfg.workers)
	if err := sleepUntil(ctx, ld.start.Add(res.rotating.duration)); err != nil {
		ld.finish()
		return nil, err
	}
	res.baseline = ld.finish()
	return res, nil
}

// newCache returns the application's cache: a new SDK client with its
// defaults, the client's defaults except the TTL.
func (b *bench) newCache() *client.Cache {
	return client.New(b.srv.client(), client.WithTTL(b.cfg.ttl), client.WithLogger(b.cfg.log))
}

// createSecret creates a secret holding value as JSON and returns its ARN.
func (b *bench) createSecret(ctx context.Context, name string, value map[string]any) (string, error) {
	js, err := json.Marshal(value)
	if err != nil {
		return "", err
	}
	out, err := b.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(string(js)), ClientRequestToken: aws.String(uuid.NewString()),
	})
	if err != nil {
		return "", fmt.Errorf("CreateSecret %s: %w", name, err)
	}
	return aws.ToString(out.ARN), nil
}

// rotateTimeout bounds the wait for one rotation run (the engine retries a
// failing run with back-off before it marks it failed).
const rotateTimeout = 3 * time.Minute

// rotate sends RotateSecret through aws-sdk-go-v2 and waits until the run
// for its version has ended, by polling rotor.RotationHistory. A run that
// ends in any state but succeeded is an error carrying the run's (scrubbed)
// last error.
func (b *bench) rotate(ctx context.Context, name, fn string) (rotation, error) {
	rot := rotation{start: time.Now()}
	token := uuid.NewString()
	if _, err := b.sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId: aws.String(name), ClientRequestToken: aws.String(token), RotationLambdaARN: aws.String(fn),
	}); err != nil {
		return rot, fmt.Errorf("RotateSecret: %w", err)
	}
	deadline := time.Now().Add(rotateTimeout)
	for {
		h, err := b.srv.latestRun(ctx, name)
		if err != nil {
			return rot, err
		}
		if h == nil {
			return rot, errNoRun
		}
		if h.Run.VersionID == token && h.final() {
			rot.end = time.Now()
			rot.attempts = h.Run.Attempt
			rot.window, rot.windowOK = h.window()
			if h.Run.Status != "succeeded" {
				return rot, fmt.Errorf("run %s after %d attempts: %s", h.Run.Status, h.Run.Attempt, h.Run.LastError)
			}
			return rot, nil
		}
		if time.Now().After(deadline) {
			return rot, fmt.Errorf("run for version %s not finished after %v (status %s, step %s, attempt %d, last error %q)",
				token, rotateTimeout, h.Run.Status, h.Run.Step, h.Run.Attempt, h.Run.LastError)
		}
		if err := sleepUntil(ctx, time.Now().Add(10*time.Millisecond)); err != nil {
			return rot, err
		}
	}
}

// sleepUntil waits until t or until ctx ends (returning its error).
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
