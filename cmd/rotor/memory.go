package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor/internal/sysmem"
	"github.com/rotorhq/rotor/manager"
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

// maxLimitShare bounds the soft memory limit to this share (in percent)
// of the memory available to the process: in a small container, the
// budget plus memoryHeadroom could exceed the container's limit, and the
// kernel would kill the server before the collector worked harder.
const maxLimitShare = 85

// gcSettings returns the GC percent and soft memory limit the server
// applies, each -1 when the environment (GOGC, GOMEMLIMIT) already decides;
// avail is the memory available to the process (ok false: unknown).
func gcSettings(cacheMaxBytes int64, avail sysmem.Limit, ok bool, getenv func(string) string) (percent int, limit int64) {
	percent, limit = -1, -1
	if getenv(envGOGC) == "" {
		percent = serverGCPercent
	}
	if getenv(envGOMEMLIMIT) == "" {
		limit = cacheMaxBytes + memoryHeadroom
		if ok {
			limit = min(limit, avail.Bytes/100*maxLimitShare)
		}
	}
	return percent, limit
}

// applyGC applies gcSettings to the runtime.
func applyGC(cacheMaxBytes int64, getenv func(string) string) {
	avail, ok := sysmem.Available()
	percent, limit := gcSettings(cacheMaxBytes, avail, ok, getenv)
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

// defaultCacheBudget is the default cache.max_bytes: the manager's
// (a quarter of the memory available), but when the environment sets a
// soft memory limit (GOMEMLIMIT, which then replaces the server's), no
// more than that limit less memoryHeadroom, at least 16 MiB: a cache
// bigger than the limit lets the collector run without end.
func defaultCacheBudget(getenv func(string) string) int64 {
	n := manager.DefaultCacheMaxBytes()
	if limit, ok := parseMemLimit(getenv(envGOMEMLIMIT)); ok {
		n = min(n, max(limit-memoryHeadroom, 16<<20))
	}
	return n
}

// parseMemLimit parses a GOMEMLIMIT value as the Go runtime does: a
// number of bytes with an optional unit (B, KiB, MiB, GiB, TiB); ok is
// false for "off", "" or anything the runtime would not take.
func parseMemLimit(s string) (int64, bool) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	var shift uint
	for _, u := range units {
		if rest, found := strings.CutSuffix(s, u.suffix); found {
			s, shift = rest, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, false
	}
	return n << shift, true
}
