package schedule_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/schedule"
)

// The property tests draw random valid schedules and reference times from
// fixed seeds, so every run checks the same cases.

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// genCron is a random cron expression together with its meaning, computed
// independently of the package: hours and months as plain sets, and the
// day fields as a predicate on a date written with the time package only.
type genCron struct {
	expr   string
	hours  [24]bool
	months [13]bool
	day    func(d time.Time) bool
}

// genItems returns a random list for a field with values lo..hi (names[i]
// stands for lo+i when names is not nil) and the set of values it selects.
func genItems(r *rand.Rand, lo, hi int, names []string) (string, map[int]bool) {
	set := map[int]bool{}
	name := func(v int) string {
		if names != nil && r.IntN(2) == 0 {
			n := names[v-lo]
			if r.IntN(3) == 0 {
				n = strings.ToLower(n)
			}
			return n
		}
		return strconv.Itoa(v)
	}
	var items []string
	for range 1 + r.IntN(3) {
		a := lo + r.IntN(hi-lo+1)
		b := a + r.IntN(hi-a+1)
		step := 1 + r.IntN(hi-lo+1)
		switch r.IntN(6) {
		case 0:
			items = append(items, "*")
			for v := lo; v <= hi; v++ {
				set[v] = true
			}
		case 1, 2:
			items = append(items, name(a))
			set[a] = true
		case 3:
			items = append(items, name(a)+"-"+name(b))
			for v := a; v <= b; v++ {
				set[v] = true
			}
		case 4:
			items = append(items, name(a)+"/"+strconv.Itoa(step))
			for v := a; v <= hi; v += step {
				set[v] = true
			}
		case 5:
			items = append(items, "*/"+strconv.Itoa(step))
			for v := lo; v <= hi; v += step {
				set[v] = true
			}
		}
	}
	return strings.Join(items, ","), set
}

func lastDayOfMonth(d time.Time) int {
	return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// weekdayNear returns the Monday-Friday nearest day n of d's month without
// leaving the month.
func weekdayNear(d time.Time, n int) int {
	t := time.Date(d.Year(), d.Month(), n, 0, 0, 0, 0, time.UTC)
	switch t.Weekday() {
	case time.Saturday:
		if t.AddDate(0, 0, -1).Month() != t.Month() {
			return n + 2
		}
		return n - 1
	case time.Sunday:
		if t.AddDate(0, 0, 1).Month() != t.Month() {
			return n - 2
		}
		return n + 1
	}
	return n
}

func isLastOfItsWeekday(d time.Time) bool { return d.AddDate(0, 0, 7).Month() != d.Month() }

func genCronExpr(r *rand.Rand) genCron {
	var g genCron
	hours, hset := genItems(r, 0, 23, nil)
	for h := range hset {
		g.hours[h] = true
	}
	months, mset := genItems(r, 1, 12, monthNames)
	for m := range mset {
		g.months[m] = true
	}
	var dom, dow string
	if r.IntN(2) == 0 { // Day-of-month
		dow = "?"
		switch r.IntN(8) {
		case 0:
			dom = "L"
			g.day = func(d time.Time) bool { return d.Day() == lastDayOfMonth(d) }
		case 1:
			dom = "LW"
			g.day = func(d time.Time) bool {
				last := time.Date(d.Year(), d.Month(), lastDayOfMonth(d), 0, 0, 0, 0, time.UTC)
				for last.Weekday() == time.Saturday || last.Weekday() == time.Sunday {
					last = last.AddDate(0, 0, -1)
				}
				return d.Day() == last.Day()
			}
		case 2:
			n := 1 + r.IntN(31)
			dom = strconv.Itoa(n) + "W"
			g.day = func(d time.Time) bool { return n <= lastDayOfMonth(d) && d.Day() == weekdayNear(d, n) }
		case 3:
			wd := r.IntN(7)
			dom = dayNames[wd] + "L"
			g.day = func(d time.Time) bool { return int(d.Weekday()) == wd && isLastOfItsWeekday(d) }
		default:
			list, set := genItems(r, 1, 31, nil)
			dom = list
			g.day = func(d time.Time) bool { return set[d.Day()] }
		}
	} else { // Day-of-week, 1 = SUN
		dom = "?"
		switch r.IntN(8) {
		case 0:
			dow = "L"
			g.day = func(d time.Time) bool { return d.Weekday() == time.Saturday }
		case 1:
			wd := r.IntN(7)
			dow = []string{strconv.Itoa(wd + 1), dayNames[wd]}[r.IntN(2)] + "L"
			g.day = func(d time.Time) bool { return int(d.Weekday()) == wd && isLastOfItsWeekday(d) }
		case 2:
			wd, k := r.IntN(7), 1+r.IntN(5)
			dow = fmt.Sprintf("%s#%d", []string{strconv.Itoa(wd + 1), dayNames[wd]}[r.IntN(2)], k)
			g.day = func(d time.Time) bool { return int(d.Weekday()) == wd && (d.Day()-1)/7+1 == k }
		default:
			list, set := genItems(r, 1, 7, dayNames)
			dow = list
			g.day = func(d time.Time) bool { return set[int(d.Weekday())+1] }
		}
	}
	g.expr = fmt.Sprintf("cron(0 %s %s %s %s *)", hours, dom, months, dow)
	return g
}

// oracleNext walks day by day from after's day, up to horizon days, and
// returns the first hour of a matching day after after, or the zero time.
func (g genCron) oracleNext(after time.Time, horizon int) time.Time {
	day := time.Date(after.Year(), after.Month(), after.Day(), 0, 0, 0, 0, time.UTC)
	for i := range horizon {
		d := day.AddDate(0, 0, i)
		if !g.months[d.Month()] || !g.day(d) {
			continue
		}
		for h := range 24 {
			if t := d.Add(time.Duration(h) * time.Hour); g.hours[h] && t.After(after) {
				return t
			}
		}
	}
	return time.Time{}
}

// randomTime returns a time between 1990 and 2150 at second resolution,
// sometimes exactly on an hour or at midnight.
func randomTime(r *rand.Rand) time.Time {
	lo := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	t := time.Unix(lo+r.Int64N(hi-lo), 0).UTC()
	switch r.IntN(4) {
	case 0:
		return t.Truncate(time.Hour)
	case 1:
		return t.Truncate(24 * time.Hour)
	}
	return t
}

// randomDuration returns "" (the default window) half the time, else 1h-24h.
func randomDuration(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return ""
	}
	return fmt.Sprintf("%dh", 1+r.IntN(24))
}

func nextMidnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
}

// checkWindow checks what holds for every window: UTC, on the hour,
// non-empty, inside one UTC day, of the configured length.
func checkWindow(t *testing.T, label string, w schedule.Window, duration string) {
	t.Helper()
	switch {
	case w.Start.Location() != time.UTC || w.End.Location() != time.UTC:
		t.Fatalf("%s: window [%v, %v) not in UTC", label, w.Start, w.End)
	case w.Start.Minute() != 0 || w.Start.Second() != 0 || w.Start.Nanosecond() != 0:
		t.Fatalf("%s: window starts at %v, not on the hour", label, w.Start)
	case !w.End.After(w.Start):
		t.Fatalf("%s: empty window [%v, %v)", label, w.Start, w.End)
	case w.End.After(nextMidnight(w.Start)):
		t.Fatalf("%s: window [%v, %v) crosses a UTC day boundary", label, w.Start, w.End)
	}
	if duration != "" {
		h, _ := strconv.Atoi(strings.TrimSuffix(duration, "h"))
		if got, want := w.End.Sub(w.Start), time.Duration(h)*time.Hour; got != want {
			t.Fatalf("%s: window [%v, %v) lasts %v, want Duration %s", label, w.Start, w.End, got, duration)
		}
	}
}

// checkSequence checks the properties of the window sequence of a cron or
// rate schedule around after and returns the first two windows.
func checkSequence(t *testing.T, r *rand.Rand, s *schedule.Schedule, label, duration string, after, last time.Time) (w1, w2 schedule.Window) {
	t.Helper()
	w1 = s.Next(after, last)
	checkWindow(t, label, w1, duration)
	if !w1.Start.After(after) {
		t.Fatalf("%s: Next(%v).Start = %v, not after it", label, after, w1.Start)
	}
	w2 = s.Next(w1.Start, last)
	checkWindow(t, label, w2, duration)
	if !w2.Start.After(w1.Start) {
		t.Fatalf("%s: Next(%v).Start = %v, not after it", label, w1.Start, w2.Start)
	}
	if w1.End.After(w2.Start) {
		t.Fatalf("%s: window [%v, %v) overlaps the next one [%v, %v)", label, w1.Start, w1.End, w2.Start, w2.End)
	}
	// Monotonic, nothing skipped: any time before w1 opens yields w1, any
	// time from w1's start until w2's start yields w2.
	if span := w1.Start.Sub(after); span > 0 {
		u := after.Add(time.Duration(r.Int64N(int64(span))))
		if got := s.Next(u, last); !got.Start.Equal(w1.Start) {
			t.Fatalf("%s: Next(%v) = %v, want %v (Next(%v) = %v)", label, u, got.Start, w1.Start, after, w1.Start)
		}
	}
	u := w1.Start.Add(time.Duration(r.Int64N(int64(w2.Start.Sub(w1.Start)))))
	if got := s.Next(u, last); !got.Start.Equal(w2.Start) {
		t.Fatalf("%s: Next(%v) = %v, want %v", label, u, got.Start, w2.Start)
	}
	for range 8 {
		if p := schedule.PickStart(w1, r); !w1.Contains(p) {
			t.Fatalf("%s: PickStart = %v, outside [%v, %v)", label, p, w1.Start, w1.End)
		}
	}
	return w1, w2
}

func TestProperty_Cron(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const cases = 1500
	parsed := 0
	for range cases {
		g := genCronExpr(r)
		duration := randomDuration(r)
		s, err := schedule.Parse(rotor.RotationRules{ScheduleExpression: g.expr, Duration: duration})
		if err != nil {
			if rotor.ErrorCode(err) != rotor.EINVALID {
				t.Fatalf("Parse(%s, %q): %v, want code EINVALID", g.expr, duration, err)
			}
			continue
		}
		parsed++
		label := g.expr + "+" + duration
		for range 3 {
			after := randomTime(r)
			w1, _ := checkSequence(t, r, s, label, duration, after, time.Time{})
			const horizon = 30 * 366
			if want := g.oracleNext(after, horizon); want.IsZero() {
				if w1.Start.Before(after.AddDate(0, 0, horizon-1)) {
					t.Fatalf("%s: Next(%v) = %v; the day-by-day walk found nothing there", label, after, w1.Start)
				}
			} else if !w1.Start.Equal(want) {
				t.Fatalf("%s: Next(%v) = %v, want %v", label, after, w1.Start, want)
			}
			if duration == "" {
				// Default: 1 h if the expression opens several windows a
				// day, else to the end of the UTC day.
				n := 0
				for _, on := range g.hours {
					if on {
						n++
					}
				}
				want := nextMidnight(w1.Start)
				if n > 1 {
					want = w1.Start.Add(time.Hour)
				}
				if !w1.End.Equal(want) {
					t.Fatalf("%s: default window [%v, %v), want end %v", label, w1.Start, w1.End, want)
				}
			}
		}
	}
	if parsed < cases/3 {
		t.Fatalf("only %d of %d generated expressions parsed; the generator is off", parsed, cases)
	}
}

// TestProperty_CronNeverFires checks Parse's verdict on the day fields
// against a walk over 2001-2028, which holds every kind of year.
func TestProperty_CronNeverFires(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rejected := 0
	for range 3000 {
		g := genCronExpr(r)
		_, err := schedule.Parse(rotor.RotationRules{ScheduleExpression: g.expr})
		fires := !g.oracleNext(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), 28*366).IsZero()
		switch {
		case err == nil && !fires:
			t.Fatalf("Parse(%s) accepted an expression that never fires", g.expr)
		case err != nil && fires:
			t.Fatalf("Parse(%s): %v; but it fires", g.expr, err)
		case err != nil:
			rejected++
		}
	}
	if rejected == 0 {
		t.Fatalf("no generated expression was rejected; the generator never reaches the case")
	}
}

func TestProperty_RateHours(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		n := 4 + r.IntN(100)
		if r.IntN(4) == 0 {
			n = []int{4, 6, 8, 12, 24, 48}[r.IntN(6)]
		}
		expr := fmt.Sprintf("rate(%d hours)", n)
		duration := randomDuration(r)
		s, err := schedule.Parse(rotor.RotationRules{ScheduleExpression: expr, Duration: duration})
		if err != nil {
			continue
		}
		after := randomTime(r)
		w1, w2 := checkSequence(t, r, s, expr+"+"+duration, duration, after, randomTime(r))
		if got := w2.Start.Sub(w1.Start); got != time.Duration(n)*time.Hour {
			t.Fatalf("%s: windows %v apart, want %d hours", expr, got, n)
		}
		if w1.Start.Unix()%int64(n*3600) != 0 {
			t.Fatalf("%s: window at %v is not on the %d-hour grid from 1970-01-01T00:00Z", expr, w1.Start, n)
		}
		if 24%n == 0 && w1.Start.Hour()%n != 0 {
			t.Fatalf("%s: window at %v; want one at midnight and every %d hours after", expr, w1.Start, n)
		}
	}
}

func TestProperty_RateDays(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		n := 1 + r.IntN(999)
		if r.IntN(2) == 0 {
			n = 1 + r.IntN(10)
		}
		expr := fmt.Sprintf("rate(%d days)", n)
		duration := randomDuration(r)
		s := MustParse(t, rotor.RotationRules{ScheduleExpression: expr, Duration: duration})
		last := randomTime(r)
		after := last.Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
		w1, w2 := checkSequence(t, r, s, expr+"+"+duration, duration, after, last)
		lastDay := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC)
		if w2.Start.Sub(w1.Start) != time.Duration(n)*24*time.Hour {
			t.Fatalf("%s: windows at %v and %v, want %d days apart", expr, w1.Start, w2.Start, n)
		}
		if days := int(w1.Start.Sub(lastDay) / (24 * time.Hour)); days < n || days%n != 0 || w1.Start.Hour() != 0 {
			t.Fatalf("%s: window at %v is not a midnight a multiple of %d days after the last rotation's day %v", expr, w1.Start, n, lastDay)
		}
		if after.Before(lastDay.AddDate(0, 0, n)) && !w1.Start.Equal(lastDay.AddDate(0, 0, n)) {
			t.Fatalf("%s: Next(%v, last %v) = %v, want the due day %v", expr, after, last, w1.Start, lastDay.AddDate(0, 0, n))
		}
	}
}

func TestProperty_AutomaticallyAfterDays(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		n := 1 + r.IntN(1000)
		duration := randomDuration(r)
		s := MustParse(t, rotor.RotationRules{AutomaticallyAfterDays: int64(n), Duration: duration})
		last := randomTime(r)
		w := s.Next(randomTime(r), last)
		checkWindow(t, fmt.Sprint(n, "days"), w, duration)
		want := time.Date(last.Year(), last.Month(), last.Day()+n, 0, 0, 0, 0, time.UTC)
		if !w.Start.Equal(want) {
			t.Fatalf("AutomaticallyAfterDays %d, last %v: Start %v, want %v", n, last, w.Start, want)
		}
		if other := s.Next(randomTime(r), last); other != w {
			t.Fatalf("AutomaticallyAfterDays %d: Next depends on after: %v vs %v", n, other, w)
		}
		if p := schedule.PickStart(w, r); !w.Contains(p) {
			t.Fatalf("PickStart = %v, outside [%v, %v)", p, w.Start, w.End)
		}
	}
}

func TestPickStart(t *testing.T) {
	w := schedule.Window{Start: at(2024, 1, 10, 0), End: at(2024, 1, 11, 0)}

	t.Run("Uniform", func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		const draws = 24000
		var perHour [24]int
		for range draws {
			p := schedule.PickStart(w, r)
			if !w.Contains(p) {
				t.Fatalf("PickStart = %v, outside [%v, %v)", p, w.Start, w.End)
			}
			perHour[p.Hour()]++
		}
		// Each hour expects 1000 draws (sd about 31); 700-1300 is ten sd out.
		for h, n := range perHour {
			if n < 700 || n > 1300 {
				t.Fatalf("hour %d drew %d of %d starts; not uniform: %v", h, n, draws, perHour)
			}
		}
	})
	t.Run("Seeded", func(t *testing.T) {
		a, b := rand.New(rand.NewPCG(13, 14)), rand.New(rand.NewPCG(13, 14))
		for range 100 {
			if pa, pb := schedule.PickStart(w, a), schedule.PickStart(w, b); !pa.Equal(pb) {
				t.Fatalf("same seed, different picks: %v, %v", pa, pb)
			}
		}
	})
	t.Run("Empty", func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		e := schedule.Window{Start: w.Start, End: w.Start}
		if p := schedule.PickStart(e, r); !p.Equal(w.Start) {
			t.Fatalf("PickStart(empty) = %v, want %v", p, w.Start)
		}
	})
	t.Run("SubSecond", func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		short := schedule.Window{Start: w.Start, End: w.Start.Add(500 * time.Millisecond)}
		for range 100 {
			if p := schedule.PickStart(short, r); !short.Contains(p) {
				t.Fatalf("PickStart = %v, outside [%v, %v)", p, short.Start, short.End)
			}
		}
	})
}
