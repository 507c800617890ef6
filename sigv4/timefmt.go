package sigv4

import "time"

// Fast paths for the two fixed-width time formats of SigV4, which a server
// parses and prints on every request. Each gives exactly the result of
// time.Parse / Time.AppendFormat with isoLayout or dateLayout, and leaves
// anything unusual (a bad digit, a year outside 0-9999) to those functions.

// parseISOBasic parses s as isoLayout ("20060102T150405Z") when s is in
// exactly that form and names a real UTC time: the time.Parse result for
// such strings. It reports false otherwise; time.Parse then decides.
func parseISOBasic(s string) (time.Time, bool) {
	if len(s) != len(isoLayout) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[4:6])
	d, ok3 := digits(s[6:8])
	h, ok4 := digits(s[9:11])
	mi, ok5 := digits(s[11:13])
	sec, ok6 := digits(s[13:15])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d { // normalised: no such day
		return time.Time{}, false
	}
	return t, true
}

// validScopeDate reports whether s is a dateLayout ("20060102") date that
// time.Parse accepts: eight digits naming a real calendar day.
func validScopeDate(s string) bool {
	if len(s) != len(dateLayout) {
		return false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[4:6])
	d, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	return t.Year() == y && int(t.Month()) == mo && t.Day() == d
}

// appendISOBasic appends t (in its own location) as isoLayout.
func appendISOBasic(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, isoLayout)
	}
	h, mi, s := t.Clock()
	b = appendDigits(b, y, 4)
	b = appendDigits(b, int(mo), 2)
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = appendDigits(b, mi, 2)
	b = appendDigits(b, s, 2)
	return append(b, 'Z')
}

// appendScopeDate appends t (in its own location) as dateLayout.
func appendScopeDate(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, dateLayout)
	}
	b = appendDigits(b, y, 4)
	b = appendDigits(b, int(mo), 2)
	return appendDigits(b, d, 2)
}

// digits returns the value of s, which must be all ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// appendDigits appends n (0 <= n < 10^width) zero-padded to width digits.
func appendDigits(b []byte, n, width int) []byte {
	var d [4]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:width]...)
}
