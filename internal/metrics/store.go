package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rotorhq/rotor"
)

// InstrumentStore returns s with the duration of every transaction observed
// in rotor_store_transaction_duration_seconds, by kind (update, view). It
// wraps any backend; pass the result to every package that opens
// transactions. An Update's duration includes waiting for the writer and
// for its commit (shared with other Updates under group commit): it is the
// latency the caller sees.
//
// When s implements the optional rotor.SecretReader, so does the result:
// each ReadSecret and ReadSecretARN is observed under kind read (the
// cache misses of a store that reads one secret in one statement), so the
// manager still finds the faster path. When s implements both
// rotor.SecretReader and rotor.SecretScanner, so does the result; its
// ScanSecrets (a bulk read when a server starts) passes through untimed.
func (m *Metrics) InstrumentStore(s rotor.Store) rotor.Store {
	st := &store{Store: s, update: m.txDuration.WithLabelValues("update"), view: m.txDuration.WithLabelValues("view")}
	r, ok := s.(rotor.SecretReader)
	if !ok {
		return st
	}
	rs := &readingStore{store: st, reader: r, read: m.txDuration.WithLabelValues("read")}
	if sc, ok := s.(rotor.SecretScanner); ok {
		return &scanningStore{readingStore: rs, SecretScanner: sc}
	}
	return rs
}

// scanningStore is a readingStore whose backend is also a
// rotor.SecretScanner.
type scanningStore struct {
	*readingStore
	rotor.SecretScanner
}

// readingStore is a store whose backend is also a rotor.SecretReader.
type readingStore struct {
	*store
	reader rotor.SecretReader
	read   prometheus.Observer
}

func (s *readingStore) ReadSecret(ctx context.Context, region, name string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	start := time.Now()
	rec, vs, err := s.reader.ReadSecret(ctx, region, name)
	s.read.Observe(time.Since(start).Seconds())
	return rec, vs, err
}

func (s *readingStore) ReadSecretARN(ctx context.Context, arn string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	start := time.Now()
	rec, vs, err := s.reader.ReadSecretARN(ctx, arn)
	s.read.Observe(time.Since(start).Seconds())
	return rec, vs, err
}

// store is a rotor.Store that times Update and View; Backup and Close pass
// through.
type store struct {
	rotor.Store
	update, view prometheus.Observer
}

func (s *store) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	s.update.Observe(time.Since(start).Seconds())
	return err
}

func (s *store) View(ctx context.Context, fn func(rotor.Tx) error) error {
	start := time.Now()
	err := s.Store.View(ctx, fn)
	s.view.Observe(time.Since(start).Seconds())
	return err
}

// runSummaryTimeout bounds the store query behind the rotation-run gauges
// at each scrape.
const runSummaryTimeout = 5 * time.Second

// AddRuns exposes the stored rotation runs, read from s at each scrape with
// one View calling Tx.RunSummary: rotor_rotation_runs by state, and
// rotor_rotation_oldest_failed_run_age_seconds (0 when no failed run is
// unresolved). now is the clock the age is measured with (nil: time.Now).
// When the query fails the scrape reports the error for these gauges and
// still serves every other metric.
func (m *Metrics) AddRuns(s rotor.Store, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	m.reg.MustRegister(funcCollector(func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), runSummaryTimeout)
		defer cancel()
		var sum *rotor.RunSummary
		err := s.View(ctx, func(tx rotor.Tx) (err error) {
			sum, err = tx.RunSummary()
			return err
		})
		if err != nil {
			ch <- prometheus.NewInvalidMetric(runsByState, err)
			ch <- prometheus.NewInvalidMetric(oldestFailedRun, err)
			return
		}
		// Every state is reported, 0 included, so that a state's series
		// does not vanish when its last run leaves it.
		for _, state := range runStates {
			ch <- prometheus.MustNewConstMetric(runsByState, prometheus.GaugeValue, float64(sum.ByStatus[state]), state)
		}
		age := 0.0
		if !sum.OldestFailure.IsZero() {
			age = max(now().Sub(sum.OldestFailure).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(oldestFailedRun, prometheus.GaugeValue, age)
	}, runsByState, oldestFailedRun))
}

// runStates are the label values of rotor_rotation_runs.
var runStates = []string{rotor.RunPending, rotor.RunRunning, rotor.RunSucceeded, rotor.RunFailed, rotor.RunCancelled, rotor.RunAbandoned}

var (
	runsByState = prometheus.NewDesc("rotor_rotation_runs",
		"Rotation runs stored, by state: pending and running are the active ones; succeeded, failed, cancelled and abandoned are the history kept since each secret was created.",
		[]string{"state"}, nil)
	oldestFailedRun = prometheus.NewDesc("rotor_rotation_oldest_failed_run_age_seconds",
		"Seconds since the oldest unresolved failed rotation run ended: a failed run no later run of the same secret resolved by succeeding, being cancelled or abandoned. 0 when there is none.",
		nil, nil)
)
