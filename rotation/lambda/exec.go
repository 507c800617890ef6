package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/scrub"
)

// DefaultPath is the PATH an Exec function gets when neither Env nor PassEnv
// gives one.
const DefaultPath = "/usr/local/bin:/usr/bin:/bin"

// ioGrace is how long Invoke waits, once the function's process group is
// gone, for its output pipes to close. Only a process that left the group
// (setsid) can hold them longer; its output is then cut off.
const ioGrace = 2 * time.Second

// Exec is a rotation function that runs a local command for each step.
//
// The command gets the event JSON (exactly Event, marshalled) on stdin and a
// clean environment; nothing of the server's environment is inherited but
// the variables named in PassEnv. The environment is built in this order,
// later entries replacing earlier ones:
//
//  1. PATH=DefaultPath, HOME=<working directory>, LANG=C.UTF-8,
//     TMPDIR=<the step's scratch directory>;
//  2. the PassEnv variables that are set in the server's environment;
//  3. Env;
//  4. SECRETS_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER and
//     AWS_ENDPOINT_URL (Invocation.Endpoint), AWS_REGION and
//     AWS_DEFAULT_REGION (Invocation.Region), AWS_ACCESS_KEY_ID,
//     AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (Invocation.Credentials),
//     AWS_SHARED_CREDENTIALS_FILE=/dev/null and AWS_CONFIG_FILE=/dev/null.
//     These cannot be overridden; one whose value would be empty is left out.
//
// A bare Command[0] is looked up, as exec.LookPath would, in the PATH the
// function gets (not the server's), skipping relative entries; otherwise it
// must be an absolute path.
//
// The command runs in its own process group. Exit status 0 is success. When
// Timeout passes or the context is cancelled, the whole group is killed
// (SIGKILL); when the command exits, anything it left running in its group is
// killed too. Stdout and stderr are captured together, in bounded memory
// whatever the command prints, then scrubbed with Invocation.Scrubber and
// cut to MaxOutput bytes (the beginning and the end are kept).
//
// An Exec is a plain value: the operator declares it in the configuration
// file. Invoke does not modify it and may be called concurrently.
type Exec struct {
	Command []string          // argv; Command[0] resolved with exec.LookPath against PATH from Env, else absolute
	Dir     string            // working directory; "" = the step's scratch directory, a new empty temp dir removed afterwards
	Env     map[string]string // extra variables given to the process
	PassEnv []string          // names of server environment variables passed through (nothing else is inherited)
	User    string            // optional OS user to run as (name or uid); needs root; resolves uid/gid and supplementary groups via os/user
	Timeout time.Duration     // 0 = 30s, as Lambda

	// Isolation is the sandbox the function runs in; "" means
	// IsolationLandlock. Under it the function may read and execute the
	// system (SystemPaths), its command's installation, Dir and ReadPaths,
	// and write only its per-step scratch directory ($TMPDIR, and the
	// working directory when Dir is "") and WritePaths; Protect paths are
	// never reachable. See IsolationLandlock.
	Isolation  Isolation
	ReadPaths  []string // extra hierarchies a sandboxed function may read and execute
	WritePaths []string // extra hierarchies a sandboxed function may read and write
	// Protect are the paths a sandboxed function must never reach: the
	// server sets its data directory, keyring, TLS key, config and
	// credentials files. Dir, ReadPaths and WritePaths must not overlap
	// them; system paths that hold one are granted around it.
	Protect []string

	// deadlineArg makes Invoke append the step's deadline (Unix
	// milliseconds) to the arguments; PythonHandler's bootstrap reads it for
	// context.get_remaining_time_in_millis().
	deadlineArg bool
}

var _ Function = (*Exec)(nil)

// Validate checks the configuration without running anything. It returns an
// EINVALID *rotor.Error when Command is empty, Command[0] is neither a bare
// name nor an absolute path, Dir is not absolute, an Env or PassEnv name is
// not a valid variable name (or a value holds a NUL byte), Timeout is
// negative, Isolation is unknown, a ReadPaths or WritePaths entry is not
// absolute, or (when sandboxed) Dir, ReadPaths or WritePaths overlaps a
// Protect path. Messages never quote Env values.
func (e *Exec) Validate() error {
	if len(e.Command) == 0 || e.Command[0] == "" {
		return invalidf("An exec function needs a command.")
	}
	if name := e.Command[0]; strings.ContainsRune(name, '/') && !filepath.IsAbs(name) {
		return invalidf("The command %q must be an absolute path or a name looked up in PATH.", name)
	}
	for _, arg := range e.Command {
		if strings.ContainsRune(arg, 0) {
			return invalidf("The command's arguments must not contain NUL bytes.")
		}
	}
	if e.Dir != "" && !filepath.IsAbs(e.Dir) {
		return invalidf("The working directory %q must be an absolute path.", e.Dir)
	}
	for name, value := range e.Env {
		if !validEnvName(name) {
			return invalidf("%q is not a valid environment variable name.", name)
		}
		if strings.ContainsRune(value, 0) {
			return invalidf("The value of environment variable %s must not contain NUL bytes.", name)
		}
	}
	for _, name := range e.PassEnv {
		if !validEnvName(name) {
			return invalidf("%q is not a valid environment variable name.", name)
		}
	}
	if e.Timeout < 0 {
		return invalidf("The timeout must not be negative.")
	}
	if !validIsolation(e.Isolation) {
		return invalidf("The isolation %q must be %q or %q.", e.Isolation, IsolationLandlock, IsolationNone)
	}
	for _, p := range slices.Concat(e.ReadPaths, e.WritePaths, e.Protect) {
		if !filepath.IsAbs(p) {
			return invalidf("The path %q must be absolute.", p)
		}
	}
	if e.sandboxed() {
		granted := slices.Concat(e.ReadPaths, e.WritePaths)
		if e.Dir != "" {
			granted = append(granted, e.Dir)
		}
		if err := checkOperatorPaths(granted, e.Protect); err != nil {
			return err
		}
	}
	return nil
}

// sandboxed reports whether the function runs under IsolationLandlock.
func (e *Exec) sandboxed() bool { return e.Isolation != IsolationNone }

func validEnvName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=\x00")
}

// Invoke runs the command for one step and waits for it, at most Timeout
// (30s when zero). The Result holds its output even when the step failed.
//
// Errors are *rotor.Error:
//   - EINVALID when the configuration is invalid (see Validate), Command[0]
//     is not found in PATH, User does not exist, User is set and Rotor
//     does not run as root, or the function is sandboxed and the kernel
//     lacks Landlock ABI LandlockABI (it never runs unconfined instead);
//   - EINTERNAL "exec function could not be sandboxed: ..." when the
//     sandbox cannot be worked out, and "exec function exited with status
//     126: rotor sandbox: ..." when the launcher could not apply it;
//   - EINTERNAL when the step did not succeed: "exec function exited with
//     status N: <last lines of stderr>" (when the last line is a Lambda error
//     object, {"errorType": ..., "errorMessage": ...}, it is shown as
//     "errorType: errorMessage"), "exec function was killed by signal N",
//     "exec function timed out after 30s", "exec function canceled: <ctx
//     error>" (the cause wraps ctx.Err()), or the command could not start.
//
// Messages quote the function's own output, scrubbed with
// inv.Scrubber before it is cut.
func (e *Exec) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	if err := e.Validate(); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, failed(err, "exec function canceled: %v", err)
	}
	var cred *syscall.Credential
	if e.User != "" {
		var err error
		if cred, err = lookupUser(e.User); err != nil {
			return Result{}, err
		}
	}

	if e.sandboxed() {
		if err := LandlockSupported(); err != nil {
			return Result{}, rotor.Errorf(rotor.EINVALID, "The function cannot be sandboxed: %v.", err)
		}
	}
	// Every step gets its own scratch directory: $TMPDIR, and the working
	// directory when Dir is not set. It is the only place a sandboxed
	// function may write by default.
	scratch, err := os.MkdirTemp("", "rotor-exec-")
	if err != nil {
		return Result{}, failed(err, "exec function could not get a working directory: %v", err)
	}
	defer os.RemoveAll(scratch)
	if cred != nil {
		if err := os.Chown(scratch, int(cred.Uid), int(cred.Gid)); err != nil {
			return Result{}, failed(err, "exec function could not get a working directory: %v", err)
		}
	}
	dir := e.Dir
	if dir == "" {
		dir = scratch
	}

	env := e.environ(dir, scratch, inv)
	path, err := lookPath(e.Command[0], env["PATH"])
	if err != nil {
		return Result{}, err
	}
	timeout := timeoutOrDefault(e.Timeout)
	args := slices.Clone(e.Command)
	if e.deadlineArg {
		deadline := time.Now().Add(timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		args = append(args, strconv.FormatInt(deadline.UnixMilli(), 10))
	}
	body, err := json.Marshal(inv.Event)
	if err != nil {
		return Result{}, failed(err, "exec function: encode event: %v", err)
	}

	cmdPath, cmdArgs := path, args
	if e.sandboxed() {
		spec, err := e.buildSpec(path, scratch)
		if err != nil {
			return Result{}, failed(err, "exec function could not be sandboxed: %v", err)
		}
		b, err := json.Marshal(spec)
		if err != nil {
			return Result{}, failed(err, "exec function could not be sandboxed: %v", err)
		}
		cmdPath = sandboxLauncher
		cmdArgs = append([]string{"rotor-sandbox", sandboxArg, string(b), path}, args...)
	}

	cmd := &exec.Cmd{
		Path:        cmdPath,
		Args:        cmdArgs,
		Env:         envList(env),
		Dir:         dir,
		Stdin:       bytes.NewReader(body),
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: cred},
		WaitDelay:   ioGrace,
	}
	return run(ctx, cmd, timeout, inv.scrubber)
}

// environ returns the process environment described on Exec.
func (e *Exec) environ(dir, scratch string, inv Invocation) map[string]string {
	env := map[string]string{"PATH": DefaultPath, "HOME": dir, "LANG": "C.UTF-8", "TMPDIR": scratch}
	for _, name := range e.PassEnv {
		if v, ok := os.LookupEnv(name); ok {
			env[name] = v
		}
	}
	maps.Copy(env, e.Env)
	fixed := []struct{ name, value string }{
		{"SECRETS_MANAGER_ENDPOINT", inv.Endpoint},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", inv.Endpoint},
		{"AWS_ENDPOINT_URL", inv.Endpoint},
		{"AWS_REGION", inv.Region},
		{"AWS_DEFAULT_REGION", inv.Region},
		{"AWS_ACCESS_KEY_ID", inv.Credentials.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", inv.Credentials.SecretAccessKey},
		{"AWS_SESSION_TOKEN", inv.Credentials.SessionToken},
		{"AWS_SHARED_CREDENTIALS_FILE", os.DevNull},
		{"AWS_CONFIG_FILE", os.DevNull},
	}
	for _, v := range fixed {
		if v.value == "" {
			delete(env, v.name)
		} else {
			env[v.name] = v.value
		}
	}
	return env
}

// envList returns env as sorted NAME=value entries.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for _, name := range slices.Sorted(maps.Keys(env)) {
		list = append(list, name+"="+env[name])
	}
	return list
}

// lookPath resolves a bare command name against path (the child's PATH, not
// the server's), skipping relative entries, which would depend on the
// server's working directory. A name with a slash is returned as it is
// (Validate made sure it is absolute). It returns EINVALID when nothing is
// found.
func lookPath(name, path string) (string, error) {
	if strings.ContainsRune(name, '/') {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &rotor.Error{Code: rotor.EINVALID,
		Message: fmt.Sprintf("The command %q was not found in PATH %s.", name, path),
		Err:     exec.ErrNotFound}
}

// lookupUser resolves a user name or numeric uid to the credential to run
// as, with the user's primary group and supplementary groups. It returns
// EINVALID when the user does not exist or Rotor cannot switch to it.
func lookupUser(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.ParseUint(name, 10, 32); numErr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return nil, &rotor.Error{Code: rotor.EINVALID, Message: fmt.Sprintf("The user %q does not exist.", name), Err: err}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, &rotor.Error{Code: rotor.EINVALID, Message: fmt.Sprintf("The user %q has no numeric uid and gid.", name), Err: err}
	}
	if euid := os.Geteuid(); euid != 0 && uint64(euid) != uid {
		return nil, rotor.Errorf(rotor.EINVALID, "Running an exec function as user %q needs Rotor to run as root.", name)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, &rotor.Error{Code: rotor.EINVALID, Message: fmt.Sprintf("The groups of user %q could not be read.", name), Err: err}
	}
	groups := make([]uint32, 0, len(ids))
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			groups = append(groups, uint32(g))
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, nil
}

// errTimeout marks a step stopped by the function's own timeout.
var errTimeout = errors.New("timeout")

// run starts cmd in its own process group, captures its output, and waits
// for it, killing the group when timeout passes or ctx is done. Once the
// command has ended, the output and the stderr excerpt are scrubbed with
// what scrubber returns, then cut.
func run(ctx context.Context, cmd *exec.Cmd, timeout time.Duration, scrubber func() *scrub.Scrubber) (Result, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{}, failed(err, "exec function could not start: %v", err)
	}
	defer outR.Close()
	defer outW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		return Result{}, failed(err, "exec function could not start: %v", err)
	}
	defer errR.Close()
	defer errW.Close()
	// The child writes straight into the pipes (*os.File), so cmd.Wait
	// returns as soon as the command exits; the readers below drain them.
	cmd.Stdout, cmd.Stderr = outW, errW

	if err := cmd.Start(); err != nil {
		return Result{}, failed(err, "exec function could not start: %v", err)
	}
	outW.Close()
	errW.Close()
	pgid := cmd.Process.Pid

	output := newCapture(MaxOutput)
	stderr := &tailWriter{r: ring{buf: make([]byte, stderrTail)}}
	var readers sync.WaitGroup
	readers.Go(func() { drain(output, outR) })
	readers.Go(func() { drain(io.MultiWriter(output, stderr), errR) })

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var stopped, waitErr error
	select {
	case waitErr = <-waited:
	case <-timer.C:
		stopped = errTimeout
		killGroup(pgid)
		cmd.Process.Kill() // in case the group could not be signalled
		waitErr = <-waited
	case <-ctx.Done():
		stopped = ctx.Err()
		killGroup(pgid)
		cmd.Process.Kill()
		waitErr = <-waited
	}
	// Nothing the function started in its group outlives the step.
	killGroup(pgid)

	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()
	select {
	case <-readersDone:
	case <-time.After(ioGrace):
		// A process outside the group still holds a pipe: stop reading.
		outR.Close()
		errR.Close()
		<-readersDone
	}

	sc := scrubber()
	res := Result{Output: output.render(sc)}
	switch {
	case stopped == errTimeout:
		return res, failed(context.DeadlineExceeded, "exec function timed out after %v", timeout)
	case stopped != nil:
		return res, failed(stopped, "exec function canceled: %v", stopped)
	case waitErr == nil, errors.Is(waitErr, exec.ErrWaitDelay):
		// ErrWaitDelay: the command exited 0 but its stdin was not consumed.
		return res, nil
	}
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) {
		return res, failed(waitErr, "exec function failed: %v", waitErr)
	}
	msg := fmt.Sprintf("exec function exited with status %d", exitErr.ExitCode())
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		msg = fmt.Sprintf("exec function was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	if excerpt := stderrExcerpt(stderr.clean(sc)); excerpt != "" {
		msg += ": " + excerpt
	}
	return res, failed(waitErr, "%s", msg)
}

// drain copies r to w until r ends or is closed, with one fixed buffer, so
// memory stays bounded however much the function prints.
func drain(w io.Writer, r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w.Write(buf[:n]) // capture and tailWriter never fail
		}
		if err != nil {
			return
		}
	}
}

// killGroup sends SIGKILL to every process in the group pgid. A group that
// is already gone is not an error.
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// stderrExcerpt is what an error message quotes of stderr: the Lambda error
// object when the last line is one, otherwise the last lines.
func stderrExcerpt(b []byte) string {
	trimmed := bytes.TrimRight(b, " \t\r\n")
	last := trimmed[bytes.LastIndexByte(trimmed, '\n')+1:]
	if fe, ok := parseFunctionError(last); ok {
		return fe.String()
	}
	return lastLines(b)
}
