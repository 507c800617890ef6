package sysmem

import (
	"runtime"
	"testing"
	"testing/fstest"
)

const meminfo = "MemTotal:       24576000 kB\nMemFree:        20000000 kB\n"

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestAvailable(t *testing.T) {
	const total = 24576000 << 10
	for _, c := range []struct {
		name   string
		files  fstest.MapFS
		want   int64
		source string
		ok     bool
	}{
		{"no proc", fstest.MapFS{}, 0, "", false},
		{"machine only", fstest.MapFS{"proc/meminfo": file(meminfo)}, total, "/proc/meminfo MemTotal", true},
		{"v2 unlimited", fstest.MapFS{
			"proc/meminfo":     file(meminfo),
			"proc/self/cgroup": file("0::/system.slice/rotor.service\n"),
			"sys/fs/cgroup/system.slice/rotor.service/memory.max": file("max\n"),
		}, total, "/proc/meminfo MemTotal", true},
		{"v2 limit on the unit", fstest.MapFS{
			"proc/meminfo":     file(meminfo),
			"proc/self/cgroup": file("0::/system.slice/rotor.service\n"),
			"sys/fs/cgroup/system.slice/rotor.service/memory.max": file("1073741824\n"),
			"sys/fs/cgroup/system.slice/memory.max":               file("max\n"),
		}, 1 << 30, "cgroup v2 memory.max of /system.slice/rotor.service", true},
		{"v2 lower limit on an ancestor", fstest.MapFS{
			"proc/meminfo":     file(meminfo),
			"proc/self/cgroup": file("0::/system.slice/rotor.service\n"),
			"sys/fs/cgroup/system.slice/rotor.service/memory.max": file("1073741824\n"),
			"sys/fs/cgroup/system.slice/memory.max":               file("536870912\n"),
		}, 512 << 20, "cgroup v2 memory.max of /system.slice", true},
		{"v2 namespace sees its group as the root", fstest.MapFS{
			"proc/meminfo":             file(meminfo),
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("268435456\n"),
		}, 256 << 20, "cgroup v2 memory.max of /", true},
		{"limit above the machine", fstest.MapFS{
			"proc/meminfo":             file(meminfo),
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("1099511627776\n"),
		}, total, "/proc/meminfo MemTotal", true},
		{"v1 limit", fstest.MapFS{
			"proc/meminfo":     file(meminfo),
			"proc/self/cgroup": file("12:cpu,cpuacct:/docker/abc\n9:memory:/docker/abc\n"),
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": file("2147483648\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            file("9223372036854771712\n"),
		}, 2 << 30, "cgroup v1 memory.limit_in_bytes of /docker/abc", true},
		{"v1 unlimited", fstest.MapFS{
			"proc/meminfo":     file(meminfo),
			"proc/self/cgroup": file("9:memory:/\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n"),
		}, total, "/proc/meminfo MemTotal", true},
		{"garbage limit ignored", fstest.MapFS{
			"proc/meminfo":             file(meminfo),
			"proc/self/cgroup":         file("0::/\n"),
			"sys/fs/cgroup/memory.max": file("lots\n"),
		}, total, "/proc/meminfo MemTotal", true},
		{"garbage meminfo", fstest.MapFS{"proc/meminfo": file("MemTotal: many kB\n")}, 0, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, ok := available(c.files)
			if ok != c.ok || l.Bytes != c.want || l.Source != c.source {
				t.Fatalf("available = %+v, %v; want %d from %q, %v", l, ok, c.want, c.source, c.ok)
			}
		})
	}
}

// TestAvailableHere reads this machine's own files: on Linux it must find
// at least the machine's memory.
func TestAvailableHere(t *testing.T) {
	l, ok := Available()
	if runtime.GOOS != "linux" {
		t.Skipf("%s: nothing is read", runtime.GOOS)
	}
	if !ok || l.Bytes < 64<<20 || l.Source == "" {
		t.Fatalf("Available() = %+v, %v; want this machine's memory", l, ok)
	}
	t.Logf("%d MiB from %s", l.Bytes>>20, l.Source)
}
