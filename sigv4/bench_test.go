package sigv4_test

import (
	"testing"

	"github.com/rotorhq/rotor/sigv4"
)

// BenchmarkVerify measures Verify on a request as Go's server delivers it.
// "cached" reuses one Verifier, so the signing key comes from its cache (one
// HMAC per request); "uncached" uses a fresh Verifier each time and pays for
// the four-HMAC key derivation too.
func BenchmarkVerify(b *testing.B) {
	w := newWire(b)
	got := w.send(b, sdkRequest(b, w.URL(), []byte(testBody), creds(testSecret, testToken), testRegion, testService, signTime))
	a, err := sigv4.ParseRequest(got.r)
	if err != nil {
		b.Fatal(err)
	}
	now := fixedNow(signTime)
	b.Run("cached", func(b *testing.B) {
		v := &sigv4.Verifier{Now: now}
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(got.r, got.body, a, testSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v := &sigv4.Verifier{Now: now}
			if err := v.Verify(got.r, got.body, a, testSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+verify", func(b *testing.B) {
		v := &sigv4.Verifier{Now: now}
		b.ReportAllocs()
		for b.Loop() {
			a, err := sigv4.ParseRequest(got.r)
			if err != nil {
				b.Fatal(err)
			}
			if err := v.Verify(got.r, got.body, a, testSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
}
