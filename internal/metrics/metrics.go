// Package metrics owns Rotor's Prometheus instruments and their registry.
//
// A Metrics holds its own *prometheus.Registry (never the global one), so
// two servers in one process (tests) do not share counters. The other
// packages do not import Prometheus: they call small hook interfaces
// (awsapi.RequestMetrics) that Metrics implements.
package metrics

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rotorhq/rotor/audit"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

// Outcomes of a request, the "outcome" label of rotor_requests_total.
const (
	OutcomeOK          = "ok"
	OutcomeClientError = "client_error"
	OutcomeServerError = "server_error"
)

// Metrics is the set of instruments of one server. It is safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec   // operation, outcome, code
	requestDuration *prometheus.HistogramVec // operation
	authFailures    *prometheus.CounterVec   // code
	authzDenials    *prometheus.CounterVec   // operation
	steps           *prometheus.HistogramVec // step, outcome
	attempts        *prometheus.CounterVec   // result
	lag             prometheus.Histogram
	txDuration      *prometheus.HistogramVec // kind

	errorLog promhttp.Logger // nil: errors of a scrape are not logged

	ok sync.Map // operation -> *okRequest
}

// New returns a Metrics with every instrument registered, plus the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotor_requests_total",
			Help: "API requests answered, by operation, outcome (ok, client_error, server_error) and error code (the exception type; empty on success).",
		}, []string{"operation", "outcome", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rotor_request_duration_seconds",
			Help:    "Time to answer an API request, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotor_authentication_failures_total",
			Help: "Requests refused because the caller could not be authenticated, by error code.",
		}, []string{"code"}),
		authzDenials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotor_authorization_denials_total",
			Help: "Authenticated requests refused by policy (AccessDeniedException), by operation.",
		}, []string{"operation"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rotor_rotation_step_duration_seconds",
			Help:    "Time a rotation step took, by step and outcome (ok, failed, stopped).",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900},
		}, []string{"step", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rotor_rotation_attempts_total",
			Help: "Rotation attempts ended, by result, counted once the run records it: succeeded, failed (the run failed for good), retried, stopped (cancelled, abandoned or taken over, or the outcome could not be recorded).",
		}, []string{"result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rotor_rotation_scheduler_lag_seconds",
			Help:    "Time from when a rotation attempt was due to when the engine claimed it.",
			Buckets: []float64{.01, .05, .1, .5, 1, 2, 5, 10, 30, 60, 300, 900, 3600},
		}),
		txDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rotor_store_transaction_duration_seconds",
			Help:    "Time a store transaction took as its caller saw it, by kind: update (write, until durable; includes waiting for the writer), view (read-only) or read (one secret read in one statement, for a cache miss).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.requests, m.requestDuration, m.authFailures, m.authzDenials, m.steps, m.attempts, m.lag, m.txDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the instruments live in, for callers that add
// collectors of their own (see Register).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetLogger makes Handler log, at warn, what a scrape could not collect.
// Call it before Handler.
func (m *Metrics) SetLogger(l *slog.Logger) {
	m.errorLog = slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	// ContinueOnError: a collector that cannot read its source (the store,
	// for the run gauges) leaves its own metrics out and the error in the
	// response's log; every other metric is still served.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError, ErrorLog: m.errorLog})
}

// authenticationCodes are the exception types of a failed authentication
// (rotor.EAUTH* in awsapi/error.go's table).
var authenticationCodes = map[string]bool{
	"MissingAuthenticationTokenException": true,
	"IncompleteSignatureException":        true,
	"UnrecognizedClientException":         true,
	"InvalidSignatureException":           true,
	"ExpiredTokenException":               true,
}

// ObserveRequest implements awsapi.RequestMetrics: it counts one answered
// request and its latency. operation must come from a bounded set (the
// handler passes "unknown" for names it does not serve).
func (m *Metrics) ObserveRequest(operation, code string, status int, d time.Duration) {
	outcome := OutcomeOK
	switch {
	case status >= 500:
		outcome = OutcomeServerError
	case status >= 400 || code != "":
		outcome = OutcomeClientError
	}
	if code == "" && outcome == OutcomeOK {
		// The hot path: one lookup of the operation's instruments instead
		// of hashing the label values of both vectors.
		m.okInstruments(operation).observe(d)
		return
	}
	m.requests.WithLabelValues(operation, outcome, code).Inc()
	m.requestDuration.WithLabelValues(operation).Observe(d.Seconds())
	switch {
	case authenticationCodes[code]:
		m.authFailures.WithLabelValues(code).Inc()
	case code == "AccessDeniedException":
		m.authzDenials.WithLabelValues(operation).Inc()
	}
}

// okRequest holds one operation's instruments for a request answered
// without error: its rotor_requests_total series with outcome "ok" and
// code "", and its rotor_request_duration_seconds series.
type okRequest struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

func (o *okRequest) observe(d time.Duration) {
	o.count.Inc()
	o.duration.Observe(d.Seconds())
}

// okInstruments returns operation's okRequest, creating its series (as
// WithLabelValues would) on first use. Operations come from a bounded set,
// so the map stays small.
func (m *Metrics) okInstruments(operation string) *okRequest {
	if o, ok := m.ok.Load(operation); ok {
		return o.(*okRequest)
	}
	o := &okRequest{count: m.requests.WithLabelValues(operation, OutcomeOK, ""),
		duration: m.requestDuration.WithLabelValues(operation)}
	actual, _ := m.ok.LoadOrStore(operation, o)
	return actual.(*okRequest)
}

// ObserveStep implements rotation.Metrics.
func (m *Metrics) ObserveStep(step, outcome string, d time.Duration) {
	m.steps.WithLabelValues(step, outcome).Observe(d.Seconds())
}

// ObserveAttempt implements rotation.Metrics.
func (m *Metrics) ObserveAttempt(result string) {
	m.attempts.WithLabelValues(result).Inc()
}

// ObserveLag implements rotation.Metrics.
func (m *Metrics) ObserveLag(d time.Duration) { m.lag.Observe(d.Seconds()) }

// AddCache exposes the secret cache's counters, read from stats at each
// scrape (the manager keeps plain atomic counters; no Prometheus call is
// made per request).
func (m *Metrics) AddCache(stats func() manager.CacheStats) {
	m.reg.MustRegister(funcCollector(func(ch chan<- prometheus.Metric) {
		s := stats()
		ch <- prometheus.MustNewConstMetric(cacheHits, prometheus.CounterValue, float64(s.Hits))
		ch <- prometheus.MustNewConstMetric(cacheMisses, prometheus.CounterValue, float64(s.Misses))
		ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(s.Entries))
		ch <- prometheus.MustNewConstMetric(cacheBytes, prometheus.GaugeValue, float64(s.Bytes))
	}, cacheHits, cacheMisses, cacheEntries, cacheBytes))
}

// AddAudit exposes the audit log's health, read from stats at each scrape.
func (m *Metrics) AddAudit(stats func() audit.Stats) {
	m.reg.MustRegister(funcCollector(func(ch chan<- prometheus.Metric) {
		s := stats()
		healthy := 0.0
		if s.Healthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(auditWritten, prometheus.CounterValue, float64(s.Written))
		ch <- prometheus.MustNewConstMetric(auditDropped, prometheus.CounterValue, float64(s.Dropped))
		ch <- prometheus.MustNewConstMetric(auditRefused, prometheus.CounterValue, float64(s.Refused))
		ch <- prometheus.MustNewConstMetric(auditFailures, prometheus.CounterValue, float64(s.Failures))
		ch <- prometheus.MustNewConstMetric(auditHealthy, prometheus.GaugeValue, healthy)
	}, auditWritten, auditDropped, auditRefused, auditFailures, auditHealthy))
}

// AddStore exposes the database's commit counters, read from stats at each
// scrape.
func (m *Metrics) AddStore(stats func() sqlite.Stats) {
	m.reg.MustRegister(funcCollector(func(ch chan<- prometheus.Metric) {
		s := stats()
		ch <- prometheus.MustNewConstMetric(storeCommits, prometheus.CounterValue, float64(s.Commits))
		ch <- prometheus.MustNewConstMetric(storeUpdates, prometheus.CounterValue, float64(s.Updates))
		ch <- prometheus.MustNewConstMetric(storeWriterBusy, prometheus.CounterValue, s.WriterBusy.Seconds())
	}, storeCommits, storeUpdates, storeWriterBusy))
}

var (
	storeCommits = prometheus.NewDesc("rotor_store_commits_total", "Durable database commits, each one fsync of the write-ahead log.", nil, nil)
	storeUpdates = prometheus.NewDesc("rotor_store_updates_total", "Write transactions those commits made durable (several may share one commit).", nil, nil)
	// A rate near 1 means writes wait for the single writer.
	storeWriterBusy = prometheus.NewDesc("rotor_store_writer_busy_seconds_total", "Time the database's single writer was held, running write transactions or committing them.", nil, nil)

	cacheHits    = prometheus.NewDesc("rotor_cache_hits_total", "Secret lookups answered from the cache.", nil, nil)
	cacheMisses  = prometheus.NewDesc("rotor_cache_misses_total", "Secret lookups the cache could not answer.", nil, nil)
	cacheEntries = prometheus.NewDesc("rotor_cache_entries", "Secrets cached now.", nil, nil)
	cacheBytes   = prometheus.NewDesc("rotor_cache_bytes", "Estimated size of the cached secrets (bounded by cache.max_bytes).", nil, nil)

	auditWritten  = prometheus.NewDesc("rotor_audit_records_written_total", "Audit records written and fsynced.", nil, nil)
	auditDropped  = prometheus.NewDesc("rotor_audit_records_dropped_total", "Audit records that could not be kept.", nil, nil)
	auditRefused  = prometheus.NewDesc("rotor_audit_refused_total", "Requests refused because the audit log could not take their record.", nil, nil)
	auditFailures = prometheus.NewDesc("rotor_audit_write_failures_total", "Failed attempts to write a batch of audit records.", nil, nil)
	auditHealthy  = prometheus.NewDesc("rotor_audit_healthy", "1 if the audit log's last write succeeded, else 0.", nil, nil)
)

// collector is a prometheus.Collector made of a collect function and the
// descriptions it emits.
type collector struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func funcCollector(collect func(chan<- prometheus.Metric), descs ...*prometheus.Desc) prometheus.Collector {
	return &collector{descs: descs, collect: collect}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
