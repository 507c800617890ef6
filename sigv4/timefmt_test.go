package sigv4

import (
	"testing"
	"time"
)

// parseISOReference is what parseTime did for X-Amz-Date before the fast
// path: time.Parse plus a round trip that refuses non-canonical input.
func parseISOReference(s string) (time.Time, bool) {
	t, err := time.Parse(isoLayout, s)
	if err != nil || t.Format(isoLayout) != s {
		return time.Time{}, false
	}
	return t.UTC(), true
}

var timeSeeds = []string{
	"20200611T141439Z", "20200229T000000Z", "20210229T000000Z", "20201301T000000Z", "20200100T000000Z",
	"20200611T241439Z", "20200611T146039Z", "20200611T141460Z", "20200611T141439z", "20200611 141439Z",
	"2020061aT141439Z", "00000101T000000Z", "99991231T235959Z", "20200611T141439", "+0200611T141439Z",
	"20200431T000000Z", "20200611", "20200230", "00000000", "2020-6-1",
}

// TestParseISOBasic checks the fast X-Amz-Date parser against time.Parse: it
// accepts only what time.Parse accepts, with the same instant.
func TestParseISOBasic(t *testing.T) {
	for _, s := range timeSeeds {
		checkParseISO(t, s)
	}
}

func FuzzParseISOBasic(f *testing.F) {
	for _, s := range timeSeeds {
		f.Add(s)
	}
	f.Fuzz(checkParseISO)
}

func checkParseISO(t *testing.T, s string) {
	got, ok := parseISOBasic(s)
	want, wantOK := parseISOReference(s)
	if ok && (!wantOK || got != want) {
		t.Fatalf("parseISOBasic(%q) = %v, true; time.Parse gives %v, %v", s, got, want, wantOK)
	}
	// The fast path may decline only what time.Parse also refuses, or the
	// fallback would be hit on ordinary input.
	if !ok && wantOK && len(s) == len(isoLayout) {
		t.Fatalf("parseISOBasic(%q) declined a canonical time %v", s, want)
	}
	_, err := time.Parse(dateLayout, s)
	if validScopeDate(s) != (err == nil && len(s) == len(dateLayout) && isDigits(s)) {
		t.Fatalf("validScopeDate(%q) = %v, time.Parse error %v", s, validScopeDate(s), err)
	}
}

// TestAppendISOBasic checks the fast formatters against Time.AppendFormat,
// including years the fast path leaves to AppendFormat.
func TestAppendISOBasic(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2020, 6, 11, 14, 14, 39, 0, time.UTC),
		time.Date(2020, 6, 11, 0, 0, 0, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2020, 6, 11, 23, 30, 0, 0, time.FixedZone("x", -3*3600)),
	} {
		if got, want := string(appendISOBasic([]byte("p"), tm)), "p"+tm.Format(isoLayout); got != want {
			t.Errorf("appendISOBasic(%v) = %q, want %q", tm, got, want)
		}
		if got, want := string(appendScopeDate(nil, tm)), tm.Format(dateLayout); got != want {
			t.Errorf("appendScopeDate(%v) = %q, want %q", tm, got, want)
		}
	}
}
