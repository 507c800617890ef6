package manager

import (
	"testing"

	"github.com/rotorhq/rotor/internal/sysmem"
)

func TestDefaultCacheBytes(t *testing.T) {
	for _, c := range []struct {
		mem  int64
		ok   bool
		want int64
	}{
		{0, false, 256 << 20},         // unknown: what a 1 GB machine gets
		{1 << 30, true, 256 << 20},    // a 1 GB machine
		{1000 << 20, true, 250 << 20}, // whole MiB
		{512 << 20, true, 128 << 20},
		{128 << 20, true, 32 << 20},
		{48 << 20, true, 16 << 20}, // floor
		{3 << 30, true, 768 << 20},
		{24 << 30, true, 1 << 30}, // cap
		{1<<30 + 3, true, 256 << 20},
	} {
		if got := defaultCacheBytes(sysmem.Limit{Bytes: c.mem, Source: "test"}, c.ok); got != c.want {
			t.Errorf("defaultCacheBytes(%d, %v) = %d, want %d", c.mem, c.ok, got, c.want)
		}
	}
}
