package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/schedule"
)

// ref is the reference time of the table tests: Wednesday 2024-01-10
// 12:34:56 UTC (2024 is a leap year; 1 January 2024 was a Monday).
var ref = time.Date(2024, 1, 10, 12, 34, 56, 0, time.UTC)

func at(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC)
}

func MustParse(tb testing.TB, rules rotor.RotationRules) *schedule.Schedule {
	tb.Helper()
	s, err := schedule.Parse(rules)
	if err != nil {
		tb.Fatalf("Parse(%+v): %v", rules, err)
	}
	if s == nil {
		tb.Fatalf("Parse(%+v) = nil, want a schedule", rules)
	}
	return s
}

func TestParse_Zero(t *testing.T) {
	s, err := schedule.Parse(rotor.RotationRules{})
	if err != nil || s != nil {
		t.Fatalf("Parse(zero) = %v, %v; want nil, nil", s, err)
	}
	if got := s.String(); got != "" {
		t.Fatalf("nil Schedule String() = %q, want empty", got)
	}
}

// TestNext_Documented checks the expressions from the AWS model, the
// Secrets Manager user guide and EventBridge's cron reference against
// windows worked out by hand from a calendar.
func TestNext_Documented(t *testing.T) {
	for _, tt := range []struct {
		expr, duration string
		after, last    time.Time // last zero: ref
		want           schedule.Window
		str            string // normalised; "" = expr
	}{
		// User guide, "Cron expressions" examples.
		{expr: "cron(0 16 1,15 * ? *)", after: ref, // 1st and 15th at 16:00, to end of day
			want: schedule.Window{Start: at(2024, 1, 15, 16), End: at(2024, 1, 16, 0)}},
		{expr: "cron(0 8 ? * MON-FRI *)", after: ref, // Wednesday 08:00 has passed: Thursday
			want: schedule.Window{Start: at(2024, 1, 11, 8), End: at(2024, 1, 12, 0)}},
		{expr: "cron(0 1 ? 1/3 SUN#1 *)", after: ref, // Jan, Apr, Jul, Oct; 7 Jan has passed; 1 Apr 2024 is a Monday
			want: schedule.Window{Start: at(2024, 4, 7, 1), End: at(2024, 4, 8, 0)}},
		{expr: "cron(0 17 L * ? *)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 31, 17), End: at(2024, 2, 1, 0)}},
		{expr: "cron(0 10 ? * 6L *)", after: ref, // last Friday of January 2024
			want: schedule.Window{Start: at(2024, 1, 26, 10), End: at(2024, 1, 27, 0)}},
		{expr: "cron(0 4/12 * * ? *)", after: ref, // 04:00 and 16:00: a schedule in hours, 1 h windows
			want: schedule.Window{Start: at(2024, 1, 10, 16), End: at(2024, 1, 10, 17)}},
		{expr: "cron(0 4/12 * * ? *)", after: at(2024, 1, 10, 16), // increments restart each day
			want: schedule.Window{Start: at(2024, 1, 11, 4), End: at(2024, 1, 11, 5)}},
		{expr: "cron(0 10 * * ? *)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 11, 10), End: at(2024, 1, 12, 0)}},
		{expr: "cron(0 18 ? * SAT *)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 13, 18), End: at(2024, 1, 14, 0)}},
		{expr: "cron(0 8 1 * ? *)", after: ref,
			want: schedule.Window{Start: at(2024, 2, 1, 8), End: at(2024, 2, 2, 0)}},
		{expr: "cron(0 0 ? * SUN#1 *)", after: ref, // 1 Feb 2024 is a Thursday
			want: schedule.Window{Start: at(2024, 2, 4, 0), End: at(2024, 2, 5, 0)}},
		// Turbot's documented examples.
		{expr: "cron(0 8/8 * * ? *)", after: ref, // 08:00 and 16:00
			want: schedule.Window{Start: at(2024, 1, 10, 16), End: at(2024, 1, 10, 17)}},
		{expr: "cron(0 8 1/7 * ? *)", after: ref, // days 1, 8, 15, 22, 29
			want: schedule.Window{Start: at(2024, 1, 15, 8), End: at(2024, 1, 16, 0)}},
		// W, LW, L and <DAY>L.
		{expr: "cron(0 9 15W * ? *)", after: at(2024, 6, 1, 0), // 15 June 2024 is a Saturday: Friday 14th
			want: schedule.Window{Start: at(2024, 6, 14, 9), End: at(2024, 6, 15, 0)}},
		{expr: "cron(0 9 1W * ? *)", after: at(2024, 5, 31, 0), // 1 June 2024 is a Saturday: Monday 3rd
			want: schedule.Window{Start: at(2024, 6, 3, 9), End: at(2024, 6, 4, 0)}},
		{expr: "cron(0 9 1W * ? *)", after: at(2024, 8, 31, 0), // 1 Sept 2024 is a Sunday: Monday 2nd
			want: schedule.Window{Start: at(2024, 9, 2, 9), End: at(2024, 9, 3, 0)}},
		{expr: "cron(0 9 30W * ? *)", after: at(2024, 11, 1, 0), // 30 Nov 2024 is a Saturday: Friday 29th
			want: schedule.Window{Start: at(2024, 11, 29, 9), End: at(2024, 11, 30, 0)}},
		{expr: "cron(0 9 LW * ? *)", after: at(2024, 3, 1, 0), // 31 March 2024 is a Sunday: Friday 29th
			want: schedule.Window{Start: at(2024, 3, 29, 9), End: at(2024, 3, 30, 0)}},
		{expr: "cron(0 9 ? * L *)", after: ref, // L alone in Day-of-week: Saturday
			want: schedule.Window{Start: at(2024, 1, 13, 9), End: at(2024, 1, 14, 0)}},
		{expr: "cron(0 9 SUNL * ? *)", after: ref, // the user guide's Day-of-month SUNL: last Sunday
			want: schedule.Window{Start: at(2024, 1, 28, 9), End: at(2024, 1, 29, 0)}},
		{expr: "cron(0 0 29 2 ? *)", after: ref,
			want: schedule.Window{Start: at(2024, 2, 29, 0), End: at(2024, 3, 1, 0)}},
		{expr: "cron(0 0 29 2 ? *)", after: at(2024, 3, 1, 0), // next leap day
			want: schedule.Window{Start: at(2028, 2, 29, 0), End: at(2028, 3, 1, 0)}},
		{expr: "cron(0 0 29 2 ? *)", after: at(2097, 1, 1, 0), // 2100 is not a leap year
			want: schedule.Window{Start: at(2104, 2, 29, 0), End: at(2104, 3, 1, 0)}},
		// Names are case-insensitive; String normalises them.
		{expr: "cron(0 8 ? jan,Jul mon-fri *)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 11, 8), End: at(2024, 1, 12, 0)},
			str:  "cron(0 8 ? JAN,JUL MON-FRI *)"},
		{expr: "  cron(0  8 ?  * 2-6 *) ", after: ref,
			want: schedule.Window{Start: at(2024, 1, 11, 8), End: at(2024, 1, 12, 0)},
			str:  "cron(0 8 ? * 2-6 *)"},
		// Duration.
		{expr: "cron(0 0/6 * * ? *)", duration: "6h", after: ref,
			want: schedule.Window{Start: at(2024, 1, 10, 18), End: at(2024, 1, 11, 0)}},
		{expr: "cron(0 22 * * ? *)", duration: "2h", after: ref,
			want: schedule.Window{Start: at(2024, 1, 10, 22), End: at(2024, 1, 11, 0)}},
		{expr: "cron(0 16 1,15 * ? *)", duration: "3h", after: ref,
			want: schedule.Window{Start: at(2024, 1, 15, 16), End: at(2024, 1, 15, 19)}},

		// Rates: user guide examples. rate(4 hours) windows open every 4 h
		// from midnight; rate(N days) counts from the day of the last rotation.
		{expr: "rate(4 hours)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 10, 16), End: at(2024, 1, 10, 17)}},
		{expr: "rate(1 day)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 11, 0), End: at(2024, 1, 12, 0)}},
		{expr: "rate(10 days)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 20, 0), End: at(2024, 1, 21, 0)}},
		{expr: "rate(10 days)", after: ref, last: at(2024, 1, 1, 5), // 11 Jan, 21 Jan, ...
			want: schedule.Window{Start: at(2024, 1, 11, 0), End: at(2024, 1, 12, 0)}},
		{expr: "rate(10 days)", after: at(2024, 1, 11, 0), last: at(2024, 1, 1, 5), // a window at after is not after it
			want: schedule.Window{Start: at(2024, 1, 21, 0), End: at(2024, 1, 22, 0)}},
		{expr: "rate(10 days)", duration: "3h", after: ref,
			want: schedule.Window{Start: at(2024, 1, 20, 0), End: at(2024, 1, 20, 3)}},
		{expr: "rate(12 hours)", duration: "12h", after: ref,
			want: schedule.Window{Start: at(2024, 1, 11, 0), End: at(2024, 1, 11, 12)}},
		// 2024-01-10T00:00Z is 473568 hours after the epoch, 3 past a
		// multiple of 5: rate(5 hours) windows open at 02, 07, 12, 17, 22.
		{expr: "rate(5 hours)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 10, 17), End: at(2024, 1, 10, 18)}},
		{expr: "RATE( 04 Hours )", after: ref,
			want: schedule.Window{Start: at(2024, 1, 10, 16), End: at(2024, 1, 10, 17)},
			str:  "rate(4 hours)"},
		{expr: "rate(1 days)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 11, 0), End: at(2024, 1, 12, 0)},
			str:  "rate(1 day)"},
		{expr: "rate(2 day)", after: ref,
			want: schedule.Window{Start: at(2024, 1, 12, 0), End: at(2024, 1, 13, 0)},
			str:  "rate(2 days)"},
	} {
		name := tt.expr
		if tt.duration != "" {
			name += "+" + tt.duration
		}
		t.Run(name, func(t *testing.T) {
			s := MustParse(t, rotor.RotationRules{ScheduleExpression: tt.expr, Duration: tt.duration})
			last := tt.last
			if last.IsZero() {
				last = ref
			}
			if got := s.Next(tt.after, last); !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) {
				t.Errorf("Next(%v, %v) = [%v, %v), want [%v, %v)", tt.after, last, got.Start, got.End, tt.want.Start, tt.want.End)
			}
			want := tt.str
			if want == "" {
				want = tt.expr
			}
			if got := s.String(); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
		})
	}
}

func TestNext_AutomaticallyAfterDays(t *testing.T) {
	last := time.Date(2024, 1, 10, 12, 34, 56, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		days     int64
		duration string
		after    time.Time
		want     schedule.Window
	}{
		{name: "Due", days: 30, after: last,
			want: schedule.Window{Start: at(2024, 2, 9, 0), End: at(2024, 2, 10, 0)}},
		{name: "OverdueStaysInThePast", days: 30, after: at(2025, 6, 1, 0),
			want: schedule.Window{Start: at(2024, 2, 9, 0), End: at(2024, 2, 10, 0)}},
		{name: "DurationFromMidnight", days: 1, duration: "3h", after: last,
			want: schedule.Window{Start: at(2024, 1, 11, 0), End: at(2024, 1, 11, 3)}},
		{name: "Max", days: 1000, after: last, // 1000 days after 10 Jan 2024
			want: schedule.Window{Start: at(2026, 10, 6, 0), End: at(2026, 10, 7, 0)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := MustParse(t, rotor.RotationRules{AutomaticallyAfterDays: tt.days, Duration: tt.duration})
			if got := s.Next(tt.after, last); !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) {
				t.Errorf("Next = [%v, %v), want [%v, %v)", got.Start, got.End, tt.want.Start, tt.want.End)
			}
		})
	}

	t.Run("ZeroLastRotatedCountsAsAfter", func(t *testing.T) {
		s := MustParse(t, rotor.RotationRules{AutomaticallyAfterDays: 7})
		got := s.Next(ref, time.Time{})
		if want := at(2024, 1, 17, 0); !got.Start.Equal(want) {
			t.Fatalf("Next(ref, zero).Start = %v, want %v", got.Start, want)
		}
	})
	t.Run("String", func(t *testing.T) {
		if got := MustParse(t, rotor.RotationRules{AutomaticallyAfterDays: 1}).String(); got != "rate(1 day)" {
			t.Fatalf("String() = %q, want rate(1 day)", got)
		}
	})
}

func TestNext_NonUTCInputs(t *testing.T) {
	s := MustParse(t, rotor.RotationRules{ScheduleExpression: "cron(0 10 * * ? *)"})
	tokyo := time.FixedZone("JST", 9*3600)
	after := time.Date(2024, 1, 11, 3, 0, 0, 0, tokyo) // 2024-01-10T18:00Z
	got := s.Next(after, after)
	if want := at(2024, 1, 11, 10); !got.Start.Equal(want) || got.Start.Location() != time.UTC {
		t.Fatalf("Next(%v).Start = %v, want %v in UTC", after, got.Start, want)
	}
}

func TestParse_Invalid(t *testing.T) {
	long := "cron(0 10 * * ? *)" + strings.Repeat(" ", 240)
	for _, tt := range []struct {
		rules rotor.RotationRules
		msg   string
	}{
		// AutomaticallyAfterDays.
		{rotor.RotationRules{AutomaticallyAfterDays: 1001}, "RotationRules.AutomaticallyAfterDays must be within 1-1000."},
		{rotor.RotationRules{AutomaticallyAfterDays: -1}, "RotationRules.AutomaticallyAfterDays must be within 1-1000."},
		{rotor.RotationRules{AutomaticallyAfterDays: 7, ScheduleExpression: "rate(7 days)"}, "You can't specify both AutomaticallyAfterDays and ScheduleExpression."},
		{rotor.RotationRules{Duration: "3h"}, "RotationRules.Duration needs AutomaticallyAfterDays or ScheduleExpression: it sets the length of the window they open."},

		// The model's constraints on ScheduleExpression.
		{rotor.RotationRules{ScheduleExpression: long}, "The ScheduleExpression is not valid: it must be at most 256 characters."},
		{rotor.RotationRules{ScheduleExpression: "rate(4 hours);"}, "The ScheduleExpression is not valid: it may contain only letters, digits, spaces and the characters ( ) # ? * - / ,"},
		{rotor.RotationRules{ScheduleExpression: "every day"}, "The ScheduleExpression every day is not valid: it must be a rate() or a cron() expression."},
		{rotor.RotationRules{ScheduleExpression: "at(2024-01-01)"}, "The ScheduleExpression at(2024-01-01) is not valid: it must be a rate() or a cron() expression."},

		// rate().
		{rotor.RotationRules{ScheduleExpression: "rate(2 hours)"}, "The rate expression rate(2 hours) is not valid: the minimum rotation interval is 4 hours."},
		{rotor.RotationRules{ScheduleExpression: "rate(1 hour)"}, "The rate expression rate(1 hour) is not valid: the minimum rotation interval is 4 hours."},
		{rotor.RotationRules{ScheduleExpression: "rate(0 days)"}, "The rate expression rate(0 days) is not valid: the value must be a positive integer."},
		{rotor.RotationRules{ScheduleExpression: "rate(-4 hours)"}, "The rate expression rate(-4 hours) is not valid: the value must be a positive integer."},
		{rotor.RotationRules{ScheduleExpression: "rate(1000 days)"}, "The rate expression rate(1000 days) is not valid: the maximum rotation interval is 999 days."},
		{rotor.RotationRules{ScheduleExpression: "rate(99999999999999999999 hours)"}, "The rate expression rate(99999999999999999999 hours) is not valid: the maximum rotation interval is 999 days."},
		{rotor.RotationRules{ScheduleExpression: "rate(5 minutes)"}, "The rate expression rate(5 minutes) is not valid: the unit must be hour, hours, day or days."},
		{rotor.RotationRules{ScheduleExpression: "rate(4)"}, "The rate expression rate(4) is not valid: write rate(Value Unit) with Unit hour, hours, day or days, for example rate(10 days)."},

		// cron().
		{rotor.RotationRules{ScheduleExpression: "cron(5 10 * * ? *)"}, "The cron expression cron(5 10 * * ? *) is not valid: Minutes must be 0."},
		{rotor.RotationRules{ScheduleExpression: "cron(0/30 10 * * ? *)"}, "The cron expression cron(0/30 10 * * ? *) is not valid: Minutes must be 0."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 * * ? 2024)"}, "The cron expression cron(0 10 * * ? 2024) is not valid: Year must be *."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 * * ?)"}, "The cron expression cron(0 10 * * ?) is not valid: it must have six fields: Minutes Hours Day-of-month Month Day-of-week Year."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 * * * *)"}, "The cron expression cron(0 10 * * * *) is not valid: exactly one of Day-of-month and Day-of-week must be ?."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 ? * ? *)"}, "The cron expression cron(0 10 ? * ? *) is not valid: exactly one of Day-of-month and Day-of-week must be ?."},
		// The 2023 user guide listed this example, but it breaks that page's own ? rule.
		{rotor.RotationRules{ScheduleExpression: "cron(0 1 * 1/3 SUN *)"}, "The cron expression cron(0 1 * 1/3 SUN *) is not valid: exactly one of Day-of-month and Day-of-week must be ?."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 24 * * ? *)"}, "The cron expression cron(0 24 * * ? *) is not valid: Hours value 24 is out of range 0-23."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 32 * ? *)"}, "The cron expression cron(0 10 32 * ? *) is not valid: Day-of-month value 32 is out of range 1-31."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 0 * ? *)"}, "The cron expression cron(0 10 0 * ? *) is not valid: Day-of-month value 0 is out of range 1-31."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 * 13 ? *)"}, "The cron expression cron(0 10 * 13 ? *) is not valid: Month value 13 is out of range 1-12 (or JAN-DEC)."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 ? * 8 *)"}, "The cron expression cron(0 10 ? * 8 *) is not valid: Day-of-week value 8 is out of range 1-7 (or SUN-SAT)."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 ? * FOO *)"}, "The cron expression cron(0 10 ? * FOO *) is not valid: Day-of-week value FOO is not valid."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 * JANUARY ? *)"}, "The cron expression cron(0 10 * JANUARY ? *) is not valid: Month value JANUARY is not valid."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10-8 * * ? *)"}, "The cron expression cron(0 10-8 * * ? *) is not valid: the range 10-8 in Hours runs backwards."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 */0 * * ? *)"}, "The cron expression cron(0 */0 * * ? *) is not valid: the increment in Hours item */0 must be a positive integer."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 1,,2 * * ? *)"}, "The cron expression cron(0 1,,2 * * ? *) is not valid: Hours has an empty item in its list."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 ? * * ? *)"}, "The cron expression cron(0 ? * * ? *) is not valid: ? is allowed only in Day-of-month or Day-of-week, not in Hours."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 1,? * ? *)"}, "The cron expression cron(0 10 1,? * ? *) is not valid: ? must stand alone in Day-of-month."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 5L * ? *)"}, "The cron expression cron(0 10 5L * ? *) is not valid: Day-of-month 5L is not valid: nL (the last weekday n of the month) belongs in Day-of-week."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 ? * MON#6 *)"}, "The cron expression cron(0 10 ? * MON#6 *) is not valid: Day-of-week MON#6 is not valid: the occurrence after # must be within 1-5."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 ? * MON#1,FRI *)"}, "The cron expression cron(0 10 ? * MON#1,FRI *) is not valid: an n#k item must be the only expression in Day-of-week."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 ? * 9L *)"}, "The cron expression cron(0 10 ? * 9L *) is not valid: Day-of-week value 9 is out of range 1-7 (or SUN-SAT)."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 31 2 ? *)"}, "The cron expression cron(0 10 31 2 ? *) is not valid: no date ever matches its Day-of-month, Month and Day-of-week fields."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 30 FEB ? *)"}, "The cron expression cron(0 10 30 FEB ? *) is not valid: no date ever matches its Day-of-month, Month and Day-of-week fields."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 10 31 4,6,9,11 ? *)"}, "The cron expression cron(0 10 31 4,6,9,11 ? *) is not valid: no date ever matches its Day-of-month, Month and Day-of-week fields."},

		// Duration.
		{rotor.RotationRules{ScheduleExpression: "rate(1 day)", Duration: "25h"}, "The Duration 25h is not valid: the rotation window must be from 1h to 24h."},
		{rotor.RotationRules{ScheduleExpression: "rate(1 day)", Duration: "0h"}, "The Duration 0h is not valid: the rotation window must be from 1h to 24h."},
		{rotor.RotationRules{ScheduleExpression: "rate(1 day)", Duration: "3"}, "The Duration is not valid: it must be a whole number of hours written like 3h, from 1h to 24h."},
		{rotor.RotationRules{ScheduleExpression: "rate(1 day)", Duration: "3H"}, "The Duration is not valid: it must be a whole number of hours written like 3h, from 1h to 24h."},
		{rotor.RotationRules{ScheduleExpression: "rate(1 day)", Duration: "100h"}, "The Duration is not valid: it must be a whole number of hours written like 3h, from 1h to 24h."},
		{rotor.RotationRules{ScheduleExpression: "rate(1 day)", Duration: "h"}, "The Duration is not valid: it must be a whole number of hours written like 3h, from 1h to 24h."},
		{rotor.RotationRules{ScheduleExpression: "rate(4 hours)", Duration: "5h"}, "The rotation window (Duration 5h) runs into the next window: rate(4 hours) opens a window every 4 hours."},
		{rotor.RotationRules{ScheduleExpression: "rate(5 hours)", Duration: "2h"}, "The rotation window (Duration 2h) runs past the end of the UTC day: rate(5 hours) opens a window at 23:00 on some days."},
		{rotor.RotationRules{ScheduleExpression: "rate(36 hours)", Duration: "13h"}, "The rotation window (Duration 13h) runs past the end of the UTC day: rate(36 hours) opens a window at 12:00 on some days."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 4/4 * * ? *)", Duration: "6h"}, "The rotation window (Duration 6h) runs into the next window: cron(0 4/4 * * ? *) opens windows as little as 4 hours apart."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 1,3,12 * * ? *)", Duration: "3h"}, "The rotation window (Duration 3h) runs into the next window: cron(0 1,3,12 * * ? *) opens windows as little as 2 hours apart."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 20 * * ? *)", Duration: "6h"}, "The rotation window (Duration 6h) runs past the end of the UTC day: cron(0 20 * * ? *) opens a window at 20:00."},
		{rotor.RotationRules{ScheduleExpression: "cron(0 8,20 * * ? *)", Duration: "5h"}, "The rotation window (Duration 5h) runs past the end of the UTC day: cron(0 8,20 * * ? *) opens a window at 20:00."},
	} {
		t.Run(tt.rules.ScheduleExpression+"|"+tt.rules.Duration, func(t *testing.T) {
			s, err := schedule.Parse(tt.rules)
			if err == nil {
				t.Fatalf("Parse(%+v) = %v, want error %q", tt.rules, s, tt.msg)
			}
			var e *rotor.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%+v) error %T %v, want *rotor.Error", tt.rules, err, err)
			}
			if e.Code != rotor.EINVALID {
				t.Errorf("Code = %q, want %q", e.Code, rotor.EINVALID)
			}
			if e.Message != tt.msg {
				t.Errorf("Message = %q\nwant      %q", e.Message, tt.msg)
			}
		})
	}
}

// TestParse_Boundaries checks the edges of each range are accepted.
func TestParse_Boundaries(t *testing.T) {
	for _, rules := range []rotor.RotationRules{
		{AutomaticallyAfterDays: 1},
		{AutomaticallyAfterDays: 1000},
		{AutomaticallyAfterDays: 1, Duration: "24h"},
		{ScheduleExpression: "rate(4 hours)", Duration: "4h"},
		{ScheduleExpression: "rate(999 days)"},
		{ScheduleExpression: "rate(23976 hours)"}, // 999 days
		{ScheduleExpression: "rate(24 hours)", Duration: "24h"},
		{ScheduleExpression: "rate(10 days)", Duration: "01h"},
		{ScheduleExpression: "cron(0 0 * * ? *)", Duration: "24h"},
		{ScheduleExpression: "cron(0 23 * * ? *)", Duration: "1h"},
		{ScheduleExpression: "cron(0 20 * * ? *)", Duration: "4h"},
		{ScheduleExpression: "cron(0 4/4 * * ? *)", Duration: "4h"},
		{ScheduleExpression: "cron(0 0-23 * * ? *)"},
		{ScheduleExpression: "cron(0 0 31 * ? *)"},
		{ScheduleExpression: "cron(0 0 ? DEC SAT#5 *)"},
		{ScheduleExpression: "cron(0 0 ? FEB SUN#5 *)"}, // only in leap years whose 1 February is a Sunday
		{ScheduleExpression: "cron(00 0 ? * 1-7 *)"},
	} {
		if _, err := schedule.Parse(rules); err != nil {
			t.Errorf("Parse(%+v): %v", rules, err)
		}
	}
}
