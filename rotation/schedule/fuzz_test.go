package schedule_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/schedule"
)

// FuzzParse feeds arbitrary rules to Parse: it must never panic and must
// return either a usable schedule or a *rotor.Error with code EINVALID. A
// parsed expression must survive a round trip through String, and its
// windows must keep the invariants. The seeds run as a normal test.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		expr, duration string
		days           int64
	}{
		{"cron(0 16 1,15 * ? *)", "", 0},
		{"cron(0 8 ? * MON-FRI *)", "3h", 0},
		{"cron(0 1 ? 1/3 SUN#1 *)", "", 0},
		{"cron(0 17 L * ? *)", "", 0},
		{"cron(0 10 ? * 6L *)", "", 0},
		{"cron(0 4/12 * * ? *)", "12h", 0},
		{"cron(0 9 LW * ? *)", "", 0},
		{"cron(0 9 15W * ? *)", "", 0},
		{"cron(0 0 29 2 ? *)", "", 0},
		{"cron(0 0 31 2 ? *)", "", 0},
		{"cron(0 1/99999999999999999999 * * ? *)", "", 0},
		{"cron(0 1/9223372036854775807 * * ? *)", "", 0},
		{"cron(0 0-23/1 1-31/1 1-12/1 ? *)", "1h", 0},
		{"cron(0 0 ? * 7#5 *)", "", 0},
		{"cron()", "", 0},
		{"cron(0 # # # # *)", "", 0},
		{"rate(10 days)", "", 0},
		{"rate(4 hours)", "4h", 0},
		{"rate(1 day)", "24h", 0},
		{"rate(23976 hours)", "", 0},
		{"rate(99999999999999999999 hours)", "", 0},
		{"rate()", "", 0},
		{"rate(", "", 0},
		{")", "", 0},
		{"", "3h", 0},
		{"", "", 30},
		{"", "", -5},
		{"", "99h", 1000},
		{"rate(1 day)", "\xff", 0},
		{"\x00", "", 0},
	} {
		f.Add(seed.expr, seed.duration, seed.days)
	}
	times := []time.Time{
		time.Date(2024, 1, 10, 12, 34, 56, 0, time.UTC),
		time.Date(2099, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	f.Fuzz(func(t *testing.T, expr, duration string, days int64) {
		rules := rotor.RotationRules{AutomaticallyAfterDays: days, Duration: duration, ScheduleExpression: expr}
		s, err := schedule.Parse(rules)
		if err != nil {
			var e *rotor.Error
			if !errors.As(err, &e) || e.Code != rotor.EINVALID || e.Message == "" {
				t.Fatalf("Parse(%+v) = %#v, want a *rotor.Error with code EINVALID and a message", rules, err)
			}
			if s != nil {
				t.Fatalf("Parse(%+v) returned both a schedule and an error", rules)
			}
			return
		}
		if s == nil {
			if rules != (rotor.RotationRules{}) {
				t.Fatalf("Parse(%+v) = nil, nil for non-zero rules", rules)
			}
			return
		}
		if expr != "" {
			again, err := schedule.Parse(rotor.RotationRules{ScheduleExpression: s.String(), Duration: duration})
			if err != nil || again.String() != s.String() {
				t.Fatalf("String() %q does not parse back to itself: %v, %v", s.String(), again, err)
			}
		}
		for _, after := range times {
			w := s.Next(after, after)
			if !w.End.After(w.Start) || w.End.After(nextMidnight(w.Start)) || w.Start.Minute() != 0 {
				t.Fatalf("%s: Next(%v) = [%v, %v): not a window inside one UTC day on the hour", s, after, w.Start, w.End)
			}
			if days == 0 && !w.Start.After(after) {
				t.Fatalf("%s: Next(%v).Start = %v, not after it", s, after, w.Start)
			}
		}
	})
}
