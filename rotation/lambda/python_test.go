package lambda_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// handlersDir holds the test handlers, as a Lambda task root would.
var handlersDir = filepath.Join("testdata", "handlers")

// python3 returns the absolute path of the interpreter the machine's
// python3 runs (resolving a pyenv shim once). The function's PATH is
// DefaultPath, which may find another interpreter than the test's PATH does,
// so the tests give it explicitly, as an operator would.
func python3(t *testing.T) string {
	t.Helper()
	return testsvc.Python(t)
}

func mustPythonHandler(t *testing.T, handler string) *lambda.Exec {
	t.Helper()
	fn, err := lambda.PythonHandler(python3(t), handlersDir, handler)
	if err != nil {
		t.Fatalf("PythonHandler(%q): %v", handler, err)
	}
	return fn
}

func TestPythonHandlerReturns(t *testing.T) {
	fn := mustPythonHandler(t, "lambda_function.lambda_handler")
	out := filepath.Join(t.TempDir(), "seen.json")
	fn.Env = map[string]string{"ROTOR_TEST_OUT": out}
	fn.WritePaths = []string{filepath.Dir(out)}
	fn.Timeout = 20 * time.Second
	inv := testInvocation()

	res, err := fn.Invoke(context.Background(), inv)
	if err != nil {
		t.Fatalf("Invoke: %v (output %q)", err, res.Output)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the handler did not record what it saw: %v", err)
	}
	var seen struct {
		Event        map[string]any    `json:"event"`
		Env          map[string]string `json:"env"`
		Cwd          string            `json:"cwd"`
		FunctionName string            `json:"function_name"`
		AWSRequestID string            `json:"aws_request_id"`
		RemainingMS  int64             `json:"remaining_ms"`
	}
	if err := json.Unmarshal(b, &seen); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}

	wantEvent := map[string]any{
		"Step":               inv.Event.Step,
		"SecretId":           inv.Event.SecretID,
		"ClientRequestToken": inv.Event.ClientRequestToken,
		"RotationToken":      inv.Event.RotationToken,
	}
	if len(seen.Event) != len(wantEvent) {
		t.Errorf("event = %v, want %v", seen.Event, wantEvent)
	}
	for k, v := range wantEvent {
		if seen.Event[k] != v {
			t.Errorf("event[%q] = %v, want %v", k, seen.Event[k], v)
		}
	}
	taskRoot, _ := filepath.Abs(handlersDir)
	wantEnv := map[string]string{
		"SECRETS_MANAGER_ENDPOINT":         inv.Endpoint,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": inv.Endpoint,
		"AWS_REGION":                       inv.Region,
		"AWS_ACCESS_KEY_ID":                inv.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":            inv.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN":                inv.Credentials.SessionToken,
		"HOME":                             taskRoot,
	}
	for k, v := range wantEnv {
		if seen.Env[k] != v {
			t.Errorf("os.environ[%q] = %q, want %q", k, seen.Env[k], v)
		}
	}
	if seen.Cwd != taskRoot {
		t.Errorf("cwd = %q, want the task root %q", seen.Cwd, taskRoot)
	}
	if seen.FunctionName != "lambda_function.lambda_handler" {
		t.Errorf("context.function_name = %q, want the handler", seen.FunctionName)
	}
	if len(seen.AWSRequestID) != 36 {
		t.Errorf("context.aws_request_id = %q, want a UUID", seen.AWSRequestID)
	}
	if seen.RemainingMS <= 0 || seen.RemainingMS > fn.Timeout.Milliseconds() {
		t.Errorf("context.get_remaining_time_in_millis() = %d, want within (0, %d]", seen.RemainingMS, fn.Timeout.Milliseconds())
	}
	// logger.info reaches the output, as in Lambda; so does the return value.
	for _, want := range []string{"[INFO]", "rotating step createSecret", `{"handled": "createSecret"}`} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("Output = %q, want it to contain %q", res.Output, want)
		}
	}
}

func TestPythonHandlerErrors(t *testing.T) {
	tests := []struct {
		name, handler, msg, output string
	}{
		{"Raises", "failing.lambda_handler",
			"exec function exited with status 1: ValueError: Invalid step parameter createSecret for secret " + testARN,
			"Traceback (most recent call last)"},
		{"ImportModuleError", "no_such_module.lambda_handler",
			"exec function exited with status 1: Runtime.ImportModuleError: Unable to import module 'no_such_module': No module named 'no_such_module'",
			""},
		{"HandlerNotFound", "lambda_function.no_such_function",
			"exec function exited with status 1: Runtime.HandlerNotFound: Handler 'no_such_function' missing on module 'lambda_function'",
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := mustPythonHandler(t, tt.handler).Invoke(context.Background(), testInvocation())
			mustFailWith(t, err, tt.msg)
			if !strings.Contains(res.Output, tt.output) {
				t.Errorf("Output = %q, want it to contain %q", res.Output, tt.output)
			}
		})
	}
}

// TestPythonHandlerCallsBack runs a handler that uses boto3 the way AWS's
// rotation templates do, against a server standing in for Rotor, and checks
// that the environment alone lets it sign with the temporary credentials.
func TestPythonHandlerCallsBack(t *testing.T) {
	inv := testInvocation()
	var (
		mu       sync.Mutex
		requests []*http.Request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		requests = append(requests, r)
		mu.Unlock()
		if r.Header.Get("X-Amz-Target") != "secretsmanager.DescribeSecret" || !strings.Contains(string(body), testARN) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"InvalidRequestException","Message":"unexpected request"}`)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{
			"ARN":                testARN,
			"Name":               "app/db",
			"RotationEnabled":    true,
			"VersionIdsToStages": map[string][]string{inv.Event.ClientRequestToken: {"AWSPENDING"}},
		})
	}))
	defer srv.Close()
	inv.Endpoint = srv.URL

	fn := mustPythonHandler(t, "callback.lambda_handler")
	res, err := fn.Invoke(context.Background(), inv)
	if err != nil {
		t.Fatalf("Invoke: %v (output %q)", err, res.Output)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 2 {
		t.Fatalf("server got %d requests, want 2 (endpoint_url and environment-only clients)", len(requests))
	}
	for _, r := range requests {
		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential="+inv.Credentials.AccessKeyID+"/") || !strings.Contains(auth, "/"+inv.Region+"/secretsmanager/aws4_request") {
			t.Errorf("Authorization = %q, want SigV4 with the temporary key in %s", auth, inv.Region)
		}
		if got := r.Header.Get("X-Amz-Security-Token"); got != inv.Credentials.SessionToken {
			t.Errorf("X-Amz-Security-Token = %q, want the session token", got)
		}
	}
}

func TestPythonHandlerInvalid(t *testing.T) {
	py := "python3"
	tests := []struct {
		name, python, dir, handler string
	}{
		{"NoInterpreter", "", handlersDir, "lambda_function.lambda_handler"},
		{"NoDir", py, "", "lambda_function.lambda_handler"},
		{"MissingDir", py, filepath.Join(t.TempDir(), "missing"), "lambda_function.lambda_handler"},
		{"DirIsFile", py, filepath.Join(handlersDir, "failing.py"), "failing.lambda_handler"},
		{"NoFunction", py, handlersDir, "lambda_function"},
		{"EmptyPart", py, handlersDir, "lambda_function..lambda_handler"},
		{"TrailingDot", py, handlersDir, "lambda_function."},
		{"Path", py, handlersDir, "sub/lambda_function.lambda_handler"},
		{"RelativeInterpreter", "bin/python3", handlersDir, "lambda_function.lambda_handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn, err := lambda.PythonHandler(tt.python, tt.dir, tt.handler)
			if code := rotor.ErrorCode(err); code != rotor.EINVALID {
				t.Errorf("PythonHandler = %v, %v; want code %q", fn, err, rotor.EINVALID)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		fn, err := lambda.PythonHandler(py, handlersDir, "pkg.module.handler")
		if err != nil {
			t.Fatalf("PythonHandler: %v", err)
		}
		abs, _ := filepath.Abs(handlersDir)
		if fn.Dir != abs || fn.Command[0] != py {
			t.Errorf("Dir = %q, Command[0] = %q; want %q, %q", fn.Dir, fn.Command[0], abs, py)
		}
	})
}
