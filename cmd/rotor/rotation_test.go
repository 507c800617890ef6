package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/lambda"
)

const testAccount = "000000000000"

func lambdaARN(name string) string {
	return "arn:aws:lambda:us-east-1:" + testAccount + ":function:" + name
}

// waitRotated polls until version token is AWSCURRENT and no version carries
// AWSPENDING, or fails after a bound.
func waitRotated(t *testing.T, c *secretsmanager.Client, id, token string) *secretsmanager.DescribeSecretOutput {
	t.Helper()
	var last *secretsmanager.DescribeSecretOutput
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		d, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil {
			continue // the server may be restarting
		}
		last = d
		pending := false
		for _, stages := range d.VersionIdsToStages {
			for _, s := range stages {
				pending = pending || s == "AWSPENDING"
			}
		}
		if strings.Join(d.VersionIdsToStages[token], ",") == "AWSCURRENT" && !pending {
			return d
		}
	}
	t.Fatalf("rotation to %s did not finish: %+v", token, last)
	return nil
}

// pythonPath is the interpreter with boto3 (pyenv's, resolved past shims).
func pythonPath(t *testing.T) string {
	t.Helper()
	return testsvc.Python(t, "boto3")
}

func templateFunction(t *testing.T, name string, env map[string]string) FunctionConfig {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "test", "python", "rotation_template"))
	return FunctionConfig{Name: name, Kind: "python", Handler: "lambda_function.lambda_handler", Dir: dir,
		Python: pythonPath(t), Env: env}
}

// TestRotationWithAWSStyleTemplate rotates a secret end to end with a
// Python function written as AWS writes them (boto3, the template skeleton),
// run unchanged as an exec function.
func TestRotationWithAWSStyleTemplate(t *testing.T) {
	fn := templateFunction(t, "template", nil)
	s := MustRunMain(t, "", func(c *Config) { c.Functions = []FunctionConfig{fn} })
	ctx := context.Background()
	c := s.Client("")
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("tmpl"),
		SecretString: aws.String(`{"username":"app","password":"initial-password"}`)}); err != nil {
		t.Fatal(err)
	}
	var previous string
	for i := 1; i <= 2; i++ {
		out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("tmpl"), RotationLambdaARN: aws.String(lambdaARN("template")),
			RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)}})
		if err != nil {
			t.Fatal(err)
		}
		d := waitRotated(t, c, "tmpl", aws.ToString(out.VersionId))
		if !aws.ToBool(d.RotationEnabled) || d.LastRotatedDate == nil || d.NextRotationDate == nil {
			t.Fatalf("DescribeSecret after rotation = %+v", d)
		}
		v, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("tmpl")})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Password  string `json:"password"`
			Rotations int    `json:"rotations"`
		}
		json.Unmarshal([]byte(aws.ToString(v.SecretString)), &doc)
		if doc.Rotations != i || doc.Password == "initial-password" || doc.Password == previous || len(doc.Password) != 32 {
			t.Fatalf("rotation %d: value %s", i, aws.ToString(v.SecretString))
		}
		previous = doc.Password
	}
}

func TestRotationFailureRetriedFailedAndScrubbed(t *testing.T) {
	fn := templateFunction(t, "failing", map[string]string{"FAIL_STEP": "setSecret"})
	s := MustRunMain(t, "", func(c *Config) {
		c.Functions = []FunctionConfig{fn}
		c.Rotation.MaxAttempts = 2
	})
	ctx := context.Background()
	c := s.Client("")
	c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bad"), SecretString: aws.String(`{"password":"initial-password"}`)})
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("bad"), RotationLambdaARN: aws.String(lambdaARN("failing"))})
	if err != nil {
		t.Fatal(err)
	}
	var hist string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if hist, err = cli(t, s, "rotation", "history", "bad"); err == nil && strings.Contains(hist, `"Status": "failed"`) {
			break
		}
	}
	if !strings.Contains(hist, `"Status": "failed"`) || !strings.Contains(hist, "target refused the new password") {
		t.Fatalf("history = %s (%v)", hist, err)
	}
	pending, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("bad"), VersionStage: aws.String("AWSPENDING")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Password string }
	json.Unmarshal([]byte(aws.ToString(pending.SecretString)), &doc)
	if doc.Password == "" || strings.Contains(hist, doc.Password) {
		t.Fatal("the pending password appears in the rotation history")
	}
	if strings.Count(hist, `"Outcome": "error"`) != 2 {
		t.Fatalf("want setSecret attempted twice: %s", hist)
	}
	if list, err := cli(t, s, "rotation", "list", "-failed"); err != nil || !strings.Contains(list, aws.ToString(out.VersionId)) {
		t.Fatalf("rotation list -failed: %v\n%s", err, list)
	}
	// The next RotateSecret answers as AWS does and re-drives the run.
	_, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("bad")})
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) || !strings.Contains(err.Error(), "A previous rotation isn't complete. That rotation will be reattempted.") {
		t.Fatalf("RotateSecret after a failed run: %v", err)
	}
	// Explicit clean-up removes the stray AWSPENDING.
	if _, err := cli(t, s, "rotation", "abandon", "bad"); err != nil {
		t.Fatal(err)
	}
	d, _ := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("bad")})
	for v, stages := range d.VersionIdsToStages {
		if strings.Contains(strings.Join(stages, ","), "AWSPENDING") {
			t.Fatalf("AWSPENDING still on %s after abandon (run version %s)", v, aws.ToString(out.VersionId))
		}
	}
}

func TestRotationFunctionInOtherRegionIsAccessDenied(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) {
		c.Regions = []string{"us-east-1", "eu-west-1"}
		c.Functions = []FunctionConfig{{Name: "west-only", Kind: "exec", Command: []string{"/bin/true"}, Regions: []string{"eu-west-1"}}}
	})
	ctx := context.Background()
	c := s.Client("us-east-1")
	c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("r"), SecretString: aws.String("v")})
	for _, arn := range []string{
		"arn:aws:lambda:us-east-1:" + testAccount + ":function:west-only",
		"arn:aws:lambda:eu-west-1:" + testAccount + ":function:west-only",
		"arn:aws:lambda:us-east-1:" + testAccount + ":function:nope",
	} {
		_, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("r"), RotationLambdaARN: aws.String(arn)})
		if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("RotateSecret with %s: %v", arn, err)
		}
	}
	d, _ := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("r")})
	if d.RotationEnabled != nil || d.RotationLambdaARN != nil || len(d.VersionIdsToStages) != 1 {
		t.Fatalf("a refused RotateSecret saved something: %+v", d)
	}
}

// TestExecCredentialsAreScopedAndDie captures the credentials an exec
// function receives, proves they cannot read another secret, and that they
// stop working once the run is over.
func TestExecCredentialsAreScopedAndDie(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.json")
	script := filepath.Join(dir, "fn.py")
	os.WriteFile(script, []byte(`import json, os, sys
import boto3
event = json.load(sys.stdin)
sm = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
own = sm.describe_secret(SecretId=event["SecretId"])["ARN"]
try:
    sm.get_secret_value(SecretId="other")
    other = "allowed"
except sm.exceptions.ClientError as e:
    other = e.response["Error"]["Code"]
with open(os.environ["CAPTURE"], "w") as f:
    json.dump({"id": os.environ["AWS_ACCESS_KEY_ID"], "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
               "token": os.environ["AWS_SESSION_TOKEN"], "other": other, "own": own}, f)
sys.exit(1)  # fail the step: the run ends after one attempt
`), 0o600)
	s := MustRunMain(t, "", func(c *Config) {
		c.Rotation.MaxAttempts = 1
		c.Functions = []FunctionConfig{{Name: "spy", Kind: "exec", Command: []string{pythonPath(t), script}, Env: map[string]string{"CAPTURE": capture},
			WritePaths: []string{dir}}} // the sandbox lets it read and write only there
	})
	ctx := context.Background()
	c := s.Client("")
	c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("mine"), SecretString: aws.String("v")})
	c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("other"), SecretString: aws.String("not yours")})
	if _, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("mine"), RotationLambdaARN: aws.String(lambdaARN("spy"))}); err != nil {
		t.Fatal(err)
	}
	var got struct{ ID, Secret, Token, Other, Own string }
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if data, err := os.ReadFile(capture); err == nil && json.Unmarshal(data, &got) == nil && got.ID != "" {
			break
		}
	}
	if got.ID == "" || !strings.HasPrefix(got.ID, "ASIA") || got.Own == "" {
		t.Fatalf("capture = %+v", got)
	}
	if got.Other != "AccessDeniedException" {
		t.Fatalf("reading another secret with the function's credentials: %s, want AccessDeniedException", got.Other)
	}
	// Wait for the run to end, then the credentials must be dead.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if h, err := cli(t, s, "rotation", "history", "mine"); err == nil && strings.Contains(h, `"Status": "failed"`) {
			break
		}
	}
	stolen := s.ClientWith("", got.ID, got.Secret, got.Token)
	_, err := stolen.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("mine")})
	if err == nil || !(strings.Contains(err.Error(), "UnrecognizedClientException") || strings.Contains(err.Error(), "ExpiredToken")) {
		t.Fatalf("function credentials after the run: %v", err)
	}
}

// TestHTTPFunction rotates through a Lambda-Invoke-shaped HTTP endpoint
// that verifies Rotor's HMAC signature and calls back with the
// credentials it was given.
func TestHTTPFunction(t *testing.T) {
	key := "hmac-key-for-test"
	var mu sync.Mutex
	var steps []string
	var serverURL string
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := lambda.VerifySignature([]byte(key), r.Header.Get(lambda.HeaderTimestamp), r.Header.Get(lambda.HeaderSignature), body, time.Now()); err != nil {
			w.WriteHeader(401)
			return
		}
		var ev lambda.Event
		json.Unmarshal(body, &ev)
		mu.Lock()
		steps = append(steps, ev.Step)
		mu.Unlock()
		sm := secretsmanager.New(secretsmanager.Options{Region: r.Header.Get(lambda.HeaderRegion), BaseEndpoint: aws.String(serverURL),
			Credentials: credentials.NewStaticCredentialsProvider(r.Header.Get(lambda.HeaderAccessKeyID), r.Header.Get(lambda.HeaderSecretAccessKey), r.Header.Get(lambda.HeaderSessionToken))})
		ctx := r.Context()
		var err error
		switch ev.Step {
		case "createSecret":
			_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(ev.SecretID), ClientRequestToken: aws.String(ev.ClientRequestToken),
				SecretString: aws.String("from-http-function"), VersionStages: []string{"AWSPENDING"}})
		case "finishSecret":
			var d *secretsmanager.DescribeSecretOutput
			if d, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ev.SecretID)}); err == nil {
				cur := ""
				for v, st := range d.VersionIdsToStages {
					if strings.Contains(strings.Join(st, ","), "AWSCURRENT") {
						cur = v
					}
				}
				_, err = sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(ev.SecretID),
					VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(ev.ClientRequestToken), RemoveFromVersionId: aws.String(cur)})
			}
		}
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			json.NewEncoder(w).Encode(map[string]string{"errorType": "Error", "errorMessage": err.Error()})
			return
		}
		w.Write([]byte("null"))
	}))
	defer fn.Close()
	s := mustRunMainEnv(t, "", func(c *Config) {
		c.Functions = []FunctionConfig{{Name: "web", Kind: "http", URL: fn.URL, HMACSecretEnv: "TEST_HMAC_KEY"}}
	}, map[string]string{"TEST_HMAC_KEY": key})
	serverURL = s.URL()
	ctx := context.Background()
	c := s.Client("")
	c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("web"), SecretString: aws.String("before")})
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("web"), RotationLambdaARN: aws.String(lambdaARN("web"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, c, "web", aws.ToString(out.VersionId))
	v, _ := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("web")})
	mu.Lock()
	defer mu.Unlock()
	if aws.ToString(v.SecretString) != "from-http-function" || strings.Join(steps, ",") != "createSecret,setSecret,testSecret,finishSecret" {
		t.Fatalf("value %q, steps %v", aws.ToString(v.SecretString), steps)
	}
}

// TestCrashDuringRotationResumes kills the server (SIGKILL) at each point
// between and after the steps, and between a step's function returning and
// the step being recorded ("invoked:"), restarts it, and checks every run
// finishes with AWSCURRENT on the new version and no stray AWSPENDING.
func TestCrashDuringRotationResumes(t *testing.T) {
	points := []string{"before:createSecret", "invoked:createSecret", "after:createSecret", "before:setSecret", "after:setSecret",
		"after:testSecret", "before:finishSecret", "invoked:finishSecret", "after:finishSecret"}
	for _, point := range points {
		t.Run(strings.ReplaceAll(point, ":", "_"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			p := startProcess(t, dir, "ROTOR_TEST_FAILPOINT="+point)
			c := p.client(t, dir)
			ctx := context.Background()
			if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("crash"), SecretString: aws.String(`{"password":"p0"}`)}); err != nil {
				t.Fatal(err)
			}
			out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("crash"), RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(`ROTOR_TEST_FAILPOINT ` + regexp.QuoteMeta(point) + ` reached`)
			reached := false
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !reached; time.Sleep(20 * time.Millisecond) {
				logs, _ := os.ReadFile(p.stderr)
				reached = re.Match(logs)
			}
			if !reached {
				logs, _ := os.ReadFile(p.stderr)
				t.Fatalf("failpoint %s never reached:\n%s", point, logs)
			}
			p.cmd.Process.Signal(syscall.SIGKILL)
			p.cmd.Wait()

			p2 := startProcess(t, dir)
			d := waitRotated(t, p2.client(t, dir), "crash", aws.ToString(out.VersionId))
			if d.LastRotatedDate == nil {
				t.Fatal("LastRotatedDate not set after the resumed run")
			}
		})
	}
}

// TestCrashedConfigurationTestEndsClean: a configuration test
// (RotateImmediately=false) whose server is killed before testSecret is
// resumed after the restart, fails, and still removes its temporary
// AWSPENDING version, so the next RotateSecret starts a real rotation.
func TestCrashedConfigurationTestEndsClean(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfgFile := filepath.Join(t.TempDir(), "rotor.toml")
	if err := os.WriteFile(cfgFile, []byte("[rotation]\nmax_attempts = 1\n\n[[functions]]\nname = \"refuses\"\nkind = \"exec\"\ncommand = [\"/bin/sh\", \"-c\", \"echo login refused >&2; exit 1\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const point = "before:testSecret"
	p := startProcess(t, dir, "ROTOR_CONFIG="+cfgFile, "ROTOR_TEST_FAILPOINT="+point)
	c := p.client(t, dir)
	ctx := context.Background()
	created, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("cfg"), SecretString: aws.String(`{"password":"p0"}`)})
	if err != nil {
		t.Fatal(err)
	}
	test, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("cfg"),
		RotationLambdaARN: aws.String(lambdaARN("refuses")), RotateImmediately: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`ROTOR_TEST_FAILPOINT ` + regexp.QuoteMeta(point) + ` reached`)
	reached := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !reached; time.Sleep(20 * time.Millisecond) {
		logs, _ := os.ReadFile(p.stderr)
		reached = re.Match(logs)
	}
	if !reached {
		logs, _ := os.ReadFile(p.stderr)
		t.Fatalf("failpoint %s never reached:\n%s", point, logs)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()

	p2 := startProcess(t, dir, "ROTOR_CONFIG="+cfgFile)
	c = p2.client(t, dir)
	var d *secretsmanager.DescribeSecretOutput
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if d, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("cfg")}); err != nil {
			t.Fatal(err)
		}
		if len(d.VersionIdsToStages) == 1 {
			break
		}
	}
	if got := d.VersionIdsToStages; len(got) != 1 || strings.Join(got[aws.ToString(created.VersionId)], ",") != "AWSCURRENT" {
		t.Fatalf("VersionIdsToStages = %v, want only the original version, AWSCURRENT", got)
	}
	vs, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("cfg"), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Versions {
		if aws.ToString(v.VersionId) == aws.ToString(test.VersionId) {
			t.Fatalf("the temporary version %s is still stored", aws.ToString(test.VersionId))
		}
	}
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("cfg"),
		RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	if err != nil {
		t.Fatalf("RotateSecret after the failed configuration test: %v", err)
	}
	waitRotated(t, c, "cfg", aws.ToString(out.VersionId))
}
