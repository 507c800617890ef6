package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// report writes the results as two aligned tables — the load phases
// (application errors, raw authentication failures, latency, requests to
// the server) and the rotations (how long they took, the single-user
// window, the pacing actually achieved) — followed by the error samples
// and the goal per engine × strategy.
func report(w io.Writer, cfg config, results []*result) {
	fmt.Fprintf(w, "workers %d, rotations %d per engine × strategy, client cache TTL %v, rotation interval %v from the end of one rotation to the start of the next (≥ 2 × TTL)\n\n",
		cfg.workers, cfg.rotations, cfg.ttl, cfg.interval)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tstrategy\tphase\trotations\tconnects\tapp errors\tauth failures\tpending logins\twaits\tp50\tp99\tDescribeSecret\tGetSecretValue\t")
	for _, r := range results {
		rows := []struct {
			name string
			p    *phase
			rot  string
		}{{"rotating", r.rotating, fmt.Sprintf("%d/%d", r.done(), r.requested)}, {"no rotation", r.baseline, "0"}}
		for _, row := range rows {
			p := row.p
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t\n",
				r.engine, r.strategy, row.name, row.rot, p.connects, p.appErrors, p.dial.AuthFailures,
				p.dial.PendingLogins, p.dial.Waits, ms(p.percentile(50)), ms(p.percentile(99)),
				p.cache.DescribeSecretCalls, p.cache.GetSecretValueCalls)
		}
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tstrategy\tdone\tretried\trotation p50\trotation max\tset→finish p50\tset→finish max\tmin start→start\tmin end→start\t")
	for _, r := range results {
		took, windows := r.durations()
		minIv, minGap := r.pacing()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.engine, r.strategy, r.done(), r.retried(),
			pct(took, 50), pct(took, 100), pct(windows, 50), pct(windows, 100), ms(minIv), ms(minGap))
	}
	tw.Flush()

	fmt.Fprintln(w)
	for _, r := range results {
		verdict := "met"
		if !r.goalMet() {
			verdict = "MISSED"
		}
		want := "0 application errors"
		if r.strategy != strategySingle {
			want += ", 0 raw authentication failures"
		}
		fmt.Fprintf(w, "goal (%s) for %s %s: %s\n", want, r.engine, r.strategy, verdict)
		if r.rotationErr != nil {
			fmt.Fprintf(w, "  rotating stopped: %v\n", r.rotationErr)
		}
		for _, ph := range []struct {
			name string
			p    *phase
		}{{"rotating", r.rotating}, {"no rotation", r.baseline}} {
			for _, s := range ph.p.errorSamples {
				fmt.Fprintf(w, "  %s error: %s\n", ph.name, s)
			}
			if d := ph.p.dial; d.Refused+d.OtherErrors > 0 {
				fmt.Fprintf(w, "  %s connector: %d connects refused after the whole retry budget, %d other errors\n", ph.name, d.Refused, d.OtherErrors)
			}
		}
	}
}

// pct formats the q-th percentile of sorted durations ("-" when empty).
func pct(sorted []time.Duration, q float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	p := phase{latencies: sorted}
	return ms(p.percentile(q))
}
