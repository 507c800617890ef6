package sigv4

import (
	"encoding/hex"
	"net/http"
	"net/textproto"
	"testing"
)

// TestAppendCanonicalKey checks the allocation-free header-name
// canonicalisation against textproto.CanonicalMIMEHeaderKey, and that it
// declines every name it does not handle itself.
func TestAppendCanonicalKey(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"host", true},
		{"x-amz-date", true},
		{"X-AMZ-DATE", true},
		{"content-type", true},
		{"amz-sdk-invocation-id", true},
		{"x--a", true},
		{"-x", true},
		{"x-", true},
		{"a1-2b", true},
		{"", false},
		{"x_amz", false},
		{"x amz", false},
		{"x:amz", false},
		{"caf\xc3\xa9", false},
	}
	for _, tt := range tests {
		got, ok := appendCanonicalKey(nil, tt.name)
		if ok != tt.ok {
			t.Errorf("appendCanonicalKey(%q) ok = %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if ok && string(got) != textproto.CanonicalMIMEHeaderKey(tt.name) {
			t.Errorf("appendCanonicalKey(%q) = %q, want %q", tt.name, got, textproto.CanonicalMIMEHeaderKey(tt.name))
		}
	}
}

func FuzzAppendCanonicalKey(f *testing.F) {
	for _, s := range []string{"host", "x-amz-date", "X-Amz-Target", "a_b", "", "-", "q1-Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, ok := appendCanonicalKey(nil, name); ok && string(got) != textproto.CanonicalMIMEHeaderKey(name) {
			t.Fatalf("appendCanonicalKey(%q) = %q, want %q", name, got, textproto.CanonicalMIMEHeaderKey(name))
		}
	})
}

// TestHeaderValues checks the allocation-free lookup against the one it
// replaced: the canonical key Go's server uses, then the name as given, for
// a header map built by hand.
func TestHeaderValues(t *testing.T) {
	h := http.Header{
		"X-Amz-Target": {"t"},
		"x-raw":        {"raw"},
		"X-Both":       {"canonical"},
		"x-both":       {"raw"},
		"x_under":      {"underscore"},
		"X-Empty":      {},
		"x-empty":      {"raw-after-empty"},
	}
	reference := func(name string) []string {
		if v := h.Values(name); len(v) > 0 {
			return v
		}
		return h[name]
	}
	for _, name := range []string{"x-amz-target", "x-raw", "x-both", "x_under", "x-empty", "missing", "X-AMZ-TARGET"} {
		got, want := headerValues(h, name), reference(name)
		if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Errorf("headerValues(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestDecodeHex checks decodeHex against encoding/hex.
func TestDecodeHex(t *testing.T) {
	for _, s := range []string{
		"00ff10Aa", "00ff10a", "00ff10ag", "0xff10aa", "", "  ff10aa", "FFFFFFFF",
	} {
		want, err := hex.DecodeString(s)
		dst := make([]byte, 4)
		ok := decodeHex(dst, s)
		wantOK := err == nil && len(want) == 4
		if ok != wantOK {
			t.Errorf("decodeHex(%q) ok = %v, want %v", s, ok, wantOK)
		} else if ok && string(dst) != string(want) {
			t.Errorf("decodeHex(%q) = %x, want %x", s, dst, want)
		}
	}
}
