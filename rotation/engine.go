package rotation

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// Controller is what the engine needs of the secrets service; package
// manager implements it. Every method is one durable transaction.
//
// Runs are leased: ClaimRuns gives this engine's node id (owner) a claim
// on each run it returns until a lease expiry, RenewLeases extends it, and
// every write about a run names the owner and is fenced — it happens only
// while owner still holds the running run with an unexpired lease, and
// otherwise fails with ESTATE wrapping ErrLeaseLost, storing nothing. Only
// a lapsed lease lets another server claim a run, so two servers never
// record steps of one run; see Engine for how the engine keeps its
// invocations inside its leases.
type Controller interface {
	// RecoverRuns turns every run left "running" (by a server that stopped
	// or was killed) back into "pending", due now, keeping its step, and
	// returns how many — when the store serves this server alone. With a
	// store several servers share it does nothing (another server's run
	// may be live): runs whose lease lapsed are claimed by ClaimRuns.
	// Called once before the engine starts.
	RecoverRuns(ctx context.Context) (int, error)
	// ClaimRuns marks up to limit runs as running, held by owner until
	// until, and returns them: running runs whose lease is not after now
	// (their holder died), at their recorded step, then pending runs whose
	// NextAttempt is not after now. Runs for which skip returns true are
	// left alone.
	ClaimRuns(ctx context.Context, owner string, now, until time.Time, limit int, skip func(runID string) bool) ([]rotor.RunRecord, error)
	// RenewLeases extends owner's lease on each of runIDs it still holds to
	// until, in one transaction, and returns the others (taken over,
	// lapsed, ended or gone).
	RenewLeases(ctx context.Context, owner string, runIDs []string, until time.Time) (lost []string, err error)
	// RunSecrets returns every value the run's credentials can read — every
	// labeled version of the secret and, when the rotation is bound to a
	// master secret, of that secret — for scrubbing, and the master's ARN
	// ("" if none).
	RunSecrets(ctx context.Context, run rotor.RunRecord) (values []string, masterARN string, err error)
	// BoundMaster returns the ARN of the master secret the rotation of the
	// run's secret was bound to by RotateSecret ("" for none) — the only
	// master its credentials may read — after checking the secret's
	// AWSCURRENT value still names it. EPRECONDITION when it does not: the
	// run then fails at once, since no retry can change that.
	BoundMaster(ctx context.Context, run rotor.RunRecord) (string, error)
	// BeginStep durably records that a step starts. It returns an ESTATE
	// error when the run is no longer active (cancelled or abandoned) or
	// owner no longer holds it: the engine then stops the run without
	// invoking the step.
	BeginStep(ctx context.Context, owner, runID, step string, attempt int, at time.Time) error
	// EndSteps durably records the outcomes of several consecutive steps
	// of one run in one transaction and, when the last succeeded, the step
	// to run next ("" after the last). ESTATE as for BeginStep; the
	// records are kept when the run stopped while owner held it, and not
	// when owner lost it.
	EndSteps(ctx context.Context, owner string, recs []rotor.StepRecord, next string) error
	// CompleteRunWith finishes a run whose steps all succeeded, appending
	// recs to its history in the same transaction; when completion fails
	// nothing is stored. For a rotation it checks AWSCURRENT is on the
	// run's version, removes AWSPENDING, records LastRotatedDate and the
	// next rotation date; for a test-only run it removes the temporary
	// version's AWSPENDING label.
	CompleteRunWith(ctx context.Context, owner, runID string, recs []rotor.StepRecord) error
	// RetryRun schedules the run's next attempt, from createSecret, at next.
	RetryRun(ctx context.Context, owner, runID string, next time.Time, lastErr string) error
	// FailRun marks the run failed, leaving the labels as AWS leaves them;
	// a failed test-only run's temporary AWSPENDING version is removed.
	FailRun(ctx context.Context, owner, runID, lastErr string) error
}

// ErrLeaseLost is wrapped by the Controller's ESTATE answer to a write
// about a run this engine no longer holds: another server took it over
// after its lease lapsed, or the lease lapsed. The engine then drops the
// run and records nothing.
var ErrLeaseLost = errors.New("this server no longer holds the rotation run's lease")

// CredentialIssuer mints short-lived credentials for rotation functions
// (package auth implements it).
type CredentialIssuer interface {
	IssueTemporary(p rotor.Principal, ttl time.Duration) (accessKeyID, secretKey, sessionToken string, err error)
	// Temporary returns the principal the live credentials accessKeyID
	// authenticate as (its scope already compiled); false when unknown.
	Temporary(accessKeyID string) (rotor.Principal, bool)
	Revoke(accessKeyID string)
}

// Engine executes rotation runs: durable, one run per secret at a time
// (the store allows one active run per secret), at most Workers runs in
// their steps at once across secrets. It holds up to as many again: runs
// claimed ahead (so a free worker does not wait for a claim's commit), and
// runs storing their completion (a worker moves on once a run's last step
// returned). Offer lets the transaction that creates a run hand it to the
// engine already claimed.
//
// Several engines (one per server) may share a store. Each claims runs
// under its NodeID with a lease of LeaseTTL and renews the leases of the
// runs it holds every LeaseTTL/3, all in one transaction. A run whose
// lease another server took over (because it lapsed) is dropped at once:
// its invocation is cancelled and nothing more is recorded. An engine
// that cannot renew (the database is unreachable) cancels its invocations
// once less than half a TTL of their lease is left, so that they have
// stopped — given functions that honour cancellation within LeaseTTL/6 —
// before the lease lapses and another server may start the same step.
// Clocks of servers sharing a store must agree to well within that.
type Engine struct {
	Control     Controller
	Functions   *Registry
	Credentials CredentialIssuer
	// Endpoint returns the URL exec and http functions call back
	// (SECRETS_MANAGER_ENDPOINT).
	Endpoint func() string
	// Workers bounds the runs invoking their function at once; 0 = 8.
	Workers int
	// StepTimeout bounds one invocation of a built-in function (exec and
	// http functions have their own timeouts); 0 = 15 minutes.
	StepTimeout time.Duration
	// NodeID names this engine as the owner of the runs it claims; it
	// appears in logs and in the runs' Owner. "" = a random id made of the
	// host name, the process id and a random suffix (NodeID returns it).
	NodeID string
	// LeaseTTL is how long a claim on a run lasts unless renewed; 0 =
	// DefaultLeaseTTL. A run whose holder died is taken over by another
	// server within about this long.
	LeaseTTL time.Duration
	// Backoff returns the delay before attempt n+1 after attempt n failed;
	// nil = DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Failpoint, when set, is called at "before:<step>" (step not begun),
	// "invoked:<step>" (the function returned, so the target may have
	// changed, but the step is not recorded) and "after:<step>" (recorded,
	// or queued for the run's next durable record: see attempt) for every
	// step, so tests can stop or crash the server at an exact point.
	Failpoint func(point string)
	// PollInterval is how often Run looks for due runs without being woken;
	// 0 = 1s.
	PollInterval time.Duration
	Logger       *slog.Logger
	// Audit, when set, gets one record per step (see auditStep); a step
	// whose record cannot be kept (rotor.EUNAVAILABLE from Begin) is not
	// run, and the attempt fails and is retried like any failed step.
	Audit rotor.Auditor
	// Metrics, when set, is told about each step and each attempt's end.
	Metrics Metrics

	mu       sync.Mutex
	nodeID   string
	inflight map[string]*flight // run id → the run this engine holds
	queued   int                // runs in inflight waiting for a worker
	reserved int                // room promised by Offer, not yet taken
	base     context.Context    // Run's context while it runs
	stopping bool               // Run is returning: start nothing more
	slots    chan struct{}      // one token per worker invoking a function
	wake     chan struct{}
	wg       sync.WaitGroup
}

// DefaultLeaseTTL is the lease on a claimed run when Engine.LeaseTTL is 0.
const DefaultLeaseTTL = 30 * time.Second

// flight is a run this engine holds.
type flight struct {
	cancel context.CancelCauseFunc // stops its invocation
	until  time.Time               // the lease as last stored
}

// errCancelled is the cause of a run context that Cancel stopped.
var errCancelled = errors.New("the run was cancelled or abandoned")

// DefaultBackoff is exponential — 2 s, 4 s, 8 s, ... capped at 5 minutes —
// with full jitter in [d/2, d).
func DefaultBackoff(attempt int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 5*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)))
}

func (e *Engine) init() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight == nil {
		e.inflight = map[string]*flight{}
		e.wake = make(chan struct{}, 1)
		e.slots = make(chan struct{}, e.workers())
	}
	if e.nodeID == "" {
		e.nodeID = e.NodeID
		if e.nodeID == "" {
			e.nodeID = newNodeID()
		}
	}
}

// newNodeID returns "<host>-<pid>-<8 hex digits>": readable in logs,
// unique per process even when a restarted process reuses a pid.
func newNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "rotor"
	}
	var b [4]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
}

// ID returns the node id this engine claims runs under (NodeID, or the one
// generated for it).
func (e *Engine) ID() string {
	e.init()
	return e.nodeID
}

func (e *Engine) leaseTTL() time.Duration {
	if e.LeaseTTL > 0 {
		return e.LeaseTTL
	}
	return DefaultLeaseTTL
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (e *Engine) workers() int {
	if e.Workers > 0 {
		return e.Workers
	}
	return 8
}

// Wake makes Run look for due runs now (after RotateSecret stored one).
func (e *Engine) Wake() {
	e.init()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Cancel stops the in-flight invocation of run id, if this engine runs it.
// The Controller has already marked the run cancelled or abandoned.
func (e *Engine) Cancel(runID string) {
	e.stop(runID, errCancelled)
}

// stop cancels the invocation of run id, if this engine holds it, with
// cause.
func (e *Engine) stop(runID string, cause error) {
	e.init()
	e.mu.Lock()
	f := e.inflight[runID]
	e.mu.Unlock()
	if f != nil {
		f.cancel(cause)
	}
}

// RenewLeases renews, in one transaction, the leases of every run this
// engine holds, for LeaseTTL from now. It drops the runs it no longer
// holds (another server took them over, or they ended): their invocations
// are cancelled and nothing more of them is recorded. When the renewal
// fails it cancels the invocations of runs with less than half a LeaseTTL
// of lease left. Run and RunDue call it every LeaseTTL/3; tests call it
// with an injected clock.
func (e *Engine) RenewLeases(ctx context.Context) error {
	e.init()
	now := e.now()
	ttl := e.leaseTTL()
	e.mu.Lock()
	ids := make([]string, 0, len(e.inflight))
	for id := range e.inflight {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	until := now.Add(ttl)
	lost, err := e.Control.RenewLeases(ctx, e.nodeID, ids, until)
	if err != nil {
		e.mu.Lock()
		var expiring []string
		for id, f := range e.inflight {
			if !now.Before(f.until.Add(-ttl / 2)) {
				expiring = append(expiring, id)
			}
		}
		e.mu.Unlock()
		for _, id := range expiring {
			e.logger().Warn("rotation run lease about to lapse: stopping its invocation", "run_id", id, "owner", e.nodeID, "err", err)
			e.stop(id, ErrLeaseLost)
		}
		return fmt.Errorf("renew rotation run leases: %w", err)
	}
	gone := map[string]bool{}
	for _, id := range lost {
		gone[id] = true
	}
	e.mu.Lock()
	for _, id := range ids {
		if f := e.inflight[id]; f != nil && !gone[id] {
			f.until = until
		}
	}
	e.mu.Unlock()
	for _, id := range lost {
		e.logger().Info("rotation run no longer held by this server (taken over or ended): stopping it", "run_id", id, "owner", e.nodeID)
		e.stop(id, ErrLeaseLost)
	}
	return nil
}

// renewLoop calls RenewLeases every LeaseTTL/3 until ctx ends.
func (e *Engine) renewLoop(ctx context.Context) {
	t := time.NewTicker(e.leaseTTL() / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.RenewLeases(ctx); err != nil && ctx.Err() == nil {
				e.logger().Error("renew rotation run leases", "err", err)
			}
		}
	}
}

// Run recovers runs interrupted by a previous stop (see
// Controller.RecoverRuns), then executes due runs until ctx ends, renewing
// the leases of the runs it holds, and waits for the runs in flight to
// stop.
func (e *Engine) Run(ctx context.Context) error {
	e.init()
	if n, err := e.Control.RecoverRuns(ctx); err != nil {
		return fmt.Errorf("recover rotation runs: %w", err)
	} else if n > 0 {
		e.logger().Info("resuming interrupted rotation runs", "runs", n)
	}
	e.logger().Info("rotation engine started", "owner", e.nodeID, "lease_ttl", e.leaseTTL().String(), "workers", e.workers())
	renewCtx, stopRenew := context.WithCancel(ctx)
	defer stopRenew()
	go e.renewLoop(renewCtx)
	e.mu.Lock()
	e.base, e.stopping = ctx, false
	e.mu.Unlock()
	poll := e.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := e.start(ctx); err != nil && ctx.Err() == nil {
			e.logger().Error("claim rotation runs", "err", err)
		}
		select {
		case <-ctx.Done():
			e.mu.Lock()
			e.stopping, e.base = true, nil
			e.mu.Unlock()
			e.wg.Wait()
			return nil
		case <-e.wake:
		case <-t.C:
		}
	}
}

// Handoff is room in a running Engine for one run, promised to the
// transaction that creates the run (RotateSecret, a scheduled start) so
// that it can create the run already claimed — running, Owner and
// LeaseUntil as the Handoff says — and the engine starts it as soon as
// that transaction committed, without waiting for its next look for due
// runs and a claim of its own. Exactly one of Take and Release must
// follow.
type Handoff struct {
	Owner string
	Until time.Time
	e     *Engine
	once  sync.Once
}

// Offer returns a Handoff when the engine is running (Run) and has room
// for another run, else nil: the run is then created pending, and claimed
// as usual.
func (e *Engine) Offer() *Handoff {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.base == nil || e.stopping || len(e.inflight)+e.reserved >= e.capacity() {
		return nil
	}
	e.reserved++
	return &Handoff{Owner: e.nodeID, Until: e.now().Add(e.leaseTTL()), e: e}
}

// Take starts run, which a committed transaction created running and held
// as h says. An engine that stopped meanwhile leaves it: its lease lapses
// and it is taken over (or recovered at the next start).
func (h *Handoff) Take(run rotor.RunRecord) {
	h.once.Do(func() {
		e := h.e
		e.mu.Lock()
		e.reserved--
		base := e.base
		e.mu.Unlock()
		if base != nil {
			e.observeLag(run) // claimed by its creating transaction: the claim of this attempt
			e.launch(base, run)
		}
	})
}

// Release gives the room back: no run was created with it.
func (h *Handoff) Release() {
	h.once.Do(func() {
		h.e.mu.Lock()
		h.e.reserved--
		h.e.mu.Unlock()
	})
}

// RunDue claims every run that is due now and executes them, at most
// Workers at a time, returning when none is due and none is in flight.
// Tests call it with an injected clock instead of running the loop.
func (e *Engine) RunDue(ctx context.Context) (int, error) {
	e.init()
	e.mu.Lock()
	e.stopping = false // a Run that ended before does not stop this one
	e.mu.Unlock()
	renewCtx, stopRenew := context.WithCancel(ctx)
	defer stopRenew()
	go e.renewLoop(renewCtx)
	total := 0
	for {
		n, err := e.start(ctx)
		total += n
		if err != nil {
			e.wg.Wait()
			return total, err
		}
		if n > 0 {
			continue
		}
		e.mu.Lock()
		busy := len(e.inflight)
		e.mu.Unlock()
		if busy == 0 {
			return total, nil
		}
		select { // a finishing run wakes us; then look again
		case <-e.wake:
		case <-ctx.Done():
			e.wg.Wait()
			return total, ctx.Err()
		}
	}
}

// capacity is how many runs the engine holds at once: Workers invoking
// functions, and as many again claimed ahead, waiting for a worker, or
// storing their completion (a worker is free again once its run's last
// step returned). Claiming ahead keeps the claim's commit off a worker's
// path; the leases keep runs claimed ahead from other servers, which take
// them over if this one dies.
func (e *Engine) capacity() int { return 2 * e.workers() }

// start claims due runs up to the engine's capacity and starts them. While
// runs wait for a worker it claims only once half a batch (Workers/2) is
// free, so that claims come in batches rather than one commit per run.
func (e *Engine) start(ctx context.Context) (int, error) {
	e.mu.Lock()
	free := e.capacity() - len(e.inflight) - e.reserved
	queued := e.queued
	e.mu.Unlock()
	if free <= 0 || (queued > 0 && free < (e.workers()+1)/2) {
		return 0, nil
	}
	now := e.now()
	runs, err := e.Control.ClaimRuns(ctx, e.nodeID, now, now.Add(e.leaseTTL()), free, func(id string) bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		_, busy := e.inflight[id]
		return busy
	})
	if err != nil {
		return 0, err
	}
	for _, run := range runs {
		e.observeLag(run)
		e.launch(ctx, run)
	}
	return len(runs), nil
}

// launch executes run, which this engine holds, once a worker is free.
func (e *Engine) launch(ctx context.Context, run rotor.RunRecord) {
	runCtx, cancel := context.WithCancelCause(ctx)
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		cancel(nil)
		return
	}
	e.inflight[run.ID] = &flight{cancel: cancel, until: run.LeaseUntil}
	e.queued++
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.inflight, run.ID)
			e.mu.Unlock()
			cancel(nil)
			e.Wake()
		}()
		select {
		case e.slots <- struct{}{}:
		case <-runCtx.Done():
			// Cancelled, taken over or stopping before it started: nothing
			// of it was done, nothing is recorded.
			e.mu.Lock()
			e.queued--
			e.mu.Unlock()
			e.observeAttempt(AttemptStopped)
			return
		}
		e.mu.Lock()
		e.queued--
		e.mu.Unlock()
		var once sync.Once
		release := func() { once.Do(func() { <-e.slots }) }
		defer release()
		e.execute(runCtx, run, release)
	}()
}

// errStopped means the run was cancelled or abandoned under the engine.
var errStopped = errors.New("run stopped")

// finalError is an attempt's failure that no retry can cure: the run
// fails at once, whatever attempts are left.
type finalError struct{ msg string }

func (e *finalError) Error() string { return e.msg }

// stopped returns why the run must stop when err, a Controller's answer,
// says so: err itself when it wraps ErrLeaseLost (the run is no longer
// this engine's), errStopped for any other ESTATE (cancelled, abandoned,
// gone); nil otherwise.
func stopped(err error) error {
	switch {
	case rotor.ErrorCode(err) != rotor.ESTATE:
		return nil
	case errors.Is(err, ErrLeaseLost):
		return err
	}
	return errStopped
}

// interrupted returns why ctx, a run's context, ended: ErrLeaseLost when
// RenewLeases dropped the run, else errStopped.
func interrupted(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), ErrLeaseLost) {
		return ErrLeaseLost
	}
	return errStopped
}

// execute performs one attempt of run, from its recorded step. It calls
// release once no more function of the run will be invoked, before the
// attempt's last commits.
func (e *Engine) execute(ctx context.Context, run rotor.RunRecord, release func()) {
	log := e.logger().With("run_id", run.ID, "secret", run.SecretARN, "attempt", run.Attempt)
	err := e.attempt(ctx, run, log, release)
	release()
	switch {
	case err == nil:
		e.observeAttempt(AttemptSucceeded)
		return
	case errors.Is(err, ErrLeaseLost):
		// Another server holds the run (or may take it at any moment): it
		// resumes from the durable record, which this attempt no longer
		// touches.
		log.Warn("rotation run dropped: this server no longer holds its lease; nothing recorded", "owner", e.nodeID, "err", err)
		e.observeAttempt(AttemptStopped)
		return
	case errors.Is(err, errStopped):
		e.observeAttempt(AttemptStopped)
		return
	}
	// The error text is already scrubbed.
	bg := context.WithoutCancel(ctx)
	var final *finalError
	if run.Attempt >= run.MaxAttempts || errors.As(err, &final) {
		log.Warn("rotation failed", "err", err)
		ferr := e.Control.FailRun(bg, e.nodeID, run.ID, err.Error())
		if ferr != nil {
			e.logStopped(log, "record failed run", ferr)
		}
		e.observeAttempt(recorded(AttemptFailed, ferr))
		return
	}
	backoff := e.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	next := e.now().Add(backoff(run.Attempt))
	log.Info("rotation attempt failed; will retry", "err", err, "next_attempt", next)
	rerr := e.Control.RetryRun(bg, e.nodeID, run.ID, next, err.Error())
	if rerr != nil {
		e.logStopped(log, "schedule retry", rerr)
	}
	e.observeAttempt(recorded(AttemptRetried, rerr))
}

// recorded is the result to count for an attempt whose outcome, result,
// the Controller was asked to record with answer err: result once it is
// recorded; AttemptStopped when it was not (the run was stopped or taken
// over meanwhile, or the write failed, and its lease then lets another
// attempt take it up), so the counts say what the runs' records say.
func recorded(result string, err error) string {
	if err != nil {
		return AttemptStopped
	}
	return result
}

// logStopped logs err, a Controller's answer to what, unless it says the
// run was cancelled or abandoned meanwhile (nothing to report).
func (e *Engine) logStopped(log *slog.Logger, what string, err error) {
	switch cause := stopped(err); {
	case cause == nil:
		log.Error(what, "err", err)
	case errors.Is(cause, ErrLeaseLost):
		log.Warn(what+": this server no longer holds the run's lease; nothing recorded", "owner", e.nodeID, "err", err)
	}
}

// attempt runs the remaining steps of run and completes it. The returned
// error is scrubbed of secret values; it wraps ErrLeaseLost when this
// engine lost the run, and is errStopped when the run was stopped.
func (e *Engine) attempt(ctx context.Context, run rotor.RunRecord, log *slog.Logger, release func()) error {
	fn, err := e.Functions.Lookup(run.Region, run.FunctionARN)
	if err != nil {
		return errors.New(rotor.ErrorMessage(err))
	}
	// The credentials' scope comes from what the server stored when rotation
	// was configured, never from a value the function can write.
	master, err := e.Control.BoundMaster(ctx, run)
	if rotor.ErrorCode(err) == rotor.EPRECONDITION {
		return &finalError{rotor.ErrorMessage(err)}
	} else if err != nil {
		return fmt.Errorf("read secret: %s", rotor.ErrorMessage(err))
	}
	base, _, err := e.Control.RunSecrets(ctx, run)
	if err != nil {
		return fmt.Errorf("read secret: %s", rotor.ErrorMessage(err))
	}
	values := &runValues{seen: map[string]bool{}}
	values.add(base)
	scrub := values.scrubber()

	principal := rotor.Principal{Identity: "rotation/" + run.ID, Role: rotor.RoleScoped,
		Scope: rotor.RotationScope(run.SecretARN, master)}
	timeout := e.StepTimeout
	if timeout <= 0 {
		timeout = 15 * time.Minute
	}
	id, secret, token, err := e.Credentials.IssueTemporary(principal, 4*timeout+time.Minute)
	if err != nil {
		return fmt.Errorf("issue temporary credentials: %s", rotor.ErrorMessage(err))
	}
	defer e.Credentials.Revoke(id)
	if issued, ok := e.Credentials.Temporary(id); ok {
		principal = issued // built-ins act as the credentials do, scope compiled once
	} else {
		principal.AccessKeyID = id
	}
	endpoint := ""
	if e.Endpoint != nil {
		endpoint = e.Endpoint()
	}

	// Step records are made durable in batches, so a run costs few
	// commits: the outcomes of createSecret and setSecret in one commit
	// (after setSecret, the step that changes the target, so a crash after
	// it resumes at testSecret), those of testSecret and finishSecret with
	// the completion in another, and a failed step's at once. The record
	// after setSecret is written while testSecret runs (it only tells a
	// restarted server where to resume) and waited for before the next
	// step. Until its record is durable, the run's durable state names the
	// earliest step not recorded, and a crash resumes there: the rotation
	// protocol makes every step safe to run again.
	steps := stepsFrom(run)
	var unrecorded []rotor.StepRecord
	lost := false              // this engine no longer holds the run: record nothing
	var recording <-chan error // the record being written meanwhile, if any
	settle := func() error {   // waits for it
		if recording == nil {
			return nil
		}
		err := <-recording
		recording = nil
		if cause := stopped(err); cause != nil {
			return cause
		} else if err != nil {
			return fmt.Errorf("record step: %s", rotor.ErrorMessage(err))
		}
		return nil
	}
	// stop ends the attempt with cause (see stopped and interrupted).
	stop := func(cause error) error {
		if errors.Is(cause, ErrLeaseLost) {
			lost = true
		}
		return cause
	}
	defer func() {
		if err := settle(); errors.Is(err, ErrLeaseLost) {
			lost = true
		}
		// The attempt ended before its records were stored (stopped, or
		// completion failed and stored nothing): keep the history of what
		// the steps did. EndSteps keeps them even for a stopped run, and
		// stores nothing for a run this engine lost.
		if len(unrecorded) > 0 && !lost {
			if err := e.Control.EndSteps(context.WithoutCancel(ctx), e.nodeID, unrecorded, ""); err != nil && stopped(err) == nil {
				log.Warn("record steps", "err", rotor.ErrorMessage(err))
			}
		}
	}()
	for i, step := range steps {
		e.failpoint("before:" + step)
		started := e.now()
		audited, err := e.auditBegin(ctx)
		if err != nil {
			return fmt.Errorf("%s: %s", step, rotor.ErrorMessage(err))
		}
		audit := func(code, msg string) {
			e.auditStep(run, step, started, code, msg, audited)
			e.observeStep(step, code, started)
		}
		if recording == nil {
			// Check the run is still active and this engine's. The durable
			// state names the earliest unrecorded step, so BeginStep only
			// reads.
			durable := step
			if len(unrecorded) > 0 {
				durable = unrecorded[0].Step
			}
			if err := e.Control.BeginStep(ctx, e.nodeID, run.ID, durable, run.Attempt, started); err != nil {
				if cause := stopped(err); cause != nil {
					audit(auditRunStopped, stopMessage(cause, "before the step started"))
					return stop(cause)
				}
				if ctx.Err() != nil {
					cause := interrupted(ctx)
					audit(auditRunStopped, stopMessage(cause, "before the step started"))
					return stop(cause)
				}
				audit(auditStepFailed, "record step: "+rotor.ErrorMessage(err))
				return fmt.Errorf("record step: %s", rotor.ErrorMessage(err))
			}
		}
		// Otherwise the record being written checks that as it commits;
		// it is waited for after this step.
		stepCtx, cancel := context.WithTimeout(rotor.NewContext(ctx, rotor.Caller{
			Principal: principal, Region: run.Region, RequestID: run.ID + "/" + step,
		}), timeout)
		// After the step, scrub what could be read then too (createSecret
		// adds AWSPENDING, finishSecret moves AWSPREVIOUS), plus all read
		// before. The function asks for it before it cuts its output;
		// the engine asks afterwards; it is read once.
		stepScrubber := sync.OnceValue(func() *Scrubber {
			if v, _, err := e.Control.RunSecrets(context.WithoutCancel(ctx), run); err == nil {
				values.add(v)
			} else {
				log.Warn("read secret values to scrub", "step", step, "err", rotor.ErrorMessage(err))
			}
			return values.scrubber()
		})
		res, ierr := fn.Invoke(stepCtx, lambda.Invocation{
			Event:       lambda.Event{Step: step, SecretID: run.SecretARN, ClientRequestToken: run.Token, RotationToken: run.ID},
			Region:      run.Region,
			Endpoint:    endpoint,
			Credentials: lambda.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token},
			Scrubber:    stepScrubber,
			Master:      master,
		})
		cancel()
		e.failpoint("invoked:" + step)
		if ctx.Err() != nil {
			// Cancelled under us: the Controller already recorded why, or
			// another server holds the run now.
			cause := interrupted(ctx)
			audit(auditRunStopped, stopMessage(cause, "during the step"))
			return stop(cause)
		}
		scrub = stepScrubber()
		rec := rotor.StepRecord{RunID: run.ID, Step: step, Attempt: run.Attempt, Started: started,
			Duration: e.now().Sub(started), Outcome: "ok", Output: scrub.Scrub(res.Output)}
		next := ""
		if i+1 < len(steps) {
			next = steps[i+1]
		}
		if ierr != nil {
			rec.Outcome, rec.Error = "error", scrub.Scrub(errorText(ierr))
			next = step
		}
		if ierr != nil {
			audit(auditStepFailed, rec.Error)
		} else {
			audit("", "")
		}
		unrecorded = append(unrecorded, rec)
		if err := settle(); err != nil {
			return stop(err)
		}
		switch {
		case ierr != nil:
			err := e.Control.EndSteps(context.WithoutCancel(ctx), e.nodeID, unrecorded, next)
			unrecorded = nil
			if cause := stopped(err); cause != nil {
				return stop(cause)
			} else if err != nil {
				return fmt.Errorf("record step: %s", rotor.ErrorMessage(err))
			}
		case step == rotor.StepSet && next != "":
			recs, done := unrecorded, make(chan error, 1)
			unrecorded, recording = nil, done
			go func() { done <- e.Control.EndSteps(context.WithoutCancel(ctx), e.nodeID, recs, next) }()
		}
		e.failpoint("after:" + step)
		if ierr != nil {
			log.Info("rotation step failed", "step", step, "err", rec.Error)
			return fmt.Errorf("%s: %s", step, rec.Error)
		}
		log.Info("rotation step done", "step", step, "duration_ms", rec.Duration.Milliseconds())
	}
	release() // the functions are done; the completion need not hold a worker
	if err := settle(); err != nil {
		return stop(err)
	}
	if err := e.Control.CompleteRunWith(context.WithoutCancel(ctx), e.nodeID, run.ID, unrecorded); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			return stop(err)
		}
		if rotor.ErrorCode(err) == rotor.ESTATE && ctx.Err() != nil {
			return errStopped
		}
		return errors.New(scrub.Scrub(rotor.ErrorMessage(err)))
	}
	unrecorded = nil
	log.Info("rotation succeeded")
	return nil
}

// stopMessage is the audit message of a step stopped because of cause,
// when (e.g. "during the step").
func stopMessage(cause error, when string) string {
	if errors.Is(cause, ErrLeaseLost) {
		return "This server no longer holds the run's lease " + when + "; another server resumes it."
	}
	return "The run was cancelled or abandoned " + when + "."
}

// runValues accumulates the secret values a run could read, so a value
// that loses its label during the run (AWSPREVIOUS at finishSecret) is
// still scrubbed from later steps. Its Scrubber is built again only when
// a value was added: most steps add none.
type runValues struct {
	mu   sync.Mutex
	seen map[string]bool
	list []string
	sc   *Scrubber // for list; nil when a value was added since
}

func (r *runValues) add(vs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vs {
		if !r.seen[v] {
			r.seen[v] = true
			r.list = append(r.list, v)
			r.sc = nil
		}
	}
}

func (r *runValues) scrubber() *Scrubber {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sc == nil {
		r.sc = NewScrubber(r.list...)
	}
	return r.sc
}

func (e *Engine) failpoint(point string) {
	if e.Failpoint != nil {
		e.Failpoint(point)
	}
}

// stepsFrom returns the steps run still has to do.
func stepsFrom(run rotor.RunRecord) []string {
	if run.Kind == rotor.RunTestOnly {
		return []string{rotor.StepTest}
	}
	for i, s := range rotor.Steps {
		if s == run.Step {
			return rotor.Steps[i:]
		}
	}
	return rotor.Steps
}

// errorText is the text of a function's error for the run history: the
// message of a *rotor.Error (with its cause when that adds something),
// else the error's own text.
func errorText(err error) string {
	var re *rotor.Error
	if !errors.As(err, &re) {
		return err.Error()
	}
	msg := re.Message
	if re.Err != nil && !strings.Contains(msg, re.Err.Error()) {
		msg += ": " + re.Err.Error()
	}
	return msg
}
