package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor/client"
)

// maxErrorSamples bounds the distinct error messages a phase keeps.
const maxErrorSamples = 5

// phase is what the application did during one load phase (with or
// without rotations): every connect + query the workers made, what the
// connector and the cache counted, and how long it lasted.
type phase struct {
	// connects is the number of iterations (new connection, login, query).
	connects int
	// appErrors counts iterations that returned an error to the worker.
	appErrors int
	// errorSamples holds up to maxErrorSamples distinct error messages.
	errorSamples []string
	// latencies of the successful iterations, sorted.
	latencies []time.Duration
	// dial is the connector's login counters, raw authentication failures
	// included.
	dial client.DialStats
	// cache is the cache's counters: the requests the application sent to
	// the server.
	cache client.Stats
	// duration is how long the workers ran.
	duration time.Duration
}

// percentile returns the q-th percentile (0 < q <= 100) of the successful
// iterations' latencies, by the nearest-rank method; 0 when there are none.
func (p *phase) percentile(q float64) time.Duration {
	n := len(p.latencies)
	if n == 0 {
		return 0
	}
	rank := int(q/100*float64(n) + 0.999999999)
	rank = min(max(rank, 1), n)
	return p.latencies[rank-1]
}

// load is a running set of workers, each calling once in a loop.
type load struct {
	l     loader
	cache *client.Cache
	start time.Time
	stop  atomic.Bool
	wg    sync.WaitGroup

	mu      sync.Mutex
	results []workerResult
}

// workerResult is one worker's tally.
type workerResult struct {
	connects, errors int
	samples          []string
	latencies        []time.Duration
}

// startLoad starts n workers calling l.once until finish is called. ctx
// only aborts: finish lets the iterations in flight complete, so no
// iteration is cut short and counted as an error.
func startLoad(ctx context.Context, l loader, cache *client.Cache, n int) *load {
	ld := &load{l: l, cache: cache, start: time.Now()}
	for range n {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			var r workerResult
			r.latencies = make([]time.Duration, 0, 1<<14)
			for !ld.stop.Load() && ctx.Err() == nil {
				d, err := l.once(ctx)
				r.connects++
				if err != nil {
					r.errors++
					if msg := err.Error(); len(r.samples) < maxErrorSamples && !slices.Contains(r.samples, msg) {
						r.samples = append(r.samples, msg)
					}
					continue
				}
				r.latencies = append(r.latencies, d)
			}
			ld.mu.Lock()
			ld.results = append(ld.results, r)
			ld.mu.Unlock()
		}()
	}
	return ld
}

// finish stops the workers after their current iteration, closes the
// loader and returns the phase's tally.
func (ld *load) finish() *phase {
	ld.stop.Store(true)
	ld.wg.Wait()
	p := &phase{duration: time.Since(ld.start)}
	for _, r := range ld.results {
		p.connects += r.connects
		p.appErrors += r.errors
		p.latencies = append(p.latencies, r.latencies...)
		for _, s := range r.samples {
			if len(p.errorSamples) < maxErrorSamples && !slices.Contains(p.errorSamples, s) {
				p.errorSamples = append(p.errorSamples, s)
			}
		}
	}
	slices.Sort(p.latencies)
	p.dial = ld.l.stats()
	p.cache = ld.cache.Stats()
	ld.l.close()
	return p
}
