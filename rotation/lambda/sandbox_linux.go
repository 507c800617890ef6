//go:build linux

package lambda

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// The launcher runs in the child, before the function: Go cannot run code
// between fork and exec, so Invoke starts the server's own binary
// (/proc/self/exe) with sandboxArg, and this init function — which runs
// before any main — confines that process and executes the function in
// its place. Any binary that imports this package, test binaries
// included, therefore launches sandboxed functions the same way.
func init() {
	if len(os.Args) > 1 && os.Args[1] == sandboxArg {
		sandboxMain(os.Args[2:])
	}
}

// sandboxMain is the launcher: args are the spec (JSON), the command's
// path and its argv. It never returns: it executes the command or exits
// with status 126 and a message on stderr, never running the command
// unconfined.
func sandboxMain(args []string) {
	err := func() error {
		if len(args) < 3 {
			return fmt.Errorf("usage: %s <spec> <path> <argv0> [args...]", sandboxArg)
		}
		var spec sandboxSpec
		if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
			return fmt.Errorf("spec: %w", err)
		}
		// Every restriction below applies to this OS thread, which then
		// executes the command; it must not change thread in between.
		runtime.LockOSThread()
		return confineAndExec(&spec, args[1], args[2:])
	}()
	fmt.Fprintf(os.Stderr, "rotor sandbox: %v\n", err)
	os.Exit(126)
}

// landlockConfig is the strict (not best-effort) ruleset configuration:
// every filesystem right of LandlockABI, and the signal and abstract-socket
// scopes. TCP is not restricted.
func landlockConfig() landlock.Config {
	return landlock.Config{
		HandledAccessFS: landlock.V6.HandledAccessFS,
		Scoped:          landlock.V6.Scoped,
	}
}

// confineAndExec applies the sandbox to the current thread and executes
// path with argv and the current environment.
func confineAndExec(spec *sandboxSpec, path string, argv []string) error {
	read := landlock.AccessFSSet(ll.AccessFSExecute | ll.AccessFSReadFile | ll.AccessFSReadDir)
	write := landlockConfig().HandledAccessFS &^
		landlock.AccessFSSet(ll.AccessFSMakeChar|ll.AccessFSMakeBlock|ll.AccessFSIoctlDev)
	device := landlock.AccessFSSet(ll.AccessFSReadFile | ll.AccessFSWriteFile | ll.AccessFSTruncate)
	var rules []landlock.Rule
	if spec.ProcSelf {
		spec.Read = append(spec.Read, fmt.Sprintf("/proc/%d", os.Getpid()))
	}
	for _, p := range spec.Read {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			rules = append(rules, landlock.PathAccess(read&^landlock.AccessFSSet(ll.AccessFSReadDir), p))
		} else {
			rules = append(rules, landlock.PathAccess(read, p))
		}
	}
	if len(spec.Write) > 0 {
		rules = append(rules, landlock.PathAccess(write, spec.Write...))
	}
	if len(spec.Devices) > 0 {
		rules = append(rules, landlock.PathAccess(device, spec.Devices...))
	}
	fd, flags, err := landlockConfig().NewRulesetFD(rules...)
	if err != nil {
		return fmt.Errorf("landlock ruleset: %w", err)
	}
	if fd < 0 {
		return fmt.Errorf("landlock ruleset: nothing to enforce")
	}
	if os.Geteuid() == 0 {
		// Root keeps its other capabilities, but not those that read
		// memory or disks below Landlock: /proc/kcore, /dev/mem, device
		// nodes made with mknod, and the /proc/<pid> files (environ, ...)
		// of a non-dumpable server, which CAP_SYS_PTRACE would open.
		for _, c := range []uintptr{unix.CAP_SYS_RAWIO, unix.CAP_MKNOD, unix.CAP_SYS_PTRACE} {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
				return fmt.Errorf("drop capability %d: %w", c, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	filter := seccomp.Filter{
		NoNewPrivs: true,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls:      []seccomp.SyscallGroup{{Action: seccomp.ActionErrno, Names: BlockedSyscalls}},
		},
	}
	if err := seccomp.LoadFilter(filter); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	if err := ll.LandlockRestrictSelf(fd, flags); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	unix.Close(fd)
	return fmt.Errorf("exec %s: %w", path, syscall.Exec(path, argv, os.Environ()))
}

// LandlockSupported returns nil when the kernel offers the Landlock ABI the
// sandbox needs (LandlockABI), else an error saying what it has.
func LandlockSupported() error {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return fmt.Errorf("this kernel has no Landlock (%v); IsolationLandlock needs Landlock ABI %d or later", err, LandlockABI)
	}
	if v < LandlockABI {
		return fmt.Errorf("this kernel has Landlock ABI %d; IsolationLandlock needs ABI %d or later", v, LandlockABI)
	}
	return nil
}

// sandboxLauncher is the binary Invoke starts to confine a function: this
// very binary, through /proc/self/exe, which stays valid even if the file
// was replaced and needs no search permission on its directories.
const sandboxLauncher = "/proc/self/exe"

// ProtectProcess marks the calling process non-dumpable (PR_SET_DUMPABLE
// 0), as the server must be before it runs any function: a process of the
// same user without CAP_SYS_PTRACE — every sandboxed function — can then
// neither ptrace it nor open its /proc/<pid> mem, environ, fd or maps, and
// it writes no core dump holding decrypted secrets. Landlock alone does not
// stop a sandboxed process from reading /proc/<pid>/environ.
func ProtectProcess() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("mark the process non-dumpable: %w", err)
	}
	return nil
}
