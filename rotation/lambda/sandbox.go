package lambda

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Isolation is how an Exec function is kept away from the server's files
// and memory.
type Isolation string

const (
	// IsolationLandlock (the default, also meant by "") runs the function
	// in a sandbox: a Landlock ruleset that lets it read and execute only
	// the system directories (SystemPaths), its command's installation, its
	// Dir and ReadPaths, and write only its per-step scratch directory and
	// WritePaths, never a Protect path; no_new_privs; a seccomp filter
	// refusing the system calls in BlockedSyscalls; and, when it runs as
	// root, without CAP_SYS_RAWIO, CAP_MKNOD and CAP_SYS_PTRACE. Landlock
	// also keeps it from ptracing, signalling or reading the memory of any
	// process outside its sandbox; the server's /proc/<pid>/environ is
	// closed only once the server called ProtectProcess.
	IsolationLandlock Isolation = "landlock"
	// IsolationNone runs the function with the server's own access, as
	// the operator's explicit choice.
	IsolationNone Isolation = "none"
)

// LandlockABI is the Landlock ABI version the sandbox needs: version 6 is
// the first that keeps a sandboxed process from signalling processes
// outside its sandbox. The ruleset is built strictly for it; a kernel that
// lacks it makes the step fail rather than run unsandboxed.
const LandlockABI = 6

// SystemPaths are the hierarchies a sandboxed function may read and
// execute (those that exist), minus any Protect path and what leads to one.
// Of /proc, a function may read every entry but the process directories
// (/proc/<pid>), except its own: /proc/self works, the server's
// /proc/<pid>/environ, cmdline, mem, fd, ... are out of reach (the kernel
// does not guard environ with a ptrace check, so the files themselves must
// be). Processes the function starts cannot read their own /proc/<pid>.
var SystemPaths = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/run", "/sys"}

// DevicePaths are the device files a sandboxed function may read and
// write. No other device is reachable.
var DevicePaths = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}

// BlockedSyscalls are refused (EPERM) to a sandboxed function: none is
// needed to rotate a secret, and each reaches into another process or the
// kernel.
var BlockedSyscalls = []string{
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount",
	"bpf", "perf_event_open", "open_by_handle_at", "name_to_handle_at", "reboot",
}

// sandboxArg is the hidden first argument that makes a binary importing
// this package act as the sandbox launcher (see sandbox_linux.go).
const sandboxArg = "__rotor-sandbox"

// sandboxSpec is what the launcher applies before it executes the function.
// Every path is absolute and free of symbolic links.
type sandboxSpec struct {
	Read    []string `json:"read"`    // directories and files: read and execute
	Write   []string `json:"write"`   // directories: read, write, create (no devices)
	Devices []string `json:"devices"` // device files: read and write
	// ProcSelf makes the launcher add /proc/<its own pid> to Read: only it
	// knows the pid the function will have.
	ProcSelf bool `json:"proc_self"`
}

// validIsolation reports whether i is one of the known modes.
func validIsolation(i Isolation) bool {
	return i == "" || i == IsolationLandlock || i == IsolationNone
}

// realPath returns path made absolute with every symbolic link resolved.
// For a path that does not exist, the deepest existing ancestor is
// resolved and the rest appended, so a file the server creates later is
// still compared by its real place.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(abs)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return filepath.Join(abs, rest), nil
		}
		rest = filepath.Join(filepath.Base(abs), rest)
		abs = parent
	}
}

// within reports whether path is dir or lies under it.
func within(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}

// realPaths resolves each path (see realPath).
func realPaths(paths []string) ([]string, error) {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		r, err := realPath(p)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// overlap returns the first protected path that lies within path or holds
// it, or "".
func overlap(path string, protected []string) string {
	for _, p := range protected {
		if within(p, path) || within(path, p) {
			return p
		}
	}
	return ""
}

// checkOperatorPaths makes sure no path the operator grants (Dir,
// ReadPaths, WritePaths) holds a protected path or lies inside one. It
// returns an EINVALID *rotor.Error naming both.
func checkOperatorPaths(granted, protected []string) error {
	prot, err := realPaths(protected)
	if err != nil {
		return invalidf("The protected path could not be resolved: %v", err)
	}
	for _, g := range granted {
		r, err := realPath(g)
		if err != nil {
			return invalidf("The path %q could not be resolved: %v", g, err)
		}
		if p := overlap(r, prot); p != "" {
			return invalidf("The function may not be given %s: it overlaps %s, which a sandboxed function must never reach.", g, p)
		}
	}
	return nil
}

// carve returns the hierarchies to grant for root so that no protected
// path is reachable: root itself when it holds no protected path,
// otherwise each of its entries, recursively, except the protected ones.
// A root that does not exist gives nothing; one inside a protected path
// gives nothing. Entries are compared by their real paths, so a symbolic
// link into a protected path is not granted either.
func carve(root string, protected []string) ([]string, error) {
	real, err := filepath.EvalSymlinks(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", root, err)
	}
	holds := false
	for _, p := range protected {
		if within(real, p) {
			return nil, nil // root is protected or inside a protected path
		}
		holds = holds || within(p, real)
	}
	if !holds {
		return []string{real}, nil
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", real, err)
	}
	var out []string
	for _, e := range entries {
		sub, err := carve(filepath.Join(real, e.Name()), protected)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// installRoot is what a sandboxed command may read besides the system: the
// installation it belongs to (the parent of its bin directory, so an
// interpreter finds its libraries), else the command file alone.
func installRoot(command string) (string, error) {
	real, err := filepath.EvalSymlinks(command)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", command, err)
	}
	if dir := filepath.Dir(real); filepath.Base(dir) == "bin" && filepath.Dir(dir) != "/" {
		return filepath.Dir(dir), nil
	}
	return real, nil
}

// buildSpec works out the sandbox of one step: the system paths and the
// command's installation carved around the protected paths, the operator's
// paths (which must not overlap them), and scratch, the step's own
// writable directory.
func (e *Exec) buildSpec(command, scratch string) (*sandboxSpec, error) {
	prot, err := realPaths(e.Protect)
	if err != nil {
		return nil, err
	}
	root, err := installRoot(command)
	if err != nil {
		return nil, err
	}
	spec := &sandboxSpec{}
	for _, r := range append(slices.Clone(SystemPaths), root) {
		paths, err := carve(r, prot)
		if err != nil {
			return nil, err
		}
		spec.Read = append(spec.Read, paths...)
	}
	procs, err := procEntries()
	if err != nil {
		return nil, err
	}
	spec.Read = append(spec.Read, procs...)
	spec.ProcSelf = true
	operator := slices.Clone(e.ReadPaths)
	if e.Dir != "" {
		operator = append(operator, e.Dir)
	}
	if err := checkOperatorPaths(append(slices.Concat(operator, e.WritePaths), scratch), e.Protect); err != nil {
		return nil, err
	}
	if spec.Read, err = appendReal(spec.Read, operator); err != nil {
		return nil, err
	}
	if spec.Write, err = appendReal(nil, append(slices.Clone(e.WritePaths), scratch)); err != nil {
		return nil, err
	}
	for _, d := range DevicePaths {
		if _, err := os.Stat(d); err == nil {
			spec.Devices = append(spec.Devices, d)
		}
	}
	return spec, nil
}

// appendReal appends the real paths of paths that exist to dst.
func appendReal(dst, paths []string) ([]string, error) {
	for _, p := range paths {
		r, err := filepath.EvalSymlinks(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		dst = append(dst, r)
	}
	return dst, nil
}

// procEntries returns the entries of /proc that are not a process: not
// /proc/<pid>, nor the self and thread-self links, which here would name
// the server.
func procEntries() ([]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if name == "self" || name == "thread-self" || strings.Trim(name, "0123456789") == "" {
			continue
		}
		out = append(out, filepath.Join("/proc", name))
	}
	return out, nil
}
