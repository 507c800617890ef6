package serverproc

import (
	"os"
	"testing"
	"time"
)

func TestCPUTimeGrowsWithWork(t *testing.T) {
	before, ok := CPUTime(os.Getpid())
	if !ok {
		t.Fatal("no CPU time for this process from /proc")
	}
	// Spin until the kernel has counted at least three more ticks.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if now, _ := CPUTime(os.Getpid()); now >= before+30*time.Millisecond {
			return
		}
	}
	t.Fatal("CPU time did not grow while the process spun")
}

func TestCPUTimeOfNoProcess(t *testing.T) {
	if _, ok := CPUTime(-1); ok {
		t.Fatal("CPU time reported for pid -1")
	}
}
