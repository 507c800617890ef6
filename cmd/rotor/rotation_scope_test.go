package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// hostileFunction is an exec rotation function (boto3) that, at every step
// and on every attempt, tries everything its temporary credentials must not
// allow and records each outcome as one JSON line in $LOG. In createSecret
// it writes its AWSPENDING value naming the victim as "masterarn" — the
// attempt to widen the next attempt's scope — and in finishSecret it fails
// without moving AWSCURRENT, so the run is retried and, after the last
// attempt, fails.
const hostileFunction = `import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

event = json.load(sys.stdin)
step, own, token = event["Step"], event["SecretId"], event["ClientRequestToken"]
master, victim = os.environ["MASTER"], os.environ["VICTIM"]
sm = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"],
                  config=Config(retries={"max_attempts": 1}))
log = open(os.environ["LOG"], "a")

def attempt(action, target, call, forbidden=True):
    try:
        call()
        code = "OK"
    except ClientError as e:
        code = e.response["Error"]["Code"]
    log.write(json.dumps({"step": step, "token": token, "action": action, "target": target,
                          "code": code, "forbidden": forbidden}) + "\n")
    log.flush()

master_current = [v for v, s in sm.describe_secret(SecretId=master)["VersionIdsToStages"].items() if "AWSCURRENT" in s][0]
fn = "arn:aws:lambda:us-east-1:000000000000:function:rotor-generate-password"

# On the master: only GetSecretValue and DescribeSecret.
attempt("GetSecretValue", "master", lambda: sm.get_secret_value(SecretId=master), forbidden=False)
attempt("DescribeSecret", "master", lambda: sm.describe_secret(SecretId=master), forbidden=False)
attempt("PutSecretValue", "master", lambda: sm.put_secret_value(SecretId=master, SecretString="pwned"))
attempt("UpdateSecretVersionStage", "master", lambda: sm.update_secret_version_stage(
    SecretId=master, VersionStage="HIJACKED", MoveToVersionId=master_current))
attempt("DeleteSecret", "master", lambda: sm.delete_secret(SecretId=master, ForceDeleteWithoutRecovery=True))
attempt("RotateSecret", "master", lambda: sm.rotate_secret(SecretId=master, RotationLambdaARN=fn))
attempt("TagResource", "master", lambda: sm.tag_resource(SecretId=master, Tags=[{"Key": "pwned", "Value": "1"}]))
attempt("UntagResource", "master", lambda: sm.untag_resource(SecretId=master, TagKeys=["keep"]))
attempt("UpdateSecret", "master", lambda: sm.update_secret(SecretId=master, Description="pwned"))
attempt("ListSecretVersionIds", "master", lambda: sm.list_secret_version_ids(SecretId=master))
# Any other secret: nothing.
attempt("GetSecretValue", "victim", lambda: sm.get_secret_value(SecretId=victim))
attempt("DescribeSecret", "victim", lambda: sm.describe_secret(SecretId=victim))
attempt("PutSecretValue", "victim", lambda: sm.put_secret_value(SecretId=victim, SecretString="pwned"))
attempt("BatchGetSecretValue", "victim", lambda: sm.batch_get_secret_value(SecretIdList=[victim]))
attempt("ListSecrets", "", lambda: sm.list_secrets())
# The secret being rotated: only the four steps' actions.
attempt("TagResource", "own", lambda: sm.tag_resource(SecretId=own, Tags=[{"Key": "pwned", "Value": "1"}]))
attempt("UpdateSecret", "own", lambda: sm.update_secret(SecretId=own, Description="pwned"))
attempt("RotateSecret", "own", lambda: sm.rotate_secret(SecretId=own, RotationLambdaARN=fn))
attempt("CancelRotateSecret", "own", lambda: sm.cancel_rotate_secret(SecretId=own))
attempt("DeleteSecret", "own", lambda: sm.delete_secret(SecretId=own, ForceDeleteWithoutRecovery=True))
attempt("GetRandomPassword", "", lambda: sm.get_random_password(), forbidden=False)

if step == "createSecret":
    try:
        sm.get_secret_value(SecretId=own, VersionId=token, VersionStage="AWSPENDING")
    except ClientError:
        cur = json.loads(sm.get_secret_value(SecretId=own, VersionStage="AWSCURRENT")["SecretString"])
        cur["masterarn"] = victim
        cur["password"] = "next-password"
        attempt("PutSecretValue", "own-pending", lambda: sm.put_secret_value(
            SecretId=own, ClientRequestToken=token, SecretString=json.dumps(cur), VersionStages=["AWSPENDING"]),
            forbidden=False)
if step == "finishSecret":
    sys.exit("finishSecret: failing on purpose so the run is retried")
`

// hostileRecord is one line the hostile function logs.
type hostileRecord struct {
	Step, Token, Action, Target, Code string
	Forbidden                         bool
}

// secretState is everything a client can see of a secret: its description
// and version list (e2eTakeSnapshot) and the bytes of every version.
type secretState struct {
	Snapshot e2eSnapshot
	Values   map[string]string
}

func takeSecretState(t *testing.T, c *secretsmanager.Client, id string) secretState {
	t.Helper()
	st := secretState{Snapshot: e2eTakeSnapshot(t, c, id), Values: map[string]string{}}
	for v := range st.Snapshot.Versions {
		out, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: aws.String(v)})
		if err != nil {
			t.Fatalf("GetSecretValue(%s, %s): %v", id, v, err)
		}
		st.Values[v] = aws.ToString(out.SecretString)
	}
	return st
}

// waitRunEnded waits until the newest run of secret id has ended and
// returns its status and last error.
func waitRunEnded(t *testing.T, s *testServer, id string) (status, lastErr string) {
	t.Helper()
	var hist string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var h struct {
			Runs []struct {
				Run struct{ Status, LastError string }
			}
		}
		out, err := cli(t, s, "rotation", "history", id)
		if err == nil && json.Unmarshal([]byte(out), &h) == nil && len(h.Runs) > 0 {
			if st := h.Runs[0].Run.Status; st != "pending" && st != "running" {
				return st, h.Runs[0].Run.LastError
			}
		}
		hist = out
	}
	t.Fatalf("the rotation of %s did not end: %s", id, hist)
	return "", ""
}

// TestRotationCredentialsCannotWidenScope runs a hostile exec function
// through two rotations of two attempts each. At every step it tries to
// write, relabel, delete, rotate and tag the master secret, to reach an
// unrelated secret, and to widen its scope by naming that secret as
// "masterarn" in its AWSPENDING value. Every such attempt must be
// AccessDeniedException, and the master and the victim must be unchanged,
// byte for byte, afterwards.
func TestRotationCredentialsCannotWidenScope(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hostile.py")
	logFile := filepath.Join(dir, "attempts.jsonl")
	if err := os.WriteFile(script, []byte(hostileFunction), 0o600); err != nil {
		t.Fatal(err)
	}
	python := pythonPath(t)
	ctx := context.Background()
	s := MustRunMain(t, "", func(c *Config) {
		c.Rotation.MaxAttempts = 2
		c.Functions = []FunctionConfig{{Name: "hostile", Kind: "exec", Command: []string{python, script},
			Env:        map[string]string{"LOG": logFile, "MASTER": "scope/master", "VICTIM": "scope/victim"},
			WritePaths: []string{dir}}} // the sandbox lets it read its script and write its log there only
	})
	c := s.Client("")
	e2eCreate(t, c, "scope/master", `{"username":"admin","password":"master-pw"}`)
	e2eCreate(t, c, "scope/victim", `{"username":"victim","password":"victim-pw"}`)
	for _, id := range []string{"scope/master", "scope/victim"} {
		if _, err := c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(id),
			Tags: []types.Tag{{Key: aws.String("keep"), Value: aws.String("1")}}}); err != nil {
			t.Fatal(err)
		}
	}
	own := e2eCreate(t, c, "scope/app", `{"username":"app","password":"app-pw","masterarn":"scope/master"}`)

	masterBefore := takeSecretState(t, c, "scope/master")
	victimBefore := takeSecretState(t, c, "scope/victim")
	ownBefore := e2eDescribe(t, c, "scope/app")

	var tokens []string
	for rotation := 1; rotation <= 2; rotation++ {
		if rotation > 1 {
			// Clear the failed rotation's AWSPENDING so the next one starts afresh.
			if _, err := cli(t, s, "rotation", "abandon", "scope/app"); err != nil {
				t.Fatal(err)
			}
		}
		out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("scope/app"),
			RotationLambdaARN: aws.String(lambdaARN("hostile"))})
		if err != nil {
			t.Fatalf("rotation %d: %v", rotation, err)
		}
		tokens = append(tokens, aws.ToString(out.VersionId))
		if status, lastErr := waitRunEnded(t, s, "scope/app"); status != "failed" || !strings.Contains(lastErr, "failing on purpose") {
			t.Errorf("rotation %d ended %s (%q), want failed by the function's own failure", rotation, status, lastErr)
		}
		// The pending value the function wrote names the victim; it stays
		// pending (AWSCURRENT was never moved).
		p, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("scope/app"), VersionId: out.VersionId})
		if err != nil {
			t.Errorf("rotation %d: read the hostile pending value: %v", rotation, err)
		} else if !strings.Contains(aws.ToString(p.SecretString), `"masterarn": "scope/victim"`) {
			t.Errorf("rotation %d: the hostile pending value = %s; want it to name the victim", rotation, aws.ToString(p.SecretString))
		}
	}

	records := readHostileLog(t, logFile)
	// Two rotations × two attempts × four steps, each logging every try.
	invocations := map[string]int{}
	for _, r := range records {
		if r.Action == "ListSecrets" {
			invocations[r.Token+"/"+r.Step]++
		}
	}
	for _, token := range tokens {
		for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
			if n := invocations[token+"/"+step]; n != 2 {
				t.Errorf("version %s, %s: the function ran %d times, want 2 (one per attempt)", token, step, n)
			}
		}
	}
	wrotePending := 0
	for _, r := range records {
		switch {
		case r.Forbidden && r.Code != "AccessDeniedException":
			t.Errorf("%s: %s on %s answered %s, want AccessDeniedException", r.Step, r.Action, r.Target, r.Code)
		case !r.Forbidden && r.Code != "OK":
			t.Errorf("%s: %s on %s answered %s, want it allowed", r.Step, r.Action, r.Target, r.Code)
		}
		if r.Target == "own-pending" {
			wrotePending++
		}
	}
	if wrotePending != 2 {
		t.Errorf("the function wrote its widening AWSPENDING value %d times, want once per rotation", wrotePending)
	}

	if got := takeSecretState(t, c, "scope/master"); !reflect.DeepEqual(got, masterBefore) {
		t.Errorf("master changed:\n\t%+v\nwant\n\t%+v", got, masterBefore)
	}
	if got := takeSecretState(t, c, "scope/victim"); !reflect.DeepEqual(got, victimBefore) {
		t.Errorf("victim changed:\n\t%+v\nwant\n\t%+v", got, victimBefore)
	}
	ownAfter := e2eDescribe(t, c, "scope/app")
	if ownAfter.DeletedDate != nil || len(ownAfter.Tags) != len(ownBefore.Tags) ||
		aws.ToString(ownAfter.Description) != aws.ToString(ownBefore.Description) || !aws.ToBool(ownAfter.RotationEnabled) {
		t.Errorf("the rotated secret was changed beyond its rotation: %+v", ownAfter)
	}
	if aws.ToString(own.ARN) != aws.ToString(ownAfter.ARN) {
		t.Errorf("the rotated secret is %s, want %s", aws.ToString(ownAfter.ARN), aws.ToString(own.ARN))
	}
}

func readHostileLog(t *testing.T, path string) []hostileRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the hostile function logged nothing: %v", err)
	}
	defer f.Close()
	var out []hostileRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r hostileRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
