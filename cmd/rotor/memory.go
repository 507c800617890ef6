package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"
)

// GC settings of `rotor server` (docs/config.md, "Memory").
const (
	// serverGCPercent is GOGC unless the environment sets it. Requests
	// allocate little and briefly; collecting at 4× the live heap instead
	// of 2× saves about 10% of CPU on the read path (docs/benchmarks.md).
	serverGCPercent = 400
	// memoryHeadroom is added to cache.max_bytes to make the soft memory
	// limit (GOMEMLIMIT) unless the environment sets one: GOGC=400 alone
	// would let a heap holding a full cache grow to 5× the cache before a
	// collection; the limit makes the collector run earlier instead. The
	// process's memory outside the Go heap (SQLite's page caches, stacks,
	// the binary) adds about 25 MiB, so RSS stays under cache.max_bytes +
	// 150 MiB (docs/benchmarks.md).
	memoryHeadroom = 96 << 20
)

// gcSettings returns the GC percent and soft memory limit the server
// applies, each -1 when the environment (GOGC, GOMEMLIMIT) already decides.
func gcSettings(cacheMaxBytes int64, getenv func(string) string) (percent int, limit int64) {
	percent, limit = -1, -1
	if getenv(envGOGC) == "" {
		percent = serverGCPercent
	}
	if getenv(envGOMEMLIMIT) == "" {
		limit = cacheMaxBytes + memoryHeadroom
	}
	return percent, limit
}

// applyGC applies gcSettings to the runtime.
func applyGC(cacheMaxBytes int64, getenv func(string) string) {
	percent, limit := gcSettings(cacheMaxBytes, getenv)
	if percent >= 0 {
		debug.SetGCPercent(percent)
	}
	if limit >= 0 {
		debug.SetMemoryLimit(limit)
	}
}

// debugServer serves net/http/pprof, and metrics (if not nil) at /metrics,
// on addr, which Config.Validate has checked is loopback. It returns once
// listening.
func debugServer(addr string, metrics http.Handler) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("debug_listen: %w", err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !isLoopback(host) {
		ln.Close()
		return nil, nil, fmt.Errorf("debug_listen %q resolved to %s, which is not loopback", addr, ln.Addr())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener closed under us: nothing to do
		}
	}()
	return srv, ln, nil
}

// closeDebug stops the debug server, if any.
func closeDebug(srv *http.Server) error {
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}
