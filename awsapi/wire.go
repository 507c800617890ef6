package awsapi

import (
	"bytes"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// Timestamp is a time on the wire: a JSON number of seconds since the Unix
// epoch with a millisecond fraction (1523477145.713), as the AWS JSON
// protocol encodes timestamps. Whole seconds are written without a fraction.
// The zero Timestamp is left out by the `omitzero` tag option and decodes
// from null.
type Timestamp struct{ time.Time }

// MarshalJSON writes t as epoch seconds, truncated to the millisecond.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	sec, frac := ms/1000, ms%1000
	if frac == 0 {
		return []byte(sign + strconv.FormatInt(sec, 10)), nil
	}
	return []byte(sign + strings.TrimRight(fmt.Sprintf("%d.%03d", sec, frac), "0")), nil
}

// UnmarshalJSON reads epoch seconds (a JSON number; fraction and exponent
// allowed, rounded to the nanosecond) or null. The result is in UTC.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		*t = Timestamp{}
		return nil
	}
	ns, err := parseEpochNanos(s)
	if err != nil {
		return fmt.Errorf("awsapi: timestamp %.40q: %w", s, err)
	}
	*t = Timestamp{time.Unix(0, ns).UTC()}
	return nil
}

// parseEpochNanos converts a JSON number of epoch seconds to nanoseconds
// exactly (decimal arithmetic, no float rounding), rounding half away from
// zero below the nanosecond.
func parseEpochNanos(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	mant, expStr, hasExp := strings.Cut(strings.TrimPrefix(s, "-"), "e")
	if !hasExp {
		mant, expStr, hasExp = strings.Cut(mant, "E")
	}
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expStr)
		if err != nil || e < -40 || e > 40 {
			return 0, fmt.Errorf("not a number of epoch seconds in range")
		}
		exp = e
	}
	intPart, fracPart, _ := strings.Cut(mant, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(fracPart) {
		return 0, fmt.Errorf("not a number of epoch seconds")
	}
	n, _ := new(big.Int).SetString(intPart+fracPart, 10)
	scale := exp - len(fracPart) + 9 // nanoseconds = digits × 10^scale
	if scale >= 0 {
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	} else {
		d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil)
		q, r := n.QuoRem(n, d, new(big.Int))
		if r.Lsh(r, 1).Cmp(d) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		n = q
	}
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("out of range")
	}
	return n.Int64(), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// at returns t as a Timestamp (zero stays zero, so omitzero drops it).
func at(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{t}
}

// day returns t truncated to midnight UTC: AWS reports LastAccessedDate with
// day granularity.
func day(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{t.UTC().Truncate(24 * time.Hour)}
}

// wireTag is a Tag on the wire, in requests and responses.
type wireTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// wireFilter is one ListSecrets / BatchGetSecretValue filter.
type wireFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

// wireRotationRules is RotationRulesType in responses.
type wireRotationRules struct {
	AutomaticallyAfterDays int64  `json:"AutomaticallyAfterDays,omitempty"`
	Duration               string `json:"Duration,omitempty"`
	ScheduleExpression     string `json:"ScheduleExpression,omitempty"`
}

// str returns *p, or "" for nil.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// sortedStages returns labels sorted (AWS returns label lists sorted), or
// nil when there are none. It never modifies labels: a list already in order
// (the common case, one label) is returned as is, any other is copied.
func sortedStages(labels []string) []string {
	if len(labels) == 0 {
		return nil
	}
	if sort.StringsAreSorted(labels) {
		return labels
	}
	out := append([]string(nil), labels...)
	sort.Strings(out)
	return out
}

// versionStages converts a domain version→labels map, sorting each list and
// leaving out unlabelled versions; nil when nothing is left.
func versionStages(m map[string][]string) map[string][]string {
	var out map[string][]string
	for id, labels := range m {
		if len(labels) == 0 {
			continue
		}
		if out == nil {
			out = make(map[string][]string, len(m))
		}
		out[id] = sortedStages(labels)
	}
	return out
}

// tagsFromWire converts request tags.
func tagsFromWire(tags []wireTag) []rotor.Tag {
	if tags == nil {
		return nil
	}
	out := make([]rotor.Tag, len(tags))
	for i, t := range tags {
		out[i] = rotor.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// tagsToWire converts domain tags, keeping the difference between nil
// (never tagged: member absent) and empty (all tags removed: "Tags": []).
func tagsToWire(tags []rotor.Tag) []wireTag {
	if tags == nil {
		return nil
	}
	out := make([]wireTag, len(tags))
	for i, t := range tags {
		out[i] = wireTag{Key: t.Key, Value: t.Value}
	}
	return out
}

// filtersFromWire converts request filters.
func filtersFromWire(fs []wireFilter) []rotor.Filter {
	if fs == nil {
		return nil
	}
	out := make([]rotor.Filter, len(fs))
	for i, f := range fs {
		out[i] = rotor.Filter{Key: f.Key, Values: f.Values}
	}
	return out
}

// valueFromWire builds a domain value from the wire members. Both may be
// set; the service decides what that means (AWS: InvalidParameterException).
func valueFromWire(s *string, b []byte) rotor.Value {
	return rotor.Value{String: s, Binary: b}
}

// maxResults converts an optional page size; 0 means "not given".
func maxResults(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

// errNoResult reports a service that returned neither a result nor an error.
var errNoResult = fmt.Errorf("awsapi: the service returned no result and no error")

// result returns v, err, turning a nil result without an error into an
// internal error rather than a nil dereference.
func result[T any](v *T, err error) (*T, error) {
	if err == nil && v == nil {
		return nil, errNoResult
	}
	return v, err
}
