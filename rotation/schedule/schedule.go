package schedule

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// Limits from the AWS model (RotationRulesType) and user guide.
const (
	MinAutomaticallyAfterDays = 1    // AutomaticallyRotateAfterDaysType min
	MaxAutomaticallyAfterDays = 1000 // AutomaticallyRotateAfterDaysType max
	MaxExpressionLength       = 256  // ScheduleExpressionType max
	MinRateHours              = 4    // "as often as every four hours"
	MaxRateDays               = 999  // "The maximum rotation period is 999 days"
	MinWindowHours            = 1    // "a rotation window as small as one hour"
	MaxWindowHours            = 24   // a window never leaves its UTC day
)

const day = 24 * time.Hour

type kind uint8

const (
	kindAfterDays kind = iota + 1 // AutomaticallyAfterDays
	kindRateHours                 // rate(N hours)
	kindRateDays                  // rate(N days)
	kindCron                      // cron(...)
)

// Schedule is a validated rotation schedule: one of AutomaticallyAfterDays,
// a rate() expression or a cron() expression, with its window length. The
// zero value is not usable; get one from Parse. A Schedule is immutable and
// safe for concurrent use.
type Schedule struct {
	kind   kind
	n      int64         // days (kindAfterDays, kindRateDays) or hours (kindRateHours)
	window time.Duration // Duration; 0 = the default for the kind
	cron   *cronSpec     // kindCron only
	expr   string        // normalised expression
}

// Window is a time range [Start, End) in UTC inside which one rotation
// starts. Windows open on the hour and never cross a UTC day boundary.
type Window struct{ Start, End time.Time }

// Contains reports whether t lies in [w.Start, w.End).
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// Parse validates rules and returns the schedule they describe. The zero
// RotationRules yields (nil, nil): manual rotation only.
//
// Every error is a *rotor.Error with code rotor.EINVALID whose message names
// the fault, for example "RotationRules.AutomaticallyAfterDays must be within
// 1-1000.", "You can't specify both AutomaticallyAfterDays and
// ScheduleExpression.", "The rate expression rate(2 hours) is not valid: the
// minimum rotation interval is 4 hours.", "The cron expression cron(5 10 * *
// ? *) is not valid: Minutes must be 0." or "The rotation window (Duration
// 6h) runs into the next window: ...". Messages quote the expression and
// Duration only when they hold nothing but the characters the AWS model
// allows.
func Parse(rules rotor.RotationRules) (*Schedule, error) {
	if rules == (rotor.RotationRules{}) {
		return nil, nil
	}
	if rules.AutomaticallyAfterDays != 0 && rules.ScheduleExpression != "" {
		return nil, invalid("You can't specify both AutomaticallyAfterDays and ScheduleExpression.")
	}
	var window time.Duration
	if rules.Duration != "" {
		h, err := parseDuration(rules.Duration)
		if err != nil {
			return nil, err
		}
		window = time.Duration(h) * time.Hour
	}

	var s *Schedule
	switch {
	case rules.AutomaticallyAfterDays != 0:
		n := rules.AutomaticallyAfterDays
		if n < MinAutomaticallyAfterDays || n > MaxAutomaticallyAfterDays {
			return nil, invalid("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
		}
		s = &Schedule{kind: kindAfterDays, n: n, expr: rateString(n, "day")}
	case rules.ScheduleExpression != "":
		var err error
		if s, err = parseExpression(rules.ScheduleExpression); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("RotationRules.Duration needs AutomaticallyAfterDays or ScheduleExpression: it sets the length of the window they open.")
	}
	s.window = window
	if window != 0 {
		if err := s.checkWindow(rules.Duration); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parseDuration parses a Duration of the form [0-9]+h (2-3 characters, as
// the model's DurationType) into whole hours within 1-24.
func parseDuration(d string) (int, error) {
	digits, ok := strings.CutSuffix(d, "h")
	if !ok || len(d) < 2 || len(d) > 3 || !allDigits(digits) {
		return 0, invalid("The Duration is not valid: it must be a whole number of hours written like 3h, from 1h to 24h.")
	}
	h, _ := strconv.Atoi(digits) // at most two digits
	if h < MinWindowHours || h > MaxWindowHours {
		return 0, invalid("The Duration %s is not valid: the rotation window must be from 1h to 24h.", d)
	}
	return h, nil
}

// parseExpression checks the model constraints on ScheduleExpression and
// dispatches to the rate or cron parser.
func parseExpression(expr string) (*Schedule, error) {
	if len(expr) > MaxExpressionLength {
		return nil, invalid("The ScheduleExpression is not valid: it must be at most 256 characters.")
	}
	for i := 0; i < len(expr); i++ {
		if !expressionChar(expr[i]) {
			return nil, invalid("The ScheduleExpression is not valid: it may contain only letters, digits, spaces and the characters ( ) # ? * - / ,")
		}
	}
	e := strings.TrimSpace(expr)
	lower := strings.ToLower(e)
	switch {
	case strings.HasPrefix(lower, "rate(") && strings.HasSuffix(e, ")"):
		return parseRate(e, e[len("rate("):len(e)-1])
	case strings.HasPrefix(lower, "cron(") && strings.HasSuffix(e, ")"):
		return parseCron(e, e[len("cron("):len(e)-1])
	}
	return nil, invalid("The ScheduleExpression %s is not valid: it must be a rate() or a cron() expression.", e)
}

// expressionChar reports whether c matches the model's ScheduleExpression
// pattern [0-9A-Za-z\(\)#\?\*\-\/, ].
func expressionChar(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return true
	}
	return strings.IndexByte("()#?*-/, ", c) >= 0
}

// checkWindow rejects a Duration whose window would run into the next
// window or past the end of the UTC day. d is the Duration as given, for
// the message.
func (s *Schedule) checkWindow(d string) error {
	hours := int(s.window / time.Hour)
	switch s.kind {
	case kindAfterDays, kindRateDays:
		// Windows open at midnight and at least a day apart: any 1h-24h fits.
	case kindRateHours:
		// Windows open every n hours on a grid from 1970-01-01T00:00Z, so
		// the hours they open at are the multiples of gcd(n, 24).
		if int64(hours) > s.n {
			return invalid("The rotation window (Duration %s) runs into the next window: %s opens a window every %d hours.", d, s.expr, s.n)
		}
		if g := gcd(int(s.n%24), 24); hours > g {
			return invalid("The rotation window (Duration %s) runs past the end of the UTC day: %s opens a window at %02d:00 on some days.", d, s.expr, 24-g)
		}
	case kindCron:
		c := s.cron
		if gap := c.minGap(); gap > 0 && hours > gap {
			return invalid("The rotation window (Duration %s) runs into the next window: %s opens windows as little as %d hours apart.", d, s.expr, gap)
		}
		if last := c.lastHour(); last+hours > 24 {
			return invalid("The rotation window (Duration %s) runs past the end of the UTC day: %s opens a window at %02d:00.", d, s.expr, last)
		}
	}
	return nil
}

// Next returns the next rotation window, in UTC.
//
// For cron and rate schedules it is the first window whose Start is after
// after. Cron windows open at the hours the expression names. rate(N hours)
// windows open every N hours on a grid that starts at 1970-01-01T00:00Z.
// rate(N days) windows open at midnight every N days counted from the UTC
// day of lastRotated.
//
// For AutomaticallyAfterDays N it is the window of the UTC day N days after
// the day of lastRotated, whatever after is: that window may lie in the past
// when rotations kept failing (AWS: "this date may be in the past").
//
// lastRotated is the last successful rotation, or the creation or last
// manual change time: the caller decides. A zero lastRotated counts as
// after. Both arguments may be in any location; the result is UTC. s must
// not be nil.
func (s *Schedule) Next(after, lastRotated time.Time) Window {
	after = after.UTC()
	if lastRotated.IsZero() {
		lastRotated = after
	}
	lastDay := midnight(lastRotated.UTC())
	var start time.Time
	switch s.kind {
	case kindAfterDays:
		start = lastDay.AddDate(0, 0, int(s.n))
	case kindRateDays:
		start = lastDay.AddDate(0, 0, int(s.n))
		if !start.After(after) {
			// Whole N-day steps from start to the first one after after.
			days := floorDiv(after.Unix()-start.Unix(), 86400)
			start = start.AddDate(0, 0, int((floorDiv(days, s.n)+1)*s.n))
		}
	case kindRateHours:
		step := s.n * 3600
		k := floorDiv(after.Unix(), step) + 1
		start = time.Unix(k*step, 0).UTC()
	case kindCron:
		var ok bool
		if start, ok = s.cron.next(after); !ok {
			// Unreachable: Parse rejects expressions that never fire, and
			// one that fires does so within every 400 years.
			return Window{}
		}
	}
	return Window{Start: start, End: start.Add(s.length(start))}
}

// length returns the window length for a window opening at start.
func (s *Schedule) length(start time.Time) time.Duration {
	if s.window != 0 {
		return s.window
	}
	switch s.kind {
	case kindRateHours:
		return time.Hour
	case kindCron:
		if s.cron.perDay() > 1 {
			return time.Hour
		}
		return day - start.Sub(midnight(start)) // to the end of the UTC day
	}
	return day
}

// String returns the normalised expression: "rate(10 days)",
// "rate(4 hours)", "cron(0 16 1,15 * ? *)" (single spaces, upper-case
// names). For AutomaticallyAfterDays N it returns the equivalent
// "rate(N days)". A nil Schedule (manual rotation) returns "".
func (s *Schedule) String() string {
	if s == nil {
		return ""
	}
	return s.expr
}

// PickStart returns a start time inside w chosen uniformly at random from r
// at one-second resolution, so it lies in [w.Start, w.End). For an empty
// or inverted window it returns w.Start. r must not be nil.
func PickStart(w Window, r *rand.Rand) time.Time {
	span := w.End.Sub(w.Start)
	switch {
	case span <= 0:
		return w.Start
	case span < time.Second:
		return w.Start.Add(time.Duration(r.Int64N(int64(span))))
	}
	return w.Start.Add(time.Duration(r.Int64N(int64(span/time.Second))) * time.Second)
}

// invalid returns a *rotor.Error with code EINVALID.
func invalid(format string, args ...any) *rotor.Error {
	return rotor.Errorf(rotor.EINVALID, format, args...)
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// floorDiv returns a/b rounded towards negative infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
