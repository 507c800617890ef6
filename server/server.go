// Package server wires Rotor's pieces — the authenticator, the secrets
// service, the rotation engine and scheduler, the admin service and the wire
// handler — over an opened rotor.Store and keyring into a running server
// core. It is the one place that wiring happens: cmd/rotor, the benchmarks
// and the test helpers all build a server with New, so a storage backend is
// one package plus one switch in cmd/rotor.
//
// What is about one machine stays in cmd/rotor: the data directory and its
// lock, opening the store and the keyring, the audit file, first-start
// admin creation, listeners and TLS.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/audit"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/awsapi"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/internal/metrics"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/builtins"
	"github.com/rotorhq/rotor/rotation/rotorkeys"
)

// Options configures a server core. Store, Keyring and Regions are
// required; every other field has a working zero value.
type Options struct {
	// Store is the opened store. The Server uses it but does not close it.
	Store rotor.Store
	// Keyring holds the key-encryption keys; it must have every key that
	// wraps a data key in Store (cmd/rotor checks that before New).
	Keyring *envelope.Keyring
	// KeyFile is where RotateKeys and RetireKey save the keyring; "" when
	// the keyring came from an environment variable (they are then refused).
	KeyFile string
	// ReloadKeyring, when not nil, reads the key file again into Keyring;
	// RotateKeys calls it first, to find a key staged there.
	ReloadKeyring func() error
	// BackupDir is the one directory rotor.Backup writes into ("" refuses
	// it); ScratchDir is where rotor.DownloadBackup takes its snapshots
	// ("" = the system's temporary directory). See admin.Config.
	BackupDir  string
	ScratchDir string
	// Regions served; the first is the default. Account is the 12-digit
	// account id in ARNs ("" = auth.DefaultAccount).
	Regions []string
	Account string

	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Audit, when not nil, is the audit log every request and rotation step
	// is recorded in (the Server does not close it); nil = no auditing.
	Audit *audit.Log
	// Metrics, when not nil, is told about requests, the cache, the audit
	// log, rotations and the store (every transaction is timed, and the
	// stored runs are counted at each scrape); nil = none.
	Metrics *metrics.Metrics
	// MetricsOnHandler serves Metrics at GET /metrics on Handler too.
	MetricsOnHandler bool

	// PruneMinAge is manager.Config.PruneMinAge (0 = 24 h).
	PruneMinAge time.Duration
	// CacheMaxBytes is manager.Config.CacheMaxBytes (0 = the default,
	// negative = no cache).
	CacheMaxBytes int64
	// PreloadCache makes Start read secrets into the cache in the
	// background until it is full (manager.Service.PreloadCache), so the
	// first read of each does not go to the store. Stores without
	// rotor.SecretScanner are not pre-read.
	PreloadCache bool
	// PurgeInterval is how often secrets past their recovery window are
	// purged; 0 = one minute.
	PurgeInterval time.Duration
	// SharedCacheMaxAge bounds how long a cached secret or access key is
	// used after it was read, when Store is shared with other servers (it
	// implements rotor.ChangeFeed): notifications of their writes can be
	// lost, and this bounds the staleness then. 0 =
	// DefaultSharedCacheMaxAge. Ignored for a store that is not shared.
	SharedCacheMaxAge time.Duration
	// RelaxedSharedReads, with a store shared by other servers, serves
	// requests from the caches at once instead of first waiting until this
	// server has applied every change committed before the request arrived
	// (rotor.ChangeSyncer). Relaxed, a client that writes through another
	// server may read its write back stale for as long as that server's
	// notification takes to arrive (normally well under a millisecond; at
	// most SharedCacheMaxAge when it is lost).
	RelaxedSharedReads bool

	Rotation RotationOptions

	// RegisterFunctions, when not nil, registers the operator's rotation
	// functions after the built-in ones.
	RegisterFunctions func(*rotation.Registry) error
}

// RotationOptions configures the rotation engine and scheduler.
type RotationOptions struct {
	// Workers bounds concurrent runs (0 = 8); MaxAttempts is the attempts a
	// run gets before it fails (0 = 5).
	Workers     int
	MaxAttempts int
	// ScheduleInterval is how often the scheduler looks for due rotations;
	// 0 = one minute.
	ScheduleInterval time.Duration
	// LeaseTTL is how long the engine's claim on a run lasts unless
	// renewed (rotation.Engine.LeaseTTL); 0 = rotation.DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Endpoint returns the URL exec and http functions call back; nil = no
	// endpoint (only built-in functions work).
	Endpoint func() string
	// Failpoint is rotation.Engine.Failpoint (tests only).
	Failpoint func(point string)
}

// DefaultSharedCacheMaxAge is Options.SharedCacheMaxAge when it is 0.
const DefaultSharedCacheMaxAge = 5 * time.Second

// Server is a wired server core. Its fields are the pieces, for callers
// that need one directly (first-start admin creation, benchmarks, tests);
// they must not be replaced.
type Server struct {
	Auth     *auth.Service
	Manager  *manager.Service
	Registry *rotation.Registry
	Engine   *rotation.Engine
	Admin    *admin.Service
	// Mux serves Handler: GET /health, GET /metrics when asked, and the AWS
	// API at /. Callers may add routes before they serve it.
	Mux *http.ServeMux

	opts    Options
	feed    rotor.ChangeFeed // nil for a store no other server shares
	barrier *barrier         // nil unless requests wait for the feed to catch up
	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New wires a server core over opts.Store. It starts nothing: call Start to
// run the background work (rotation engine, scheduler, purger), and serve
// Handler.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Store == nil || opts.Keyring == nil {
		return nil, errors.New("server: Store and Keyring are required")
	}
	if len(opts.Regions) == 0 {
		return nil, errors.New("server: at least one region is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Account == "" {
		opts.Account = auth.DefaultAccount
	}
	if opts.PurgeInterval <= 0 {
		opts.PurgeInterval = time.Minute
	}
	if opts.Rotation.ScheduleInterval <= 0 {
		opts.Rotation.ScheduleInterval = time.Minute
	}
	var auditor rotor.Auditor // a nil interface when auditing is off
	if opts.Audit != nil {
		auditor = opts.Audit
	}
	s := &Server{opts: opts}
	var maxAge time.Duration // caches are trusted until invalidated
	if feed, ok := opts.Store.(rotor.ChangeFeed); ok {
		s.feed = feed
		maxAge = opts.SharedCacheMaxAge
		if maxAge <= 0 {
			maxAge = DefaultSharedCacheMaxAge
		}
	}
	// Every transaction of the server goes through store, which times it
	// when there are metrics (whatever the backend).
	store := opts.Store
	if opts.Metrics != nil {
		store = opts.Metrics.InstrumentStore(opts.Store)
	}
	s.Auth = auth.New(auth.Config{Store: store, Keyring: opts.Keyring, Regions: opts.Regions, Account: opts.Account,
		CacheMaxAge: maxAge})
	// The engine and the manager know each other: the manager wakes the
	// engine when it queues a run and stops it when a run is cancelled; the
	// engine drives runs through the manager.
	s.Registry = rotation.NewRegistry(opts.Account)
	s.Engine = &rotation.Engine{
		Functions:   s.Registry,
		Credentials: s.Auth,
		Workers:     opts.Rotation.Workers,
		LeaseTTL:    opts.Rotation.LeaseTTL,
		Endpoint:    opts.Rotation.Endpoint,
		Failpoint:   opts.Rotation.Failpoint,
		Logger:      opts.Logger,
		Audit:       auditor,
	}
	if opts.Metrics != nil {
		s.Engine.Metrics = opts.Metrics
	}
	s.Manager = manager.New(manager.Config{
		Store:         store,
		Keyring:       opts.Keyring,
		Authorizer:    s.Auth,
		Account:       opts.Account,
		PruneMinAge:   opts.PruneMinAge,
		Logger:        opts.Logger,
		CacheMaxBytes: opts.CacheMaxBytes,
		CacheMaxAge:   maxAge,

		Functions:    s.Registry,
		MaxAttempts:  opts.Rotation.MaxAttempts,
		OnRunQueued:  s.Engine.Wake,
		OnRunStopped: s.Engine.Cancel,
		OfferRun:     s.Engine.Offer,
	})
	s.Engine.Control = s.Manager
	builtins.Register(s.Registry, s.Manager, rotorkeys.Service{Auth: s.Auth})
	if opts.RegisterFunctions != nil {
		if err := opts.RegisterFunctions(s.Registry); err != nil {
			return nil, err
		}
	}
	s.Admin = admin.New(admin.Config{
		Auth:       s.Auth,
		Store:      store,
		Keyring:    opts.Keyring,
		KeyFile:    opts.KeyFile,
		BackupDir:  opts.BackupDir,
		ScratchDir: opts.ScratchDir,
		OnRewrap:   s.Manager.InvalidateCache,
		Reload:     opts.ReloadKeyring,
		Shared:     s.feed != nil,
		Logger:     opts.Logger,
	})

	api := &awsapi.Handler{Secrets: s.Manager, Admin: s.Admin, Rotation: s.Manager, Runs: s.Manager, Auth: s.Auth,
		Logger: opts.Logger, Audit: auditor}
	if opts.Metrics != nil {
		api.Metrics = opts.Metrics
		opts.Metrics.AddCache(s.Manager.CacheStats)
		opts.Metrics.AddRuns(opts.Store, nil)
		if opts.Audit != nil {
			opts.Metrics.AddAudit(opts.Audit.Stats)
		}
	}
	s.Mux = http.NewServeMux()
	s.Mux.HandleFunc("GET /health", s.health)
	if opts.MetricsOnHandler && opts.Metrics != nil {
		s.Mux.Handle("GET /metrics", opts.Metrics.Handler())
	}
	var h http.Handler = api
	if syncer, ok := opts.Store.(rotor.ChangeSyncer); ok && s.feed != nil && !opts.RelaxedSharedReads {
		s.barrier = &barrier{sync: syncer.Sync}
		h = s.synced(api)
	}
	s.Mux.Handle("/", h)
	return s, nil
}

// barrierTimeout bounds one wait for the change feed to catch up.
const barrierTimeout = 2 * time.Second

// synced serves h once this server has applied every change to the shared
// store committed before the request arrived, so that what it answers from
// its caches is at least as new as any write acknowledged by any server
// before then. When that cannot be known (the feed is not listening, or
// takes longer than barrierTimeout) it serves anyway: the caches' maximum
// age bounds how stale a read can be then.
func (s *Server) synced(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.barrier.wait(r.Context()); err != nil && r.Context().Err() == nil {
			s.opts.Logger.Debug("serving without knowing the change feed caught up", "err", err)
		}
		h.ServeHTTP(w, r)
	})
}

// Handler is what a listener serves: the AWS API, /health and, when asked,
// /metrics.
func (s *Server) Handler() http.Handler { return s.Mux }

// Start runs the background work until Close: the rotation engine, the
// scheduler, the purger of secrets past their recovery window and, for a
// shared store, the watcher that drops what the caches hold of other
// servers' writes. Calls after the first do nothing.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.feed != nil {
		s.goBackground(func() { s.watch(bg) })
	}
	s.goBackground(func() { s.Manager.RunPurger(bg, s.opts.PurgeInterval) })
	if s.opts.PreloadCache {
		s.goBackground(func() { s.preload(bg) })
	}
	s.goBackground(func() {
		if err := s.Engine.Run(bg); err != nil {
			s.opts.Logger.Error("rotation engine", "err", err)
		}
	})
	s.goBackground(func() {
		// One scheduler scans at a time among the servers sharing the store.
		sched := &rotation.Scheduler{Secrets: s.Manager, Wake: s.Engine.Wake, Logger: s.opts.Logger, Owner: s.Engine.ID()}
		sched.Run(bg, s.opts.Rotation.ScheduleInterval)
	})
}

// preload fills the manager's cache from the store and logs what it did.
func (s *Server) preload(ctx context.Context) {
	start := time.Now()
	st, err := s.Manager.PreloadCache(ctx)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		s.opts.Logger.Error("preload cache", "err", err, "secrets", st.Cached)
	case st.Scanned > 0:
		s.opts.Logger.Info("cache preloaded", "secrets", st.Cached, "read", st.Scanned, "bytes", st.Bytes,
			"full", st.Full, "took", time.Since(start).Round(time.Millisecond))
	}
}

func (s *Server) goBackground(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// watch applies the store's change feed to the caches until ctx ends. When
// the feed fails it drops every cache (changes may have been missed while
// it was down) and subscribes again after a pause that doubles up to
// maxWatchPause; meanwhile the caches' maximum age bounds how stale a read
// can be.
func (s *Server) watch(ctx context.Context) {
	pause := minWatchPause
	for {
		start := time.Now()
		err := s.feed.Watch(ctx, s.apply)
		if ctx.Err() != nil {
			return
		}
		s.apply(rotor.Change{All: true})
		if time.Since(start) > maxWatchPause {
			pause = minWatchPause // it ran a while: a fresh failure
		}
		s.opts.Logger.Warn("change feed lost; caches dropped, subscribing again", "err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxWatchPause)
	}
}

// Pauses between subscriptions to a failing change feed.
const (
	minWatchPause = 100 * time.Millisecond
	maxWatchPause = 5 * time.Second
)

// apply drops what the caches hold of one change.
func (s *Server) apply(c rotor.Change) {
	if c.All {
		s.Manager.InvalidateCache()
		s.Auth.InvalidateCache()
		return
	}
	if c.SecretARN != "" {
		s.Manager.InvalidateSecret(c.SecretARN)
	}
	if c.Auth {
		s.Auth.InvalidateCache()
	}
}

// Close stops the background work, waiting for it, and writes the
// LastAccessedDates still noted in memory. It does not close the store or
// the audit log. Stop serving Handler first.
func (s *Server) Close() error {
	s.mu.Lock()
	cancel := s.cancel
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		s.wg.Wait()
	}
	// Access dates noted by the last reads (see manager/access.go).
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	return s.Manager.FlushAccessDates(ctx)
}

// health answers GET /health: {"status":"ok"} and, with auditing on, the
// audit log's counters; the status is "degraded" while the audit log
// cannot be written.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.opts.Audit == nil {
		io.WriteString(w, `{"status":"ok","audit":{"enabled":false}}`)
		return
	}
	st := s.opts.Audit.Stats()
	status := "ok"
	if !st.Healthy {
		status = "degraded"
	}
	fmt.Fprintf(w, `{"status":%q,"audit":{"enabled":true,"healthy":%t,"written":%d,"dropped":%d,"refused":%d,"failures":%d}}`,
		status, st.Healthy, st.Written, st.Dropped, st.Refused, st.Failures)
}
