package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a parsed cron(Minutes Hours Day-of-month Month Day-of-week
// Year) expression. Minutes is always 0 and Year always *, so neither is
// stored. Exactly one of dom and dow is nil (the field that is ?).
type cronSpec struct {
	hours  uint32 // bit h: a window opens at h:00
	months uint16 // bit m: month m (1-12)
	dom    *domSpec
	dow    *dowSpec
}

// domSpec is a Day-of-month field other than ?. A day matches if any part
// matches.
type domSpec struct {
	days        uint32 // bit d: day d (1-31)
	last        bool   // L: the last day of the month
	lastWeekday bool   // LW: the last Monday-Friday of the month
	nearest     uint32 // bit n: nW, the Monday-Friday nearest day n, within the month
	lastNamed   uint8  // bit wd: <DAY>L, the last such weekday of the month
}

// dowSpec is a Day-of-week field other than ?. Weekdays are numbered as
// time.Weekday (0 = Sunday); the expression numbers them 1-7 (1 = SUN).
type dowSpec struct {
	days   uint8 // bit wd: every such weekday (L alone is Saturday)
	lastOf uint8 // bit wd: nL, the last such weekday of the month
	nth    int   // n#k: k (1-5); 0 = not used
	nthDay int   // n#k: the weekday
}

// field describes the values of one cron field.
type field struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i; nil if the field has none
}

var (
	hoursField = field{name: "Hours", min: 0, max: 23}
	domField   = field{name: "Day-of-month", min: 1, max: 31}
	monthField = field{name: "Month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	dowField = field{name: "Day-of-week", min: 1, max: 7,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
)

// searchMonths bounds the search for the next matching day. Day-of-month,
// Month and Day-of-week depend only on the kind of year (leap or not, and
// the weekday of 1 January); every 400 consecutive years hold all 14 kinds,
// so an expression that fires at all fires within any 401 years.
const searchMonths = 401 * 12

// probeFrom and probeMonths define the span Parse searches to prove that an
// expression fires: 2001-2028 holds all 14 kinds of year.
var probeFrom = time.Date(2000, 12, 31, 23, 0, 0, 0, time.UTC)

const probeMonths = 28 * 12

// cronParser carries the whole expression for error messages.
type cronParser struct{ expr string }

func (p cronParser) errorf(format string, args ...any) error {
	return invalid("The cron expression %s is not valid: %s", p.expr, fmt.Sprintf(format, args...))
}

// parseCron parses the inside of cron(...). expr is the whole expression,
// for messages. Names (JAN-DEC, SUN-SAT, L, W) are case-insensitive.
func parseCron(expr, body string) (*Schedule, error) {
	p := cronParser{expr: expr}
	f := strings.Fields(strings.ToUpper(body))
	if len(f) != 6 {
		return nil, p.errorf("it must have six fields: Minutes Hours Day-of-month Month Day-of-week Year.")
	}
	if n, err := strconv.Atoi(f[0]); err != nil || n != 0 || !allDigits(f[0]) {
		return nil, p.errorf("Minutes must be 0.")
	}
	if f[5] != "*" {
		return nil, p.errorf("Year must be *.")
	}
	var c cronSpec
	hours, err := p.list(hoursField, f[1])
	if err != nil {
		return nil, err
	}
	c.hours = uint32(hours)
	if c.dom, err = p.dayOfMonth(f[2]); err != nil {
		return nil, err
	}
	months, err := p.list(monthField, f[3])
	if err != nil {
		return nil, err
	}
	c.months = uint16(months)
	if c.dow, err = p.dayOfWeek(f[4]); err != nil {
		return nil, err
	}
	if (c.dom == nil) == (c.dow == nil) {
		return nil, p.errorf("exactly one of Day-of-month and Day-of-week must be ?.")
	}
	if t, ok := c.search(probeFrom, probeMonths); !ok || t.Year() > 2028 {
		return nil, p.errorf("no date ever matches its Day-of-month, Month and Day-of-week fields.")
	}
	return &Schedule{kind: kindCron, cron: &c, expr: "cron(" + strings.Join(f, " ") + ")"}, nil
}

// list parses a comma-separated list of plain items (see item) into a bit
// set of values.
func (p cronParser) list(f field, s string) (uint64, error) {
	var set uint64
	for it := range strings.SplitSeq(s, ",") {
		m, err := p.item(f, it)
		if err != nil {
			return 0, err
		}
		set |= m
	}
	return set, nil
}

// item parses one plain item: *, v, a-b, or any of them followed by /step.
// v/step runs from v to the field's maximum.
func (p cronParser) item(f field, it string) (uint64, error) {
	switch {
	case it == "":
		return 0, p.errorf("%s has an empty item in its list.", f.name)
	case it == "?" && (f.name == domField.name || f.name == dowField.name):
		return 0, p.errorf("? must stand alone in %s.", f.name)
	case it == "?":
		return 0, p.errorf("? is allowed only in Day-of-month or Day-of-week, not in %s.", f.name)
	}
	base, stepText, hasStep := strings.Cut(it, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || !allDigits(stepText) || n < 1 {
			return 0, p.errorf("the increment in %s item %s must be a positive integer.", f.name, it)
		}
		step = min(n, f.max+1) // a larger step only ever yields its start
	}
	var lo, hi int
	switch a, b, isRange := strings.Cut(base, "-"); {
	case base == "*":
		lo, hi = f.min, f.max
	case isRange:
		var err error
		if lo, err = p.value(f, a); err != nil {
			return 0, err
		}
		if hi, err = p.value(f, b); err != nil {
			return 0, err
		}
		if lo > hi {
			return 0, p.errorf("the range %s in %s runs backwards.", base, f.name)
		}
	default:
		var err error
		if lo, err = p.value(f, base); err != nil {
			return 0, err
		}
		hi = lo
		if hasStep {
			hi = f.max
		}
	}
	var set uint64
	for v := lo; v <= hi; v += step {
		set |= 1 << v
	}
	return set, nil
}

// value parses a single number or name of field f.
func (p cronParser) value(f field, s string) (int, error) {
	if allDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n < f.min || n > f.max {
			if f.names != nil {
				return 0, p.errorf("%s value %s is out of range %d-%d (or %s-%s).", f.name, s, f.min, f.max, f.names[0], f.names[len(f.names)-1])
			}
			return 0, p.errorf("%s value %s is out of range %d-%d.", f.name, s, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if s == name {
			return f.min + i, nil
		}
	}
	if s == "" {
		return 0, p.errorf("%s is missing a value.", f.name)
	}
	return 0, p.errorf("%s value %s is not valid.", f.name, s)
}

// dayOfMonth parses Day-of-month: ? (nil), or a list of plain items, L
// (last day), LW (last weekday), nW (weekday nearest day n) and <DAY>L (the
// last such weekday, which the Secrets Manager user guide allows here:
// "SUNL means the last Sunday of the month").
func (p cronParser) dayOfMonth(s string) (*domSpec, error) {
	if s == "?" {
		return nil, nil
	}
	var d domSpec
	for it := range strings.SplitSeq(s, ",") {
		prefix, hasL := strings.CutSuffix(it, "L")
		switch {
		case it == "L":
			d.last = true
		case it == "LW":
			d.lastWeekday = true
		case strings.HasSuffix(it, "W") && allDigits(it[:len(it)-1]):
			n, err := p.value(domField, it[:len(it)-1])
			if err != nil {
				return nil, err
			}
			d.nearest |= 1 << n
		case hasL && allDigits(prefix):
			return nil, p.errorf("Day-of-month %s is not valid: nL (the last weekday n of the month) belongs in Day-of-week.", it)
		case hasL && weekdayName(prefix) >= 0:
			d.lastNamed |= 1 << weekdayName(prefix)
		default:
			m, err := p.item(domField, it)
			if err != nil {
				return nil, err
			}
			d.days |= uint32(m)
		}
	}
	return &d, nil
}

// dayOfWeek parses Day-of-week: ? (nil), n#k alone (the k-th weekday n of
// the month, k 1-5; EventBridge allows only one # expression in the field),
// or a list of plain items, L (Saturday, the last day of the week) and nL
// (the last weekday n of the month). n is 1-7 or SUN-SAT, 1 = SUN.
func (p cronParser) dayOfWeek(s string) (*dowSpec, error) {
	if s == "?" {
		return nil, nil
	}
	var d dowSpec
	if strings.Contains(s, "#") {
		a, k, _ := strings.Cut(s, "#")
		if strings.Contains(s, ",") || strings.Contains(k, "#") {
			return nil, p.errorf("an n#k item must be the only expression in Day-of-week.")
		}
		n, err := p.value(dowField, a)
		if err != nil {
			return nil, err
		}
		if len(k) != 1 || k[0] < '1' || k[0] > '5' {
			return nil, p.errorf("Day-of-week %s is not valid: the occurrence after # must be within 1-5.", s)
		}
		d.nth, d.nthDay = int(k[0]-'0'), n-1
		return &d, nil
	}
	for it := range strings.SplitSeq(s, ",") {
		prefix, hasL := strings.CutSuffix(it, "L")
		switch {
		case it == "L":
			d.days |= 1 << time.Saturday
		case hasL:
			n, err := p.value(dowField, prefix)
			if err != nil {
				return nil, err
			}
			d.lastOf |= 1 << (n - 1)
		default:
			m, err := p.item(dowField, it)
			if err != nil {
				return nil, err
			}
			d.days |= uint8(m >> 1) // values 1-7 to weekdays 0-6
		}
	}
	return &d, nil
}

// weekdayName returns the weekday (0 = Sunday) named by an upper-case
// SUN-SAT, or -1.
func weekdayName(s string) int {
	for i, name := range dowField.names {
		if s == name {
			return i
		}
	}
	return -1
}

// next returns the first time after after at which the expression opens a
// window.
func (c *cronSpec) next(after time.Time) (time.Time, bool) {
	return c.search(after, searchMonths)
}

// search is next, giving up after maxMonths calendar months.
func (c *cronSpec) search(after time.Time, maxMonths int) (time.Time, bool) {
	after = after.UTC()
	y, mo, d := after.Date()
	m := int(mo)
	// On after's own day only hours after after's hour count: a window at
	// h:00 is after after exactly when h > after.Hour().
	if c.months&(1<<m) != 0 {
		dim, first := monthInfo(y, m)
		if c.matchDay(dim, first, d) {
			if later := c.hours &^ (1<<(after.Hour()+1) - 1); later != 0 {
				return time.Date(y, mo, d, bits.TrailingZeros32(later), 0, 0, 0, time.UTC), true
			}
		}
	}
	firstHour := bits.TrailingZeros32(c.hours)
	d++
	for range maxMonths {
		if c.months&(1<<m) != 0 {
			dim, first := monthInfo(y, m)
			for ; d <= dim; d++ {
				if c.matchDay(dim, first, d) {
					return time.Date(y, time.Month(m), d, firstHour, 0, 0, 0, time.UTC), true
				}
			}
		}
		d, m = 1, m+1
		if m > 12 {
			m, y = 1, y+1
		}
	}
	return time.Time{}, false
}

// monthInfo returns the number of days in month m of year y and the weekday
// of its first day.
func monthInfo(y, m int) (int, time.Weekday) {
	first := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	return first.AddDate(0, 1, -1).Day(), first.Weekday()
}

// matchDay reports whether day d of a month with dim days whose first day
// is a first matches the Day-of-month or Day-of-week field.
func (c *cronSpec) matchDay(dim int, first time.Weekday, d int) bool {
	wd := (int(first) + d - 1) % 7
	lastWeek := d+7 > dim // d is the last such weekday of the month
	if w := c.dow; w != nil {
		switch {
		case w.days&(1<<wd) != 0, lastWeek && w.lastOf&(1<<wd) != 0:
			return true
		case w.nth != 0:
			return wd == w.nthDay && (d-1)/7+1 == w.nth
		}
		return false
	}
	s := c.dom
	switch {
	case s.days&(1<<d) != 0,
		s.last && d == dim,
		lastWeek && s.lastNamed&(1<<wd) != 0:
		return true
	case s.lastWeekday && d == nearestWeekday(dim, first, dim):
		return true
	}
	for n := s.nearest; n != 0; n &= n - 1 {
		if day := bits.TrailingZeros32(n); day <= dim && d == nearestWeekday(dim, first, day) {
			return true
		}
	}
	return false
}

// nearestWeekday returns the Monday-Friday nearest day n (n <= dim) without
// leaving the month: a Saturday moves to the Friday before (or, on the 1st,
// to Monday the 3rd), a Sunday to the Monday after (or, on the last day, to
// the Friday before).
func nearestWeekday(dim int, first time.Weekday, n int) int {
	switch time.Weekday((int(first) + n - 1) % 7) {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == dim {
			return n - 2
		}
		return n + 1
	}
	return n
}

// perDay returns how many windows the expression opens on a matching day.
func (c *cronSpec) perDay() int { return bits.OnesCount32(c.hours) }

// lastHour returns the latest hour at which a window opens.
func (c *cronSpec) lastHour() int { return 31 - bits.LeadingZeros32(c.hours) }

// minGap returns the smallest number of hours between two windows on the
// same day, or 0 if only one opens a day.
func (c *cronSpec) minGap() int {
	gap, prev := 0, -1
	for h := c.hours; h != 0; h &= h - 1 {
		cur := bits.TrailingZeros32(h)
		if prev >= 0 && (gap == 0 || cur-prev < gap) {
			gap = cur - prev
		}
		prev = cur
	}
	return gap
}
