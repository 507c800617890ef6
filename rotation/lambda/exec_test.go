package lambda_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/lambda"
)

const testARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf"

// testInvocation is one step of a rotation, with recognisable values.
func testInvocation() lambda.Invocation {
	return lambda.Invocation{
		Event: lambda.Event{
			Step:               "createSecret",
			SecretID:           testARN,
			ClientRequestToken: "6f1c7e0a-5d1b-4c3e-9a6f-2b8d4e7c9a10",
			RotationToken:      "rotation-token-opaque",
		},
		Region:   "eu-west-1",
		Endpoint: "http://127.0.0.1:8740",
		Credentials: lambda.Credentials{
			AccessKeyID:     "ASIATESTTEMPORARY",
			SecretAccessKey: "temporary-secret-access-key",
			SessionToken:    "temporary-session-token",
		},
	}
}

// testEventJSON is testInvocation's event as AWS encodes it.
const testEventJSON = `{"Step":"createSecret","SecretId":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf","ClientRequestToken":"6f1c7e0a-5d1b-4c3e-9a6f-2b8d4e7c9a10","RotationToken":"rotation-token-opaque"}`

func sh(script string) *lambda.Exec {
	return &lambda.Exec{Command: []string{"/bin/sh", "-c", script}}
}

// mustFailWith checks that err is an EINTERNAL step failure with exactly msg.
func mustFailWith(t *testing.T, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %q", msg)
	}
	if code := rotor.ErrorCode(err); code != rotor.EINTERNAL {
		t.Errorf("code = %q, want %q (err %v)", code, rotor.EINTERNAL, err)
	}
	if got := rotor.ErrorMessage(err); got != msg {
		t.Errorf("message = %q, want %q", got, msg)
	}
}

func TestExecSuccess(t *testing.T) {
	res, err := sh("echo to-stdout; echo to-stderr >&2").Invoke(context.Background(), testInvocation())
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	for _, want := range []string{"to-stdout\n", "to-stderr\n"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("Output = %q, want it to contain %q", res.Output, want)
		}
	}
}

func TestExecFailureMessage(t *testing.T) {
	long := strings.Repeat("x", 5000) + "END"
	tests := []struct {
		name, script, msg string
	}{
		{"StatusAndStderr", "echo first >&2; echo boom >&2; exit 3",
			"exec function exited with status 3: first\nboom"},
		{"NoStderr", "echo only-stdout; exit 2",
			"exec function exited with status 2"},
		{"LastFiveLines", "for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 1",
			"exec function exited with status 1: line3\nline4\nline5\nline6\nline7"},
		{"LambdaErrorObject", `echo 'Traceback ...' >&2; echo '{"errorType": "ValueError", "errorMessage": "Invalid step parameter"}' >&2; exit 1`,
			"exec function exited with status 1: ValueError: Invalid step parameter"},
		{"LongLineKeepsEnd", "echo " + long + " >&2; exit 1",
			"exec function exited with status 1: ..." + long[len(long)-1024:]},
		{"Signal", "kill -9 $$",
			"exec function was killed by signal 9 (killed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sh(tt.script).Invoke(context.Background(), testInvocation())
			mustFailWith(t, err, tt.msg)
			if tt.name == "StatusAndStderr" && !strings.Contains(res.Output, "boom") {
				t.Errorf("Output = %q, want the failed step's output", res.Output)
			}
		})
	}
}

func TestExecStdinIsEventJSON(t *testing.T) {
	inv := testInvocation()
	res, err := (&lambda.Exec{Command: []string{"cat"}}).Invoke(context.Background(), inv)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if res.Output != testEventJSON {
		t.Errorf("stdin = %s, want %s", res.Output, testEventJSON)
	}

	t.Run("NoRotationToken", func(t *testing.T) {
		inv.Event.RotationToken = ""
		res, err := (&lambda.Exec{Command: []string{"cat"}}).Invoke(context.Background(), inv)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		want := `{"Step":"createSecret","SecretId":"` + testARN + `","ClientRequestToken":"6f1c7e0a-5d1b-4c3e-9a6f-2b8d4e7c9a10"}`
		if res.Output != want {
			t.Errorf("stdin = %s, want %s", res.Output, want)
		}
	})
}

// parseEnv parses the output of env(1).
func parseEnv(t *testing.T, out string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env printed %q, not NAME=value", line)
		}
		env[name] = value
	}
	return env
}

func TestExecEnvironment(t *testing.T) {
	t.Setenv("ROTOR_TEST_LEAK", "must-not-be-seen")
	t.Setenv("ROTOR_TEST_PASS", "passed-through")
	os.Unsetenv("ROTOR_TEST_UNSET")
	dir := t.TempDir()
	inv := testInvocation()
	awsVars := map[string]string{
		"SECRETS_MANAGER_ENDPOINT":         inv.Endpoint,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": inv.Endpoint,
		"AWS_ENDPOINT_URL":                 inv.Endpoint,
		"AWS_REGION":                       inv.Region,
		"AWS_DEFAULT_REGION":               inv.Region,
		"AWS_ACCESS_KEY_ID":                inv.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":            inv.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN":                inv.Credentials.SessionToken,
		"AWS_SHARED_CREDENTIALS_FILE":      "/dev/null",
		"AWS_CONFIG_FILE":                  "/dev/null",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range awsVars {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	tests := []struct {
		name string
		fn   lambda.Exec
		want map[string]string
	}{
		{"Minimal", lambda.Exec{Command: []string{"env"}, Dir: dir},
			with(map[string]string{"PATH": lambda.DefaultPath, "HOME": dir, "LANG": "C.UTF-8"})},
		{"PassEnvAndEnv", lambda.Exec{
			Command: []string{"env"}, Dir: dir,
			PassEnv: []string{"ROTOR_TEST_PASS", "ROTOR_TEST_UNSET"},
			// Env cannot override the variables that point the function at Rotor.
			Env: map[string]string{"EXTRA": "a=b c", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAOTHER"},
		}, with(map[string]string{"PATH": lambda.DefaultPath, "HOME": dir, "LANG": "C.UTF-8",
			"ROTOR_TEST_PASS": "passed-through", "EXTRA": "a=b c"})},
		{"PathFromEnv", lambda.Exec{Command: []string{"env"}, Dir: dir,
			Env: map[string]string{"PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8"}},
			with(map[string]string{"PATH": "/usr/bin:/bin", "HOME": dir, "LANG": "en_US.UTF-8"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.fn.Invoke(context.Background(), inv)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			got := parseEnv(t, res.Output)
			// TMPDIR is the step's own scratch directory.
			if tmp := got["TMPDIR"]; !strings.HasPrefix(tmp, filepath.Join(os.TempDir(), "rotor-exec-")) {
				t.Errorf("child TMPDIR = %q, want a rotor-exec- directory in %s", tmp, os.TempDir())
			}
			delete(got, "TMPDIR")
			for name := range got {
				if _, ok := tt.want[name]; !ok {
					t.Errorf("child sees %s=%q, which it must not", name, got[name])
				}
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("child %s = %q, want %q", name, got[name], want)
				}
			}
		})
	}

	t.Run("PathPassedThrough", func(t *testing.T) {
		path := os.Getenv("PATH") + ":/opt/rotor-test/bin"
		t.Setenv("PATH", path)
		fn := &lambda.Exec{Command: []string{"env"}, PassEnv: []string{"PATH"}}
		res, err := fn.Invoke(context.Background(), inv)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if got := parseEnv(t, res.Output)["PATH"]; got != path {
			t.Errorf("child PATH = %q, want %q", got, path)
		}
	})
}

func TestExecCommandLookup(t *testing.T) {
	bin := t.TempDir()
	tool := filepath.Join(bin, "rotor-test-tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\necho tool ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The server's own PATH is not used to find the command.
	t.Setenv("PATH", os.Getenv("PATH")+string(filepath.ListSeparator)+bin)

	t.Run("OK", func(t *testing.T) {
		fn := &lambda.Exec{Command: []string{"rotor-test-tool"}, Env: map[string]string{"PATH": "relative/dir:" + bin}}
		res, err := fn.Invoke(context.Background(), testInvocation())
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if res.Output != "tool ran\n" {
			t.Errorf("Output = %q, want %q", res.Output, "tool ran\n")
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		fn := &lambda.Exec{Command: []string{"rotor-test-tool"}}
		_, err := fn.Invoke(context.Background(), testInvocation())
		if code := rotor.ErrorCode(err); code != rotor.EINVALID {
			t.Fatalf("code = %q, want %q (err %v)", code, rotor.EINVALID, err)
		}
		if want := `The command "rotor-test-tool" was not found in PATH ` + lambda.DefaultPath + "."; rotor.ErrorMessage(err) != want {
			t.Errorf("message = %q, want %q", rotor.ErrorMessage(err), want)
		}
	})
	t.Run("Absolute", func(t *testing.T) {
		res, err := (&lambda.Exec{Command: []string{tool}}).Invoke(context.Background(), testInvocation())
		if err != nil || res.Output != "tool ran\n" {
			t.Errorf("Invoke = %q, %v; want %q, nil", res.Output, err, "tool ran\n")
		}
	})
}

func TestExecValidate(t *testing.T) {
	tests := []struct {
		name string
		fn   lambda.Exec
	}{
		{"NoCommand", lambda.Exec{}},
		{"EmptyCommand", lambda.Exec{Command: []string{""}}},
		{"RelativePath", lambda.Exec{Command: []string{"bin/rotate"}}},
		{"RelativeDir", lambda.Exec{Command: []string{"true"}, Dir: "work"}},
		{"BadEnvName", lambda.Exec{Command: []string{"true"}, Env: map[string]string{"A=B": "x"}}},
		{"NulInEnvValue", lambda.Exec{Command: []string{"true"}, Env: map[string]string{"A": "x\x00y"}}},
		{"BadPassEnvName", lambda.Exec{Command: []string{"true"}, PassEnv: []string{""}}},
		{"NegativeTimeout", lambda.Exec{Command: []string{"true"}, Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := rotor.ErrorCode(tt.fn.Validate()); code != rotor.EINVALID {
				t.Errorf("Validate code = %q, want %q", code, rotor.EINVALID)
			}
			_, err := tt.fn.Invoke(context.Background(), testInvocation())
			if code := rotor.ErrorCode(err); code != rotor.EINVALID {
				t.Errorf("Invoke code = %q, want %q", code, rotor.EINVALID)
			}
		})
	}
	ok := lambda.Exec{Command: []string{"/bin/true"}, Dir: "/tmp", Env: map[string]string{"A": "1"}, PassEnv: []string{"PATH"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}

// alive reports whether pid is a running process (a zombie is not).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// waitGone polls, a bounded number of times, until pid is no longer
// running; the kill has been sent, only its delivery is awaited.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 1000 {
		if !alive(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d is still running", pid)
}

// readPid waits (bounded) for the pid file the test script writes.
func readPid(t *testing.T, path string) int {
	t.Helper()
	for range 1000 {
		if b, err := os.ReadFile(path); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("pid file %q: %v", b, err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the script never wrote %s", path)
	return 0
}

// grandchildScript starts a grandchild `sleep 1000` in the background,
// records its pid in $PIDFILE, then runs `rest`.
func grandchildScript(pidfile, rest string) *lambda.Exec {
	fn := sh(`sleep 1000 & echo $! > "$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE"; ` + rest)
	fn.Env = map[string]string{"PIDFILE": pidfile}
	fn.WritePaths = []string{filepath.Dir(pidfile)} // the sandbox allows only the scratch dir otherwise
	return fn
}

func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	fn := grandchildScript(pidfile, "wait")
	fn.Timeout = 2 * time.Second
	_, err := fn.Invoke(context.Background(), testInvocation())
	mustFailWith(t, err, "exec function timed out after 2s")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for %v", err)
	}
	waitGone(t, readPid(t, pidfile))
}

func TestExecCancelKillsProcessGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	fn := grandchildScript(pidfile, "wait")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pid := make(chan int, 1)
	go func() {
		// Cancel only once the grandchild exists.
		for range 1000 {
			if b, err := os.ReadFile(pidfile); err == nil {
				n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				pid <- n
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		pid <- 0
		cancel()
	}()
	_, err := fn.Invoke(ctx, testInvocation())
	mustFailWith(t, err, "exec function canceled: context canceled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
	}
	p := <-pid
	if p == 0 {
		t.Fatal("the script never wrote its grandchild's pid")
	}
	waitGone(t, p)
}

func TestExecKillsLeftoversOnExit(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	// The grandchild keeps stdout open; Invoke must still return, and the
	// grandchild must not outlive the step.
	fn := grandchildScript(pidfile, "echo done")
	res, err := fn.Invoke(context.Background(), testInvocation())
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if res.Output != "done\n" {
		t.Errorf("Output = %q, want %q", res.Output, "done\n")
	}
	waitGone(t, readPid(t, pidfile))
}

var markerRE = regexp.MustCompile(`\n\[\.\.\. (\d+) bytes truncated \.\.\.\]\n`)

func TestExecOutputBounded(t *testing.T) {
	t.Run("HeadMarkerTail", func(t *testing.T) {
		const n = 50000
		var full strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&full, "%d\n", i)
		}
		res, err := sh(fmt.Sprintf("seq 1 %d", n)).Invoke(context.Background(), testInvocation())
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		out := res.Output
		if len(out) > lambda.MaxOutput {
			t.Errorf("len(Output) = %d, want <= %d", len(out), lambda.MaxOutput)
		}
		loc := markerRE.FindStringSubmatchIndex(out)
		if loc == nil {
			t.Fatalf("Output has no truncation marker; len %d", len(out))
		}
		head, tail := out[:loc[0]], out[loc[1]:]
		dropped, _ := strconv.Atoi(out[loc[2]:loc[3]])
		if !strings.HasPrefix(full.String(), head) || !strings.HasSuffix(full.String(), tail) {
			t.Errorf("Output is not the beginning and end of what was printed")
		}
		if got := len(head) + dropped + len(tail); got != full.Len() {
			t.Errorf("head %d + dropped %d + tail %d = %d, want %d printed", len(head), dropped, len(tail), got, full.Len())
		}
		if len(head) == 0 || len(tail) == 0 {
			t.Errorf("head %d bytes, tail %d bytes: want both kept", len(head), len(tail))
		}
	})

	t.Run("100MBInBoundedMemory", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := sh("head -c 100000000 /dev/zero | tr '\\0' x; echo; echo finished").Invoke(context.Background(), testInvocation())
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if len(res.Output) > lambda.MaxOutput {
			t.Errorf("len(Output) = %d, want <= %d", len(res.Output), lambda.MaxOutput)
		}
		if !markerRE.MatchString(res.Output) || !strings.HasSuffix(res.Output, "x\nfinished\n") {
			t.Errorf("Output does not keep the end after a marker: ...%q", res.Output[max(0, len(res.Output)-80):])
		}
		// Buffering the output would allocate at least 100 MB.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("Invoke allocated %d bytes for 100 MB of output, want a bounded amount", alloc)
		}
	})
}

func TestExecDefaultDir(t *testing.T) {
	fn := sh(`pwd; echo "$HOME"; ls -A | wc -l; touch leftover`)
	var dirs []string
	for range 2 {
		res, err := fn.Invoke(context.Background(), testInvocation())
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		lines := strings.Fields(res.Output)
		if len(lines) != 3 {
			t.Fatalf("Output = %q, want pwd, HOME and a count", res.Output)
		}
		dir := lines[0]
		if lines[1] != dir {
			t.Errorf("HOME = %q, want the working directory %q", lines[1], dir)
		}
		if lines[2] != "0" {
			t.Errorf("the working directory held %s entries, want an empty one", lines[2])
		}
		if !strings.HasPrefix(dir, filepath.Clean(os.TempDir())+"/") {
			t.Errorf("working directory %q is not under %s", dir, os.TempDir())
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("working directory %q still exists after the step (stat: %v)", dir, err)
		}
		dirs = append(dirs, dir)
	}
	if dirs[0] == dirs[1] {
		t.Errorf("two steps shared the working directory %q", dirs[0])
	}

	t.Run("DirGivenIsReadOnlyInSandbox", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "module.txt"), []byte("code\n"), 0o644)
		fn := sh(`pwd; cat module.txt; touch made-here 2>/dev/null || echo refused; touch "$TMPDIR/scratch" && echo scratch-ok`)
		fn.Dir = dir
		res, err := fn.Invoke(context.Background(), testInvocation())
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if !strings.HasPrefix(res.Output, dir+"\ncode\n") || !strings.HasSuffix(res.Output, "refused\nscratch-ok\n") {
			t.Errorf("Output = %q, want pwd, the file, a refused write and a scratch write", res.Output)
		}
		if _, err := os.Stat(filepath.Join(dir, "made-here")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a sandboxed function wrote into its Dir (stat: %v)", err)
		}
	})

	t.Run("DirGiven", func(t *testing.T) {
		dir := t.TempDir()
		fn := sh("pwd; touch made-here")
		fn.Dir = dir
		fn.Isolation = lambda.IsolationNone
		res, err := fn.Invoke(context.Background(), testInvocation())
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if got := strings.TrimSpace(res.Output); got != dir {
			t.Errorf("pwd = %q, want %q", got, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "made-here")); err != nil {
			t.Errorf("a given Dir must be kept: %v", err)
		}
	})
}

func TestExecUser(t *testing.T) {
	t.Run("ErrUnknownUser", func(t *testing.T) {
		fn := &lambda.Exec{Command: []string{"id", "-u"}, User: "rotor-no-such-user"}
		_, err := fn.Invoke(context.Background(), testInvocation())
		if code := rotor.ErrorCode(err); code != rotor.EINVALID {
			t.Errorf("code = %q, want %q (err %v)", code, rotor.EINVALID, err)
		}
	})

	nobody := testsvc.User(t, "nobody")
	if os.Geteuid() != 0 {
		t.Run("ErrNotRoot", func(t *testing.T) {
			fn := &lambda.Exec{Command: []string{"id", "-u"}, User: "nobody"}
			_, err := fn.Invoke(context.Background(), testInvocation())
			if code := rotor.ErrorCode(err); code != rotor.EINVALID {
				t.Errorf("code = %q, want %q (err %v)", code, rotor.EINVALID, err)
			}
		})
	}
	testsvc.Root(t) // the subtests below switch user
	for _, name := range []string{"nobody", nobody.Uid} {
		t.Run("As"+name, func(t *testing.T) {
			// The default working directory must be usable by the user.
			fn := sh("id -u; id -g; touch ./written && echo wrote")
			fn.User = name
			res, err := fn.Invoke(context.Background(), testInvocation())
			if err != nil {
				t.Fatalf("Invoke: %v (output %q)", err, res.Output)
			}
			if want := nobody.Uid + "\n" + nobody.Gid + "\nwrote\n"; res.Output != want {
				t.Errorf("Output = %q, want %q", res.Output, want)
			}
		})
	}
}
