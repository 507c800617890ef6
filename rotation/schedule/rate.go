package schedule

import (
	"fmt"
	"strconv"
	"strings"
)

// parseRate parses the inside of rate(...): "Value Unit" with Value a
// positive integer and Unit one of hour, hours, day, days (the user guide
// lists all four). Singular and plural are accepted for any Value, and
// names case-insensitively; String gives the grammatical form. expr is the
// whole expression, for messages.
func parseRate(expr, body string) (*Schedule, error) {
	fields := strings.Fields(body)
	if len(fields) != 2 {
		return nil, invalid("The rate expression %s is not valid: write rate(Value Unit) with Unit hour, hours, day or days, for example rate(10 days).", expr)
	}
	value, unit := fields[0], strings.ToLower(fields[1])
	var hours bool
	switch unit {
	case "hour", "hours":
		hours = true
	case "day", "days":
	default:
		return nil, invalid("The rate expression %s is not valid: the unit must be hour, hours, day or days.", expr)
	}
	if !allDigits(value) {
		return nil, invalid("The rate expression %s is not valid: the value must be a positive integer.", expr)
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n > MaxRateDays*24 {
		return nil, invalid("The rate expression %s is not valid: the maximum rotation interval is %d days.", expr, MaxRateDays)
	}
	switch {
	case n == 0:
		return nil, invalid("The rate expression %s is not valid: the value must be a positive integer.", expr)
	case hours && n < MinRateHours:
		return nil, invalid("The rate expression %s is not valid: the minimum rotation interval is %d hours.", expr, MinRateHours)
	case !hours && n > MaxRateDays:
		return nil, invalid("The rate expression %s is not valid: the maximum rotation interval is %d days.", expr, MaxRateDays)
	}
	if hours {
		return &Schedule{kind: kindRateHours, n: n, expr: rateString(n, "hour")}, nil
	}
	return &Schedule{kind: kindRateDays, n: n, expr: rateString(n, "day")}, nil
}

// rateString formats rate(n unit), with a plural unit unless n is 1.
func rateString(n int64, unit string) string {
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("rate(%d %s)", n, unit)
}
