package scrub_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotation/scrub"
)

// leaks reports the first of secrets found in s.
func leaks(s string, secrets ...string) string {
	for _, x := range secrets {
		if strings.Contains(s, x) {
			return x
		}
	}
	return ""
}

func TestScrubNumbersAndBooleansAsWritten(t *testing.T) {
	s := scrub.New(`{"username":"app","pin": 739184, "account": 12345678901234567890, "ratio": 1.50e3, "mfa_backup": false, "port": 6379}`)
	for _, tc := range []struct{ in, secret string }{
		{"your pin is 739184.", "739184"},
		{"account 12345678901234567890 locked", "12345678901234567890"},
		{"ratio=1.50e3", "1.50e3"},
		{"backup codes: false", "false"},
	} {
		got := s.Scrub(tc.in)
		if strings.Contains(got, tc.secret) || !strings.Contains(got, scrub.Redacted) {
			t.Errorf("Scrub(%q) = %q, want %q removed", tc.in, got, tc.secret)
		}
	}
	// The number as a float64 round trip would print it is not what was
	// written; the identifying port stays.
	if got := s.Scrub("port 6379"); got != "port 6379" {
		t.Errorf("identifying port scrubbed: %q", got)
	}
}

func TestScrubForms(t *testing.T) {
	const pw = `p<a>s&s "wörd"/+1`
	s := scrub.New(`{"username":"app_user","password":` + mustJSON(pw) + `}`)
	htmlEscaped, _ := json.Marshal(pw) // \u003c, \u003e, \u0026
	b64 := func(e *base64.Encoding) string { return e.EncodeToString([]byte(pw)) }
	for _, tc := range []struct{ name, prefix, encoded string }{
		{"raw", "failed with ", pw},
		{"json-html-escaped", "", string(htmlEscaped[1 : len(htmlEscaped)-1])},
		{"json-plain", `{"password":"`, `p<a>s&s \"wörd\"/+1`},
		{"json-python-ascii", `{"password": "`, `p<a>s&s \"w\u00f6rd\"/+1`},
		{"url-query", "dsn=postgres://app_user:", url.QueryEscape(pw)},
		{"url-path", "/", url.PathEscape(pw)},
		{"base64-std", "x ", b64(base64.StdEncoding)},
		{"base64-raw-std", "x ", b64(base64.RawStdEncoding)},
		{"base64-url", "x ", b64(base64.URLEncoding)},
		{"base64-raw-url", "x ", b64(base64.RawURLEncoding)},
		{"hex-lower", "bytes ", hex.EncodeToString([]byte(pw))},
		{"hex-upper", "bytes ", strings.ToUpper(hex.EncodeToString([]byte(pw)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.prefix + tc.encoded + "."
			if got, want := s.Scrub(in), tc.prefix+scrub.Redacted+"."; got != want {
				t.Fatalf("Scrub(%q) = %q, want %q", in, got, want)
			}
		})
	}
	// Inside a longer base64 text, at every alignment (HTTP basic auth).
	for _, user := range []string{"app_user:", "app_use:", "app_us:"} {
		auth := base64.StdEncoding.EncodeToString([]byte(user + pw))
		got := s.Scrub("Authorization: Basic " + auth)
		if !strings.Contains(got, scrub.Redacted) {
			t.Errorf("basic auth %q of %q not scrubbed: %q", auth, user, got)
		}
		// What remains decodes to at most a character or two of pw.
		if rest := strings.TrimPrefix(got, "Authorization: Basic "); len(rest) > len(auth)-len(base64.RawStdEncoding.EncodeToString([]byte(pw)))+len(scrub.Redacted)+2 {
			t.Errorf("too much of %q kept: %q", auth, got)
		}
	}
}

func TestScrubOverlappingSecretsRemovedAsOne(t *testing.T) {
	s := scrub.New("secretAAAA", "AAAAbbbb")
	if got := s.Scrub("x secretAAAAbbbb y"); got != "x [redacted] y" {
		t.Fatalf("Scrub = %q, want one redaction for overlapping secrets", got)
	}
}

// TestBoundedNoFragmentAtTheCut cuts a text so that a secret straddles the
// cut, at every position, for both a known text (scrubbed whole, then cut)
// and one whose middle was dropped (the piece next to the gap goes too).
func TestBoundedNoFragmentAtTheCut(t *testing.T) {
	const secret = "Zq7#kP2!vX9@mW4$"
	s := scrub.New(`{"username":"u","password":"` + secret + `"}`)
	marker := func(n int64) string { return fmt.Sprintf("[%d cut]", n) }
	fragments := func(out string) string {
		// Any 3 consecutive bytes of the secret in out is a fragment.
		for i := 0; i+3 <= len(secret); i++ {
			if strings.Contains(out, secret[i:i+3]) {
				return secret[i : i+3]
			}
		}
		return ""
	}
	for pos := 0; pos <= 40; pos++ {
		text := strings.Repeat("a", pos) + secret + strings.Repeat("b", 60)
		// Known text: scrubbed whole, then cut.
		out := s.Bounded(text, "", int64(len(text)), 48, 20, marker)
		if f := fragments(out); f != "" || len(out) > 48 {
			t.Errorf("known, secret at %d: %q (fragment %q)", pos, out, f)
		}
		// Head kept up to the middle of the secret, the rest dropped.
		for keep := 1; keep < len(secret); keep++ {
			head := strings.Repeat("a", pos) + secret[:keep]
			tail := secret[keep:] + "bbbb"
			total := int64(len(head)+len(tail)) + 1000
			out := s.Bounded(head, tail, total, 4096, 2048, marker)
			if f := fragments(out); f != "" {
				t.Fatalf("gap, head ends %q: %q leaks %q", head, out, f)
			}
			if !strings.HasPrefix(out, strings.Repeat("a", pos)+"[") || !strings.HasSuffix(out, "]bbbb") {
				t.Fatalf("gap, head ends %q: %q, want the text around the secret kept", head, out)
			}
		}
	}
}

func TestBoundedKeepsMarkerCount(t *testing.T) {
	var s *scrub.Scrubber
	text := strings.Repeat("0123456789", 100)
	out := s.Bounded(text, "", int64(len(text)), 100, 50, func(n int64) string { return fmt.Sprintf("<%d>", n) })
	if len(out) > 100 || !strings.HasPrefix(out, text[:50]) || !strings.Contains(out, "<") {
		t.Fatalf("Bounded = %q", out)
	}
	var head, dropped, tail int
	fmt.Sscanf(out[strings.Index(out, "<"):], "<%d>", &dropped)
	head = strings.Index(out, "<")
	tail = len(out) - strings.Index(out, ">") - 1
	if head+dropped+tail != len(text) {
		t.Fatalf("head %d + dropped %d + tail %d != %d", head, dropped, tail, len(text))
	}
}

func mustJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// FuzzBoundedLeavesNoFragment places a secret anywhere in a text, keeps
// any head and tail of it with or without a gap between, and checks the
// rendering never holds 5 consecutive bytes of the secret.
func FuzzBoundedLeavesNoFragment(f *testing.F) {
	const secret = "Zq7#kP2!vX9@mW4$"
	s := scrub.New(`{"password":"` + secret + `"}`)
	f.Add("before ", " after", uint16(10), uint16(0), uint16(20))
	f.Add(strings.Repeat("a", 100), strings.Repeat("b", 100), uint16(105), uint16(50), uint16(60))
	f.Fuzz(func(t *testing.T, prefix, suffix string, cut, gap, limit uint16) {
		for i := 0; i+5 <= len(secret); i++ {
			if strings.Contains(prefix, secret[i:i+5]) || strings.Contains(suffix, secret[i:i+5]) {
				return // the fragment would be the text's own
			}
		}
		text := prefix + secret + suffix
		c := int(cut) % (len(text) + 1)
		g := min(int(gap), len(text)-c)
		lim := int(limit)%200 + 40
		out := s.Bounded(text[:c], text[c+g:], int64(len(text)), lim, lim/2, func(n int64) string { return fmt.Sprintf("[%d cut]", n) })
		if len(out) > lim {
			t.Fatalf("len %d > limit %d: %q", len(out), lim, out)
		}
		for i := 0; i+5 <= len(secret); i++ {
			if strings.Contains(out, secret[i:i+5]) {
				t.Fatalf("text %q cut at %d+%d, limit %d: %q holds %q", text, c, g, lim, out, secret[i:i+5])
			}
		}
	})
}
