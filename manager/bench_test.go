package manager_test

import (
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// BenchmarkGetSecretValue reads a warm secret: served from the cache,
// decrypted on every call. "shared" gives the cache the maximum age a
// server on a shared store uses, so the two show what the age check costs
// on the hot path.
func BenchmarkGetSecretValue(b *testing.B) {
	for _, bc := range []struct {
		name   string
		maxAge time.Duration
	}{{"local", 0}, {"shared", 5 * time.Second}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, func(c *manager.Config) { c.CacheMaxAge = bc.maxAge })
			e.create(b, "bench", "value")
			in := rotor.GetSecretValueInput{SecretID: "bench"}
			e.current(b, "bench")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.svc.GetSecretValue(e.ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if st := e.svc.CacheStats(); st.Misses > 2 {
				b.Fatalf("%d cache misses: the benchmark is not reading from the cache", st.Misses)
			}
		})
	}
}

// BenchmarkPutSecretValue writes new versions (one durable transaction each).
func BenchmarkPutSecretValue(b *testing.B) {
	e := newEnv(b, withPruneMinAge(1))
	e.create(b, "bench", "value")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.clock.Advance(1)
		e.put(b, "bench", tok(i+1), "value")
	}
}
