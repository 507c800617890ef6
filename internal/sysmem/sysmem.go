// Package sysmem reports how much memory this process may use: the
// machine's physical memory, or its control group's memory limit when that
// is lower (a container, a systemd unit with MemoryMax=). Linux only; on
// other systems nothing is known.
package sysmem

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// Limit is an amount of memory and where it was read.
type Limit struct {
	Bytes  int64
	Source string // e.g. "/proc/meminfo MemTotal", "cgroup v2 memory.max of /system.slice/rotor.service"
}

// Available returns the memory available to this process: the lowest of
// the machine's total memory and the memory limits of its control group
// and that group's ancestors. ok is false when not even the machine's
// total can be read.
func Available() (l Limit, ok bool) {
	return available(os.DirFS("/"))
}

// available is Available on the file system root, which is "/" in
// production and a fstest.MapFS in tests.
func available(root fs.FS) (l Limit, ok bool) {
	l, ok = memTotal(root)
	if !ok {
		return Limit{}, false
	}
	if c, found := cgroupLimit(root); found && c.Bytes < l.Bytes {
		l = c
	}
	return l, true
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal(root fs.FS) (Limit, bool) {
	b, err := fs.ReadFile(root, "proc/meminfo")
	if err != nil {
		return Limit{}, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb <= 0 || kb > 1<<53 {
				return Limit{}, false
			}
			return Limit{Bytes: kb << 10, Source: "/proc/meminfo MemTotal"}, true
		}
	}
	return Limit{}, false
}

// cgroupLimit returns the lowest memory limit set on this process's
// control group or an ancestor of it, from /proc/self/cgroup: cgroup v2's
// memory.max ("max" is no limit), or cgroup v1's memory.limit_in_bytes
// (which reads as a huge number when there is none). found is false when
// no limit is set or none can be read.
func cgroupLimit(root fs.FS) (l Limit, found bool) {
	b, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return Limit{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			continue
		}
		var c Limit
		var ok bool
		switch {
		case parts[0] == "0" && parts[1] == "":
			c, ok = lowestOnPath(root, "sys/fs/cgroup", parts[2], "memory.max", "cgroup v2 memory.max")
		case hasController(parts[1], "memory"):
			c, ok = lowestOnPath(root, "sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes")
		}
		if ok && (!found || c.Bytes < l.Bytes) {
			l, found = c, true
		}
	}
	return l, found
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// unlimited is where a cgroup v1 limit reads as "none" (the kernel
// reports PAGE_COUNTER_MAX pages, about 2^63 bytes).
const unlimited = 1 << 62

// lowestOnPath returns the lowest limit in file over the cgroup directory
// cgroupPath under mount and its ancestors up to the mount. A process in
// a cgroup namespace sees its own group as "/", so the mount's own file
// is read too.
func lowestOnPath(root fs.FS, mount, cgroupPath, file, kind string) (l Limit, found bool) {
	for p := path.Clean(cgroupPath); ; p = path.Dir(p) {
		dir := path.Join(mount, p)
		if n, ok := readLimit(root, path.Join(dir, file)); ok && (!found || n < l.Bytes) {
			l, found = Limit{Bytes: n, Source: kind + " of " + p}, true
		}
		if p == "/" {
			return l, found
		}
	}
}

// readLimit reads one limit file: a byte count, or "max" (no limit).
func readLimit(root fs.FS, name string) (int64, bool) {
	b, err := fs.ReadFile(root, name)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= unlimited {
		return 0, false // "max", absent or unreadable: no limit here
	}
	return n, true
}
