package postgres

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// textSample returns every string of up to two code points from a set
// that sits at the edges of UTF-8's encoding lengths and of the ranges text
// can hold.
func textSample() []string {
	runes := []rune{0x01, 'A', 'a', 0x7F, 0x80, 0xBF, 0xC0, 0xE9, 0x7FF, 0x800, 0xFFF, 0x1000,
		0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x3FFFF, 0x40000, 0x10FFFF}
	out := []string{""}
	layer := []string{""}
	for range 2 {
		var next []string
		for _, s := range layer {
			for _, r := range runes {
				next = append(next, s+string(r))
			}
		}
		out = append(out, next...)
		layer = next
	}
	return out
}

// probeBytes are the bytes probes are made of: the edges of UTF-8 lead and
// continuation bytes, bytes never in UTF-8, and NUL.
var probeBytes = []byte{0x00, 0x01, 'A', 'a', 0x7F, 0x80, 0x8F, 0x90, 0xA9, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3,
	0xDF, 0xE0, 0xED, 0xEE, 0xEF, 0xF0, 0xF3, 0xF4, 0xF5, 0xFE, 0xFF}

// probes returns random byte strings of up to five probeBytes, and every
// sample string cut at each byte.
func probes(sample []string) []string {
	r := rand.New(rand.NewPCG(1, 2))
	var out []string
	for range 5000 {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = probeBytes[r.IntN(len(probeBytes))]
		}
		out = append(out, string(b))
	}
	for _, s := range sample {
		for i := range len(s) + 1 {
			out = append(out, s[:i])
		}
	}
	return out
}

// TestTextCeil checks, for every probe p and every sample string s that
// text can hold, that s >= p exactly when s >= textCeil(p), and that
// textCeil(p) is itself text and not below p.
func TestTextCeil(t *testing.T) {
	sample := textSample()
	for _, s := range sample {
		if !textOK(s) {
			t.Fatalf("sample %q is not text", s)
		}
	}
	for _, p := range probes(sample) {
		ceil, ok := textCeil(p)
		if ok && (!textOK(ceil) || ceil < p) {
			t.Fatalf("textCeil(%q) = %q: not text, or below the probe", p, ceil)
		}
		if textOK(p) && (!ok || ceil != p) {
			t.Fatalf("textCeil(%q) = %q, %v; want the text itself", p, ceil, ok)
		}
		for _, s := range sample {
			want := s >= p
			got := ok && s >= ceil
			if got != want {
				t.Fatalf("probe %q, ceil %q (%v): %q >= probe is %v, but compared with the ceil %v", p, ceil, ok, s, want, got)
			}
		}
	}
}

// TestPrefixBounds checks, for every probe p and sample string s, that s
// starts with p exactly when it lies in prefixBounds(p).
func TestPrefixBounds(t *testing.T) {
	sample := textSample()
	for _, p := range probes(sample) {
		lo, hi, hasHi, empty := prefixBounds(p)
		if !empty && (!textOK(lo) || (hasHi && !textOK(hi))) {
			t.Fatalf("prefixBounds(%q) = %q, %q: bounds must be text", p, lo, hi)
		}
		for _, s := range sample {
			want := strings.HasPrefix(s, p)
			got := !empty && s >= lo && (!hasHi || s < hi)
			if got != want {
				t.Fatalf("prefix %q, bounds [%q, %q) (hi %v, empty %v): %q starts with it: %v, in bounds: %v",
					p, lo, hi, hasHi, empty, s, want, got)
			}
		}
	}
}

func TestCheckText(t *testing.T) {
	if err := checkText(field{"description", "plain, é, \U0010FFFF"}, field{"tag key", ""}); err != nil {
		t.Errorf("valid text refused: %v", err)
	}
	for _, bad := range []string{"a\x00b", "\xc3", "\xed\xa0\x80" /* a surrogate */, "\xff"} {
		err := checkText(field{"ok", "fine"}, field{"staging label", bad})
		if err == nil || !strings.Contains(err.Error(), "staging label") || strings.Contains(err.Error(), bad) {
			t.Errorf("checkText(%q) = %v; want EINVALID naming the field, not the value", bad, err)
		}
		if utf8.ValidString(bad) && !strings.Contains(err.Error(), "NUL") {
			t.Errorf("checkText(%q) = %v; want it to say NUL", bad, err)
		}
	}
}
