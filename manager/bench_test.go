package manager_test

import (
	"testing"

	"github.com/rotorhq/rotor"
)

// BenchmarkGetSecretValue reads a warm secret: served from the cache,
// decrypted on every call.
func BenchmarkGetSecretValue(b *testing.B) {
	e := newEnv(b)
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
